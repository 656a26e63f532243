"""Trade HTTP API, one module per router: ``events`` (promotion events and participations),
``outlets`` (points of sale and listings), ``outcomes`` (the ledger and the reports), ``products`` (trade's copy of a product
and its certificates);
``common`` holds the role dependency and ``use_case``."""

from __future__ import annotations

from ocop_trade.api.events import events_router
from ocop_trade.api.outcomes import outcomes_router
from ocop_trade.api.outlets import outlets_router
from ocop_trade.api.products import products_router

ROUTERS = (events_router, outlets_router, outcomes_router, products_router)

__all__ = [
    "ROUTERS",
    "events_router",
    "outcomes_router",
    "outlets_router",
    "products_router",
]
