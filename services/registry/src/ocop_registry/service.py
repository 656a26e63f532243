"""The registry in the service catalogue (entry point ``ocop.services``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocop_contracts import topics
from ocop_runtime.services import ServiceEntry

if TYPE_CHECKING:
    import typer


def _cli(app: typer.Typer) -> None:
    # Imported when the ``ocop`` command is built, not when the catalogue is read.
    from ocop_registry.cli import register

    register(app)


SPEC = ServiceEntry(
    name="registry",
    http_port=8001,
    schema="registry",
    publishes=(topics.REGISTRY_PRODUCERS, topics.REGISTRY_PRODUCTS, topics.REGISTRY_APPLICATIONS),
    consumes=(
        topics.EVALUATION_RESULTS,
        topics.EVALUATION_CERTIFICATES,
        topics.commands("registry"),
    ),
    roles=("city_office", "commune_officer", "producer", "agency"),
    cli=_cli,
)
