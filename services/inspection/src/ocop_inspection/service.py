"""Inspection in the service catalogue (entry point ``ocop.services``)."""

from __future__ import annotations

from ocop_contracts import topics
from ocop_runtime.services import ServiceEntry

SPEC = ServiceEntry(
    name="inspection",
    http_port=8004,
    schema="inspection",
    publishes=(topics.INSPECTION_CAMPAIGNS, topics.INSPECTION_FINDINGS),
    consumes=(
        topics.REGISTRY_PRODUCERS,
        topics.REGISTRY_PRODUCTS,
        topics.EVALUATION_CERTIFICATES,
        topics.commands("inspection"),
    ),
    roles=("city_office", "inspector"),
)
