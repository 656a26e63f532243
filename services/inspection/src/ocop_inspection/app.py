"""Composition root of the inspection service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from ocop_inspection.handlers import build_routes
from ocop_inspection.settings import InspectionSettings
from ocop_runtime.app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec() -> ServiceSpec:
    return ServiceSpec(
        name="inspection",
        title="ocop inspection",
        description="Inspection of certified OCOP producers: campaigns, visits, findings, remediation and revocation recommendations.",
        migrations=MIGRATIONS,
        routes=build_routes(),
    )


def create_app(settings: InspectionSettings) -> FastAPI:
    return create_service_app(settings, service_spec())
