"""Composition root of the registry service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ocop_contracts.commands import RegistryCommandAccepted, RegistryCommandRejected
from ocop_contracts.events import registry as published
from ocop_registry import api, imports, usecases
from ocop_registry.handlers import build_routes
from ocop_registry.settings import RegistrySettings
from ocop_runtime.app import ServiceSpec, create_service_app, token_verifier_for
from ocop_runtime.auth import TokenVerifier

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec(registry: usecases.Registry, verifier: TokenVerifier | None = None) -> ServiceSpec:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    return ServiceSpec(
        name="registry",
        title="ocop registry",
        description="Producers (chủ thể OCOP), products and applications of Hanoi's OCOP programme.",
        migrations=MIGRATIONS,
        routes=build_routes(registry, verifier),
        publishes=(
            published.ProducerRegistered,
            published.ProducerUpdated,
            published.ProducerDeregistered,
            published.ProductRegistered,
            published.ProductUpdated,
            published.ProductDeregistered,
            published.ApplicationSubmitted,
            published.ApplicationWithdrawn,
            RegistryCommandAccepted,
            RegistryCommandRejected,
        ),
        # The public lookup first: every scan of a label, matched before the other routes are
        # tried (docs/PERFORMANCE.md, "HTTP stack").
        routers=(
            api.public_router,
            api.producers_router,
            api.products_router,
            api.applications_router,
            api.reference_router,
            imports.router,
        ),
        on_migrated=(usecases.load_admin_units,),
        upload_paths=(imports.IMPORT_PATH,),
    )


def create_app(settings: RegistrySettings, **options: Any) -> FastAPI:
    """``options`` go to :func:`create_service_app` (tests pass a relay factory)."""
    registry = usecases.Registry(public_base_url=settings.public_base_url)
    verifier = token_verifier_for(settings)
    app = create_service_app(
        settings, service_spec(registry, verifier), token_verifier=verifier, **options
    )
    app.state.registry = registry
    return app
