"""Composition root of the trade service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from ocop_runtime.app import ServiceSpec, create_service_app
from ocop_trade.handlers import build_routes
from ocop_trade.settings import TradeSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec() -> ServiceSpec:
    return ServiceSpec(
        name="trade",
        title="ocop trade",
        description="Trade promotion: fairs, livestreams, points of sale and listings of certified OCOP products.",
        migrations=MIGRATIONS,
        routes=build_routes(),
    )


def create_app(settings: TradeSettings) -> FastAPI:
    return create_service_app(settings, service_spec())
