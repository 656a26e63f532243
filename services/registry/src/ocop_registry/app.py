"""Composition root of the registry service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from ocop_contracts.events import ProducerRegistered, ProducerUpdated
from ocop_registry import api, usecases
from ocop_registry.settings import RegistrySettings
from ocop_runtime.app import ServiceSpec, create_service_app
from ocop_runtime.consumer import EventRoutes

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec() -> ServiceSpec:
    return ServiceSpec(
        name="registry",
        title="ocop registry",
        description="Producers (chủ thể OCOP), products and applications of Hanoi's OCOP programme.",
        migrations=MIGRATIONS,
        routes=EventRoutes(),
        publishes=(ProducerRegistered, ProducerUpdated),
        routers=(api.router, api.units_router),
        on_migrated=(usecases.load_admin_units,),
    )


def create_app(settings: RegistrySettings) -> FastAPI:
    return create_service_app(settings, service_spec())
