"""The registry's ``ocop`` commands: ``import FILE`` (a district's CSV list) and ``seed`` (the
demonstration data set), both through the registry's import endpoint over HTTP.

Added to the ``ocop`` command by the registry's catalogue entry (:mod:`ocop_registry.service`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer

from ocop_registry.service import SPEC
from ocop_runtime.cli import CliError, TokenOption, cli_token, fail
from ocop_runtime.cli.imports import add_import_kind

IMPORT_CHUNK_ROWS = 200


@dataclass
class ImportTotals:
    rows: int = 0
    created_producers: int = 0
    created_products: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # File line of each created or unchanged product -> its public code.
    codes: dict[int, str] = field(default_factory=dict, repr=False)


def csv_chunks(text: str, size: int) -> list[tuple[int, str]]:
    """Split a CSV into chunks of ``size`` data lines, each with the header; returns the
    number of the chunk's first line in the file (for error messages) and its text."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines:
        return []
    header, body = lines[0], lines[1:]
    return [
        (start + 2, "\n".join([header, *body[start : start + size]]) + "\n")
        for start in range(0, len(body), size)
    ]


def import_csv(
    text: str,
    registry_url: str,
    *,
    dry_run: bool,
    token: str | None = None,
    on_chunk: Callable[[int], object] | None = None,
) -> ImportTotals:
    """Send a CSV to the registry's import endpoint chunk by chunk. Rows with quoted line
    breaks are not split across chunks only if they have none; the districts' lists do not."""
    totals = ImportTotals()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=registry_url, timeout=120, headers=headers) as client:
        for first_line, chunk in csv_chunks(text, IMPORT_CHUNK_ROWS):
            response = client.post(
                "/imports/products",
                content=chunk.encode(),
                params={"dry_run": str(dry_run).lower()},
                headers={"content-type": "text/csv"},
            )
            if response.status_code != 200:
                raise CliError(
                    f"registry refused the import: {response.status_code} {response.text}"
                )
            report = response.json()
            for key in ("rows", "created_producers", "created_products", "unchanged", "rejected"):
                setattr(totals, key, getattr(totals, key) + report[key])
            for error in report["errors"]:
                totals.errors.append({**error, "row": error["row"] - 2 + first_line})
            for result in report["results"]:
                if result.get("public_code"):
                    totals.codes[result["row"] - 2 + first_line] = result["public_code"]
            if on_chunk:
                on_chunk(report["rows"])
    return totals


def _as_dict(totals: ImportTotals) -> dict[str, Any]:
    out = asdict(totals)
    del out["codes"]
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}", 2) from exc


def _send(
    text: str, name: str, registry_url: str, dry_run: bool, as_json: bool, token: str | None
) -> ImportTotals:
    from rich.progress import Progress

    rows = max(len(text.splitlines()) - 1, 0)
    try:
        with Progress(disable=as_json) as progress:
            task = progress.add_task(f"importing {name}", total=rows)
            return import_csv(
                text,
                registry_url,
                dry_run=dry_run,
                token=token,
                on_chunk=lambda n: progress.advance(task, n),
            )
    except (httpx.HTTPError, CliError) as exc:
        raise fail(f"import failed: {exc}") from exc


def _summary(totals: ImportTotals, dry_run: bool) -> None:
    typer.echo(
        f"{totals.rows} rows: {totals.created_products} products and "
        f"{totals.created_producers} producers created, {totals.unchanged} unchanged, "
        f"{totals.rejected} rejected{' (dry run)' if dry_run else ''}"
    )
    for error in totals.errors[:20]:
        typer.echo(f"  line {error['row']}: {error['field']}: {error['reason']}")
    if len(totals.errors) > 20:
        typer.echo(f"  ... and {len(totals.errors) - 20} more (--json prints all)")


def _import(path: Path, registry_url: str, dry_run: bool, as_json: bool, token: str | None) -> None:
    totals = _send(_read(path), path.name, registry_url, dry_run, as_json, cli_token(token))
    if as_json:
        typer.echo(json.dumps(_as_dict(totals), indent=2, ensure_ascii=False))
    else:
        _summary(totals, dry_run)
    raise typer.Exit(1 if totals.rejected else 0)


RegistryOption = typer.Option(
    f"http://127.0.0.1:{SPEC.http_port}", "--registry", help="Registry base URL."
)


def import_command(
    path: Path = typer.Argument(..., help="CSV, one row a product (see the registry's README)."),
    registry: str = RegistryOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Import producers and products from a district's CSV list (idempotent)."""
    _import(path, registry, dry_run, as_json, token)


def seed(
    registry: str = RegistryOption,
    evaluation: str | None = typer.Option(
        None, "--evaluation", help="Evaluation base URL (default: its catalogue port)."
    ),
    seed_value: int = typer.Option(2021, "--seed", help="The same seed gives the same data."),
    products: int = typer.Option(600, "--products", min=1, max=20_000),
    path: Path | None = typer.Option(
        None, "--file", help="Your own product list instead of the scenario (no certificates)."
    ),
    certificates: bool = typer.Option(
        True, "--certificates/--no-certificates", help="Load the scenario's certificates too."
    ),
    wait: float = typer.Option(
        120, "--wait", help="Seconds to wait for evaluation to hold the products."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    token: str | None = TokenOption,
) -> None:
    """Load the demonstration scenario: producers and products of Hanoi's districts, and the
    certificates their councils decided since 2019 (evaluation must be running); run it again
    and nothing changes."""
    from rich.progress import Progress

    from ocop_registry import demo, seeding
    from ocop_runtime.cli import service_urls

    if path is not None:
        _import(path, registry, False, as_json, token)
    bearer = cli_token(token)
    scenario = demo.scenario(products, seed=seed_value)
    totals = _send(
        demo.to_csv([p.row for p in scenario]),
        f"seed {seed_value}",
        registry,
        False,
        as_json,
        bearer,
    )
    loaded = seeding.CertificateTotals()
    if certificates and not totals.rejected:
        chunks = seeding.history_csv(scenario, totals.codes)
        url = evaluation or service_urls("http://127.0.0.1")["evaluation"]
        rows = sum(len(c.splitlines()) - 1 for c in chunks)
        try:
            with Progress(disable=as_json) as progress:
                task = progress.add_task("loading certificates", total=rows)
                loaded = seeding.load_certificates(
                    chunks,
                    url,
                    token=bearer,
                    wait_seconds=wait,
                    on_chunk=lambda n: progress.advance(task, n),
                )
        except (httpx.HTTPError, CliError) as exc:
            raise fail(f"loading certificates failed: {exc}") from exc
    if as_json:
        typer.echo(
            json.dumps(
                {**_as_dict(totals), "certificates": asdict(loaded)}, indent=2, ensure_ascii=False
            )
        )
    else:
        _summary(totals, False)
        typer.echo(
            f"{loaded.rows} certificate decisions: {loaded.created} recorded, "
            f"{loaded.unchanged} unchanged, {loaded.rejected} rejected"
        )
        for error in loaded.errors[:20]:
            typer.echo(f"  {error['field']}: {error['reason']}")
    raise typer.Exit(1 if totals.rejected or loaded.rejected else 0)


def register(app: typer.Typer) -> None:
    """Add ``import products`` (also ``import`` alone) and ``seed`` to the root ``ocop``
    command."""
    add_import_kind(app, "products", import_command, default=True)
    app.command("seed")(seed)
