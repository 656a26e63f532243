"""Insights in the service catalogue (entry point ``ocop.services``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocop_contracts import topics
from ocop_runtime.services import ServiceEntry

if TYPE_CHECKING:
    import typer


def _cli(app: typer.Typer) -> None:
    # Imported when the ``ocop`` command is built, not when the catalogue is read.
    from ocop_insights.cli import register

    register(app)


SPEC = ServiceEntry(
    name="insights",
    http_port=8005,
    schema="insights",
    publishes=(topics.INSIGHTS_STATISTICS,),
    consumes=topics.SUBSCRIPTIONS["insights"],
    roles=("city_office", "agency"),
    cli=_cli,
)
