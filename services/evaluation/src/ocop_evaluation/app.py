"""Composition root of the evaluation service."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ocop_contracts.commands import EvaluationCommandAccepted, EvaluationCommandRejected
from ocop_contracts.events import evaluation as published
from ocop_evaluation import api
from ocop_evaluation.api.imports import IMPORT_PATH, imports_router
from ocop_evaluation.handlers import build_batches, build_routes
from ocop_evaluation.scheduler import expiry_scheduler
from ocop_evaluation.settings import EvaluationSettings
from ocop_evaluation.usecases import Evaluation
from ocop_runtime.app import ServiceSpec, create_service_app, token_verifier_for
from ocop_runtime.auth import TokenVerifier

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec(
    evaluation: Evaluation | None = None,
    scheduler_seconds: float = 60.0,
    verifier: TokenVerifier | None = None,
) -> ServiceSpec:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    ev = evaluation or Evaluation()
    return ServiceSpec(
        name="evaluation",
        title="ocop evaluation",
        description="Councils, score sheets, star classes and certificates of Hanoi's OCOP programme.",
        migrations=MIGRATIONS,
        routes=build_routes(ev, verifier),
        batches=build_batches(ev),
        publishes=(
            EvaluationCommandAccepted,
            EvaluationCommandRejected,
            published.ApplicationAccepted,
            published.ProductScored,
            published.ProductNominated,
            published.ProductNotRecognised,
            published.ProductCertified,
            published.CertificateReevaluated,
            published.CertificateUpgraded,
            published.CertificateExpiring,
            published.CertificateExpired,
            published.CertificateRevoked,
        ),
        routers=(
            api.router,
            api.rounds_router,
            api.certificates_router,
            api.clock_router,
            imports_router,
        ),
        upload_paths=(IMPORT_PATH,),
        background=(expiry_scheduler(ev, scheduler_seconds),),
    )


def create_app(settings: EvaluationSettings, **options: Any) -> FastAPI:
    """``options`` go to :func:`create_service_app` (tests pass a relay factory)."""
    evaluation = Evaluation(
        clock_may_move=settings.env != "production",
        deviation_margin=Decimal(str(settings.deviation_margin)),
        divergence_share=Decimal(str(settings.divergence_share)),
        rules=settings.rule_choices(),
    )
    verifier = token_verifier_for(settings)
    app = create_service_app(
        settings,
        service_spec(evaluation, settings.scheduler_seconds, verifier),
        token_verifier=verifier,
        **options,
    )
    app.state.evaluation = evaluation
    return app
