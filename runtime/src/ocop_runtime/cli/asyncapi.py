"""``ocop asyncapi``: the system's AsyncAPI 3 document, checked by the official parser, and its
HTML site."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ocop_runtime.cli.common import fail

STATIC_DOCUMENT = Path("docs") / "asyncapi" / "ocop.json"


def render(document: dict[str, object]) -> str:
    """The document as the committed file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def asyncapi_command(
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help=f"Write the document to this file (e.g. {STATIC_DOCUMENT}) instead of printing it.",
    ),
    validate: bool = typer.Option(
        False, "--validate", help="Check it with the official AsyncAPI parser (@asyncapi/parser)."
    ),
    html: Path | None = typer.Option(
        None,
        "--html",
        help="Also render the HTML site (@asyncapi/generator, html-template) into this folder.",
    ),
    partitions: int = typer.Option(
        3, "--partitions", envvar="OCOP_TOPIC_PARTITIONS", min=1, help="Partitions per topic."
    ),
    replicas: int = typer.Option(
        1, "--replicas", envvar="OCOP_TOPIC_REPLICATION_FACTOR", min=1, help="Replicas per topic."
    ),
) -> None:
    """The AsyncAPI 3 document of the whole system, generated from the contracts and the
    service catalogue: every event, command and reply with its payload schema, CloudEvents
    headers, Kafka bindings, servers and security."""
    from ocop_runtime import asyncapi_tools
    from ocop_runtime.asyncapi import Layout, system_document

    document = system_document(Layout(partitions=partitions, replicas=replicas))
    if validate:
        try:
            checked = asyncapi_tools.validate(document)
        except asyncapi_tools.ToolsMissing as exc:
            raise fail(str(exc)) from exc
        for diagnostic in checked.diagnostics:
            if diagnostic.severity in ("error", "warning"):
                typer.echo(str(diagnostic), err=True)
        if checked.errors:
            raise fail(f"the AsyncAPI parser found {len(checked.errors)} error(s)")
        typer.echo("valid AsyncAPI document (@asyncapi/parser)", err=True)
    if html is not None:
        try:
            index = asyncapi_tools.render_html(document, html)
        except asyncapi_tools.ToolsMissing as exc:
            raise fail(str(exc)) from exc
        typer.echo(f"HTML site: {index}", err=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render(document), encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
    elif html is None:
        typer.echo(render(document), nl=False)


def register(app: typer.Typer) -> None:
    app.command("asyncapi")(asyncapi_command)
