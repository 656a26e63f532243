"""Trade in the service catalogue (entry point ``ocop.services``)."""

from __future__ import annotations

from ocop_contracts import topics
from ocop_runtime.services import ServiceEntry

SPEC = ServiceEntry(
    name="trade",
    http_port=8003,
    schema="trade",
    publishes=(topics.TRADE_PROMOTIONS, topics.TRADE_LISTINGS),
    consumes=(
        topics.REGISTRY_PRODUCTS,
        topics.EVALUATION_CERTIFICATES,
        topics.commands("trade"),
    ),
    roles=("city_office", "trade_officer"),
)
