"""The commune's pre-assessment under 1489: local-content points, the report in the dossier,
and the request to the city (or the dossier returned with reasons)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ocop_registry.domain.applications import Application, ApplicationStatus
from ocop_registry.domain.classification import Regime
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.commune import (
    LOCAL_CONTENT,
    CommuneAssessed,
    CommuneAssessment,
    assess_at_commune,
)
from ocop_registry.domain.dossier import ApplicationKind, DocumentType, EvidenceFile

NOW = datetime(2025, 9, 3, 10, 0, tzinfo=UTC)
REPORT = EvidenceFile(
    document_type=DocumentType.COMMUNE_REPORT,
    name="Báo cáo xã Bát Tràng.pdf",
    media_type="application/pdf",
    size_bytes=20_480,
    sha256="a" * 64,
    storage_url="https://files.ocop.hanoi.gov.vn/commune/report.pdf",
)
POINTS = {"A1.1": 3.0, "A1.2": 2.0, "A2.1": 1.5, "B2.3": 3.0}


def _submitted(regime: Regime = Regime.R1489) -> Application:
    return Application(
        id=uuid4(),
        product_id=uuid4(),
        producer_id=uuid4(),
        kind=ApplicationKind.FIRST_TIME,
        round_year=2025,
        status=ApplicationStatus.SUBMITTED,
        documents=(),
        version=2,
        created_at=NOW,
        updated_at=NOW,
        self_assessment_score=70,
        regime=regime,
        submitted_at=NOW,
    )


def _assessment(**changes: object) -> CommuneAssessment:
    base = CommuneAssessment(local_points=POINTS, report=REPORT, request_to_city=True)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_communes_request_moves_the_dossier_on_with_its_report_and_event() -> None:
    done, [event] = assess_at_commune(_submitted(), _assessment(), now=NOW)

    assert done.status is ApplicationStatus.COMMUNE_ASSESSED
    assert REPORT in done.documents
    assert isinstance(event, CommuneAssessed) and event.assessment.local_points == POINTS
    assert done.commune_assessment is not None and done.commune_assessment.assessed_at == NOW


def test_a_commune_that_does_not_ask_the_city_returns_the_dossier_with_reasons() -> None:
    done, [event] = assess_at_commune(
        _submitted(),
        _assessment(request_to_city=False, reasons=("Thiếu phiếu tự đánh giá",)),
        now=NOW,
    )
    assert done.status is ApplicationStatus.RETURNED
    assert done.reasons == ("Thiếu phiếu tự đánh giá",)
    assert not event.assessment.request_to_city


def test_returning_without_reasons_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        assess_at_commune(_submitted(), _assessment(request_to_city=False), now=NOW)
    assert caught.value.field == "reasons"


def test_only_a_1489_dossier_is_pre_assessed_by_the_commune() -> None:
    with pytest.raises(RuleViolation) as caught:
        assess_at_commune(_submitted(Regime.R148), _assessment(), now=NOW)
    assert caught.value.field == "regime"


@pytest.mark.parametrize(
    ("points", "field"),
    [
        ({**POINTS, "A1.1": 5.0}, "local_points.A1.1"),
        ({k: v for k, v in POINTS.items() if k != "B2.3"}, "local_points"),
        ({**POINTS, "C1.1": 1.0}, "local_points"),
        ({**POINTS, "A1.2": -1.0}, "local_points.A1.2"),
    ],
)
def test_local_points_are_the_four_local_criteria_within_their_maxima(
    points: dict[str, float], field: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        assess_at_commune(_submitted(), _assessment(local_points=points), now=NOW)
    assert caught.value.field == field
    assert set(LOCAL_CONTENT) == {"A1.1", "A1.2", "A2.1", "B2.3"}


def test_the_report_must_be_a_commune_report() -> None:
    other = replace(REPORT, document_type=DocumentType.OTHER)
    with pytest.raises(RuleViolation) as caught:
        assess_at_commune(_submitted(), _assessment(report=other), now=NOW)
    assert caught.value.field == "report.document_type"


def test_a_dossier_already_accepted_into_a_round_is_not_pre_assessed_again() -> None:
    accepted = replace(_submitted(), status=ApplicationStatus.ACCEPTED)
    with pytest.raises(RuleViolation) as caught:
        assess_at_commune(accepted, _assessment(), now=NOW)
    assert caught.value.field == "status"
