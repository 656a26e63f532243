"""Evaluation in the service catalogue (entry point ``ocop.services``)."""

from __future__ import annotations

from ocop_contracts import topics
from ocop_runtime.services import ServiceEntry

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
)
