"""The insights service's ``ocop`` commands: ``ocop replay insights`` rebuilds the read model
from the topics, from offset zero, with a progress bar.

Added to the ``ocop`` command by the service's catalogue entry (:mod:`ocop_insights.service`).
It reads the service's ``OCOP_*`` settings from the environment (the local stack's by default).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from ocop_insights.replay import ReplayReport, replay
from ocop_insights.settings import InsightsSettings


def replay_insights(
    batch_size: int = typer.Option(
        None, "--batch-size", min=1, max=100_000, help="Records applied per batch."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Drop the statistics' facts and rebuild them from every public topic, from offset zero."""
    overrides: dict[str, Any] = {}
    if batch_size:
        overrides["batch_max_records"] = batch_size
    settings = InsightsSettings(**overrides)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if as_json:
            return
        if bar is None:
            bar = typer.progressbar(length=max(total, 1), label="replaying", show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        report: ReplayReport = asyncio.run(replay(settings, progress=progress))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "records": report.records,
                    "seconds": round(report.seconds, 3),
                    "per_second": round(report.per_second, 1),
                    "outcomes": report.outcomes,
                    "published": report.published,
                }
            )
        )
    else:
        typer.echo(
            f"replayed {report.records} records in {report.seconds:.1f} s"
            f" ({report.per_second:,.0f}/s); outcomes {report.outcomes};"
            f" {report.published} statistics published"
        )


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Rebuild a read model from the topics.", no_args_is_help=True)
    group.command("insights")(replay_insights)
    app.add_typer(group, name="replay")
