"""The integrity thresholds and the clock's freedom come from the service's settings."""

from __future__ import annotations

from decimal import Decimal

from ocop_evaluation.app import create_app
from ocop_evaluation.settings import EvaluationSettings

PRODUCTION = {
    "env": "production",
    "database_url": "postgresql://ocop_evaluation:s3cret@db:5432/ocop",
    "kafka_sasl_password": "kafka-s3cret",
    "oidc_issuer": "https://id.hanoi.gov.vn/realms/ocop",
    "oidc_jwks_url": "https://id.hanoi.gov.vn/realms/ocop/protocol/openid-connect/certs",
}


def test_integrity_thresholds_are_settings() -> None:
    app = create_app(EvaluationSettings(deviation_margin=5, divergence_share=0.25))
    assert app.state.evaluation.deviation_margin == Decimal(5)
    assert app.state.evaluation.divergence_share == Decimal("0.25")


def test_the_clock_may_move_only_outside_production() -> None:
    assert create_app(EvaluationSettings()).state.evaluation.clock_may_move is True
    production = create_app(EvaluationSettings(**PRODUCTION))  # type: ignore[arg-type]
    assert production.state.evaluation.clock_may_move is False
