"""The integrity thresholds, the clock's freedom and the modelling choices come from the
service's settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from ocop_evaluation.app import create_app
from ocop_evaluation.domain import CommuneStep, ForwardedShortOfCity, Level, RuleChoices
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


def test_the_modelling_choices_are_settings_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OCOP_UNIT_CONFLICT_LEVELS", '["district", "city"]')
    monkeypatch.setenv("OCOP_FORWARDED_SHORT_OF_CITY", "not_recognised")
    monkeypatch.setenv("OCOP_COMMUNE_STEP", "required")
    rules = create_app(EvaluationSettings()).state.evaluation.rules
    assert rules.unit_conflict_levels == {Level.DISTRICT, Level.CITY}
    assert rules.forwarded_short_of_city is ForwardedShortOfCity.NOT_RECOGNISED
    assert rules.commune_step is CommuneStep.REQUIRED


def test_the_defaults_keep_the_unit_rule_for_city_councils_and_the_district_3_stars() -> None:
    rules = create_app(EvaluationSettings()).state.evaluation.rules
    assert rules == RuleChoices()
    assert rules.unit_conflict_levels == {Level.CITY}
    assert rules.forwarded_short_of_city is ForwardedShortOfCity.DISTRICT_STAR


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValidationError):
        EvaluationSettings(forwarded_short_of_city="keep_whatever")  # type: ignore[arg-type]
