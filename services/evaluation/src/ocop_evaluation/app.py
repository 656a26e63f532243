"""Composition root of the evaluation service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from ocop_evaluation import api
from ocop_evaluation.handlers import build_routes
from ocop_evaluation.settings import EvaluationSettings
from ocop_runtime.app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec() -> ServiceSpec:
    return ServiceSpec(
        name="evaluation",
        title="ocop evaluation",
        description="Councils, score sheets, star classes and certificates of Hanoi's OCOP programme.",
        migrations=MIGRATIONS,
        routes=build_routes(),
        publishes=(),
        routers=(api.router,),
    )


def create_app(settings: EvaluationSettings) -> FastAPI:
    return create_service_app(settings, service_spec())
