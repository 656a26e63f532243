"""Evaluation in the service catalogue (entry point ``ocop.services``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocop_contracts import topics
from ocop_runtime.services import ServiceEntry

if TYPE_CHECKING:
    import typer


def _cli(app: typer.Typer) -> None:
    # Imported when the ``ocop`` command is built, not when the catalogue is read.
    from ocop_evaluation.cli import register

    register(app)


SPEC = ServiceEntry(
    name="evaluation",
    http_port=8002,
    schema="evaluation",
    publishes=(topics.EVALUATION_RESULTS, topics.EVALUATION_CERTIFICATES),
    consumes=(
        topics.REGISTRY_PRODUCERS,
        topics.REGISTRY_PRODUCTS,
        topics.REGISTRY_APPLICATIONS,
        topics.INSPECTION_FINDINGS,
        topics.commands("evaluation"),
    ),
    roles=("city_office", "council_member"),
    cli=_cli,
)
