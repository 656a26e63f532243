"""Composition root of the inspection service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ocop_contracts.commands import InspectionCommandAccepted, InspectionCommandRejected
from ocop_inspection import api
from ocop_inspection.handlers import build_routes
from ocop_inspection.publishing import PUBLISHED
from ocop_inspection.scheduler import overdue_scheduler
from ocop_inspection.settings import InspectionSettings
from ocop_inspection.usecases import Inspection
from ocop_runtime.app import ServiceSpec, create_service_app, token_verifier_for
from ocop_runtime.auth import TokenVerifier

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec(
    inspection: Inspection | None = None,
    scheduler_seconds: float = 300.0,
    verifier: TokenVerifier | None = None,
) -> ServiceSpec:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    ins = inspection or Inspection()
    return ServiceSpec(
        name="inspection",
        title="ocop inspection",
        description="Inspection of certified OCOP producers: campaigns, visits, findings, remediation and revocation recommendations.",
        migrations=MIGRATIONS,
        routes=build_routes(ins, verifier),
        publishes=(InspectionCommandAccepted, InspectionCommandRejected, *PUBLISHED),
        routers=api.ROUTERS,
        background=(overdue_scheduler(ins, scheduler_seconds),),
    )


def create_app(
    settings: InspectionSettings, *, inspection: Inspection | None = None, **options: Any
) -> FastAPI:
    """``inspection``: use cases with another clock (tests inject one); ``options`` go to
    :func:`create_service_app`."""
    ins = inspection or Inspection(clock_may_move=settings.env != "production")
    verifier = token_verifier_for(settings)
    app = create_service_app(
        settings,
        service_spec(ins, settings.scheduler_seconds, verifier),
        token_verifier=verifier,
        **options,
    )
    app.state.inspection = ins
    return app
