"""Inspection HTTP API, one module per router: ``campaigns`` (plans, closing, the report),
``samples`` (drawing and listing a campaign's sample), ``visits`` (visits and findings),
``followup`` (remediations, notices, replies, recommendations) and ``population`` (the
certified population's copies, complaints, the clock and the overdue sweep); ``common`` holds
the role dependencies, ``use_case`` and paging."""

from __future__ import annotations

from ocop_inspection.api.campaigns import campaigns_router
from ocop_inspection.api.followup import followup_router
from ocop_inspection.api.population import population_router
from ocop_inspection.api.samples import samples_router
from ocop_inspection.api.visits import visits_router

ROUTERS = (campaigns_router, samples_router, visits_router, followup_router, population_router)

__all__ = [
    "ROUTERS",
    "campaigns_router",
    "followup_router",
    "population_router",
    "samples_router",
    "visits_router",
]
