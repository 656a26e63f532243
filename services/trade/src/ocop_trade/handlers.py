"""Trade's routing table. Only certified products may be listed, so trade follows certificates;
the handlers arrive with trade's business logic, until then the events are acknowledged."""

from __future__ import annotations

from ocop_contracts import topics
from ocop_runtime.consumer import EventRoutes


def build_routes() -> EventRoutes:
    routes = EventRoutes()
    routes.listen(topics.EVALUATION_CERTIFICATES)
    return routes
