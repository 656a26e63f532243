"""Inspection's routing table. Samples are drawn from producers, products and certificates; the
handlers arrive with inspection's business logic, until then the events are acknowledged."""

from __future__ import annotations

from ocop_contracts import topics
from ocop_runtime.consumer import EventRoutes


def build_routes() -> EventRoutes:
    routes = EventRoutes()
    routes.listen(
        topics.REGISTRY_PRODUCERS, topics.REGISTRY_PRODUCTS, topics.EVALUATION_CERTIFICATES
    )
    return routes
