"""Applications: the status table, what submission checks, and evaluation's results."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import product as pairs
from uuid import uuid4

import pytest

from ocop_registry import domain
from ocop_registry.domain.applications import (
    Application,
    ApplicationStatus,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    DraftApplication,
    ReviseApplication,
    apply_result,
    check_transition,
    draft_application,
    revise_application,
    submit_application,
    withdraw_application,
)
from ocop_registry.domain.certificates import Certificate
from ocop_registry.domain.classification import (
    ProductSet,
    Regime,
    Scheme,
    product_set,
    regime_on,
)
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.dossier import (
    ApplicationKind,
    DocumentType,
    EvidenceFile,
    required_documents,
)
from ocop_registry.domain.products import Product, RegisterProduct, register_product

S = ApplicationStatus
K = ApplicationKind
CREATED = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SUBMIT = datetime(2024, 3, 20, 10, 0, tzinfo=UTC)
TRUC_BACH = domain.UnitVersion(
    "00004", "Trúc Bạch", date(2019, 1, 1), date(2025, 6, 30), district_code="001"
)
TEA_148 = product_set(Scheme.S148, "food.tea")
TEA_1048 = product_set(Scheme.S1048, "1048.food.tea")
PDF = EvidenceFile(
    document_type=DocumentType.REGISTRATION_FORM,
    name="Phiếu đăng ký.pdf",
    media_type="application/pdf",
    size_bytes=48_213,
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    storage_url="s3://ocop-dossiers/2024/phieu-dang-ky.pdf",
)

# Written out independently of the module's table: what the producer and evaluation may do.
ALLOWED = {
    (S.DRAFT, S.SUBMITTED),
    (S.DRAFT, S.WITHDRAWN),
    (S.SUBMITTED, S.WITHDRAWN),
    (S.SUBMITTED, S.ACCEPTED),
    (S.SUBMITTED, S.RETURNED),
    (S.SUBMITTED, S.NOT_RECOGNISED),
    (S.SUBMITTED, S.CERTIFIED),
    (S.RETURNED, S.SUBMITTED),
    (S.RETURNED, S.WITHDRAWN),
    (S.ACCEPTED, S.RETURNED),
    (S.ACCEPTED, S.NOT_RECOGNISED),
    (S.ACCEPTED, S.CERTIFIED),
    # Under 1489 the commune's request to the city comes between submission and the round.
    (S.SUBMITTED, S.COMMUNE_ASSESSED),
    (S.COMMUNE_ASSESSED, S.WITHDRAWN),
    (S.COMMUNE_ASSESSED, S.ACCEPTED),
    (S.COMMUNE_ASSESSED, S.RETURNED),
    (S.COMMUNE_ASSESSED, S.NOT_RECOGNISED),
    (S.COMMUNE_ASSESSED, S.CERTIFIED),
}
FINAL = (S.WITHDRAWN, S.NOT_RECOGNISED, S.CERTIFIED)
REFUSED = sorted(set(pairs(S, S)) - ALLOWED)


def _producer() -> domain.Producer:
    producer, _ = domain.register_producer(
        domain.RegisterProducer(
            name="HTX Chè Trúc Bạch",
            legal_form=domain.LegalForm.COOPERATIVE,
            commune_code="00004",
            registration_number="0101234567",
        ),
        producer_id=uuid4(),
        unit=TRUC_BACH,
        now=CREATED - timedelta(days=900),
    )
    return producer


PRODUCER = _producer()


def _product(the_set: ProductSet = TEA_148, registered_on: date = date(2023, 6, 1)) -> Product:
    product, _ = register_product(
        RegisterProduct(
            producer_id=PRODUCER.id,
            name="Chè Shan tuyết",
            product_set=the_set.code,
            commune_code="00004",
        ),
        product_id=uuid4(),
        producer=PRODUCER,
        product_set=the_set,
        unit=TRUC_BACH,
        sequence=3,
        registered_on=registered_on,
        now=CREATED - timedelta(days=200),
    )
    return product


PRODUCT = _product()


def _dossier(
    kind: ApplicationKind, the_set: ProductSet, regime: Regime
) -> tuple[EvidenceFile, ...]:
    return tuple(
        replace(PDF, document_type=t, name=f"{t.value}.pdf")
        for t in sorted(required_documents(kind, the_set, regime))
    )


def _draft(
    kind: ApplicationKind = K.FIRST_TIME,
    *,
    score: float | None = 68.0,
    product: Product = PRODUCT,
    the_set: ProductSet = TEA_148,
    documents: tuple[EvidenceFile, ...] | None = None,
    regime: Regime = Regime.R148,
) -> Application:
    return draft_application(
        DraftApplication(
            product_id=product.id,
            kind=kind,
            self_assessment_score=score,
            documents=_dossier(kind, the_set, regime) if documents is None else documents,
        ),
        application_id=uuid4(),
        product=product,
        now=CREATED,
    )


def _certificate(star: int = 4, **overrides: object) -> Certificate:
    certificate = Certificate(
        id=uuid4(),
        number="152/2021/OCOP-HN",
        product_id=PRODUCT.id,
        star=star,
        level="city",
        decision_number="2015/QĐ-UBND",
        decision_date=date(2021, 6, 1),
        valid_from=date(2021, 6, 1),
        valid_until=date(2024, 5, 31),
        rulebook="1048",
    )
    return replace(certificate, **overrides)  # type: ignore[arg-type]


def _submit(
    app: Application,
    *,
    product: Product = PRODUCT,
    producer: domain.Producer = PRODUCER,
    the_set: ProductSet = TEA_148,
    live: Certificate | None = None,
    now: datetime = SUBMIT,
) -> tuple[Application, list[ApplicationSubmitted | ApplicationWithdrawn]]:
    return submit_application(
        app, product=product, producer=producer, product_set=the_set, live=live, now=now
    )


def _with_status(status: ApplicationStatus) -> Application:
    return replace(_draft(), status=status)


# The status table


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_an_allowed_transition_passes(
    current: ApplicationStatus, target: ApplicationStatus
) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_any_other_transition_is_refused_on_the_status_field(
    current: ApplicationStatus, target: ApplicationStatus
) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_transition(current, target)

    assert caught.value.field == "status"
    assert f"{current} cannot become {target}" in caught.value.reason


@pytest.mark.parametrize("final", FINAL)
def test_a_final_application_is_told_it_is_final(final: ApplicationStatus) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_transition(final, S.SUBMITTED)

    assert "it is final" in caught.value.reason


# Drafting and revising


def test_a_draft_starts_at_version_one_in_the_current_round() -> None:
    app = _draft()

    assert app.status is S.DRAFT
    assert app.version == 1
    assert app.round_year == 2024
    assert (app.product_id, app.producer_id) == (PRODUCT.id, PRODUCER.id)
    assert app.regime is None


def test_a_deregistered_product_cannot_be_drafted_for() -> None:
    with pytest.raises(RuleViolation) as caught:
        _draft(product=replace(PRODUCT, deregistered_at=CREATED))

    assert caught.value.field == "product_id"


@pytest.mark.parametrize("score", [-0.5, 100.5])
def test_a_self_assessment_score_outside_0_to_100_is_refused(score: float) -> None:
    with pytest.raises(RuleViolation) as caught:
        _draft(score=score)

    assert caught.value.field == "self_assessment_score"


@pytest.mark.parametrize("status", [S.DRAFT, S.RETURNED])
def test_a_draft_or_returned_application_can_be_revised(status: ApplicationStatus) -> None:
    app = _with_status(status)

    revised = revise_application(
        app, ReviseApplication(self_assessment_score=81.0, round_year=2025), now=SUBMIT
    )

    assert (revised.self_assessment_score, revised.round_year) == (81.0, 2025)
    assert revised.version == app.version + 1


@pytest.mark.parametrize("status", [S.SUBMITTED, S.ACCEPTED, *FINAL])
def test_an_application_cannot_be_revised_once_submitted(status: ApplicationStatus) -> None:
    with pytest.raises(RuleViolation) as caught:
        revise_application(
            _with_status(status), ReviseApplication(self_assessment_score=81.0), now=SUBMIT
        )

    assert caught.value.field == "status"


# Submission


def test_submitting_a_complete_application_emits_application_submitted() -> None:
    app = _draft()

    done, events = _submit(app)

    assert done.status is S.SUBMITTED
    assert done.submitted_at == SUBMIT
    assert done.version == app.version + 1
    assert events == [ApplicationSubmitted(done, PRODUCT, PRODUCER)]


def test_submission_needs_a_self_assessment_score() -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(score=None))

    assert caught.value.field == "self_assessment_score"


def test_an_incomplete_dossier_is_refused_listing_every_missing_document() -> None:
    complete = _dossier(K.FIRST_TIME, TEA_148, Regime.R148)
    lacking = {DocumentType.SAMPLES, DocumentType.TRACEABILITY}
    documents = tuple(d for d in complete if d.document_type not in lacking)

    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(documents=documents))

    assert caught.value.field == "documents"
    assert "samples" in caught.value.reason
    assert "traceability" in caught.value.reason
    assert "registration_form" not in caught.value.reason


def test_an_empty_dossier_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(documents=()))

    assert caught.value.field == "documents"
    assert "registration_form" in caught.value.reason


def test_a_1048_classified_product_submitting_in_2024_is_told_to_reclassify() -> None:
    old = _product(TEA_1048, registered_on=date(2022, 5, 10))
    app = _draft(product=old, the_set=TEA_1048, regime=Regime.R1048)

    with pytest.raises(RuleViolation) as caught:
        _submit(app, product=old, the_set=TEA_1048)

    assert caught.value.field == "product_set"
    assert "1048.food.tea" in caught.value.reason
    assert "reclassify" in caught.value.reason


def test_a_1048_classified_product_could_submit_while_1048_was_in_force() -> None:
    old = _product(TEA_1048, registered_on=date(2022, 5, 10))
    app = replace(_draft(product=old, the_set=TEA_1048, regime=Regime.R1048), round_year=2022)

    done, _ = _submit(
        app, product=old, the_set=TEA_1048, now=datetime(2022, 9, 1, 9, 0, tzinfo=UTC)
    )

    assert done.regime is Regime.R1048


def test_a_148_product_set_is_refused_while_1048_was_in_force() -> None:
    app = _draft()

    with pytest.raises(RuleViolation) as caught:
        _submit(app, now=datetime(2023, 2, 23, 9, 0, tzinfo=UTC))

    assert caught.value.field == "product_set"


def test_a_first_time_application_is_refused_while_the_product_holds_a_live_certificate() -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(K.FIRST_TIME), live=_certificate())

    assert caught.value.field == "kind"
    assert "152/2021/OCOP-HN" in caught.value.reason


@pytest.mark.parametrize("kind", [K.RE_EVALUATION, K.UPGRADE])
def test_a_re_evaluation_or_upgrade_needs_a_live_certificate(kind: ApplicationKind) -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(kind), live=None)

    assert caught.value.field == "kind"


@pytest.mark.parametrize("kind", [K.RE_EVALUATION, K.UPGRADE])
def test_a_re_evaluation_or_upgrade_of_a_certified_product_is_submitted(
    kind: ApplicationKind,
) -> None:
    done, events = _submit(_draft(kind), live=_certificate(star=3))

    assert done.status is S.SUBMITTED
    assert done.kind is kind
    assert len(events) == 1


def test_a_five_star_product_cannot_be_upgraded() -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(K.UPGRADE), live=_certificate(star=5))

    assert caught.value.field == "kind"
    assert "5★" in caught.value.reason


def test_a_five_star_product_can_be_re_evaluated() -> None:
    done, _ = _submit(_draft(K.RE_EVALUATION), live=_certificate(star=5))

    assert done.status is S.SUBMITTED


@pytest.mark.parametrize(
    ("day", "regime"),
    [
        (date(2023, 2, 24), Regime.R148),
        (date(2025, 7, 5), Regime.R148),
        (date(2025, 7, 6), Regime.R1489),
        (date(2026, 1, 15), Regime.R1489),
    ],
)
def test_submission_fixes_the_regime_in_force_on_the_submission_date(
    day: date, regime: Regime
) -> None:
    app = replace(_draft(regime=regime), round_year=day.year)
    now = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)

    done, (event,) = _submit(app, now=now)

    assert done.regime is regime
    assert done.regime is regime_on(day)
    assert isinstance(event, ApplicationSubmitted)
    assert event.application.regime is regime


def test_a_regime_fixed_at_submission_does_not_follow_a_later_date() -> None:
    done, _ = _submit(_draft(), now=datetime(2025, 7, 5, 9, 0, tzinfo=UTC))

    accepted = apply_result(done, S.ACCEPTED, (), now=datetime(2025, 9, 1, tzinfo=UTC))

    assert accepted.regime is Regime.R148


def test_a_returned_application_can_be_corrected_and_submitted_again() -> None:
    submitted, _ = _submit(_draft())
    returned = apply_result(submitted, S.RETURNED, ("thiếu mẫu",), now=SUBMIT)

    again, events = _submit(returned, now=SUBMIT + timedelta(days=5))

    assert again.status is S.SUBMITTED
    assert again.reasons == ()
    assert len(events) == 1


@pytest.mark.parametrize("status", [S.SUBMITTED, S.ACCEPTED, *FINAL])
def test_an_application_past_drafting_cannot_be_submitted(status: ApplicationStatus) -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_with_status(status))

    assert caught.value.field == "status"


def test_an_application_of_a_deregistered_producer_cannot_be_submitted() -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit(_draft(), producer=replace(PRODUCER, deregistered_at=CREATED))

    assert caught.value.field == "product_id"


# Withdrawal


def test_withdrawing_a_draft_tells_nobody() -> None:
    done, events = withdraw_application(_draft(), "Chưa đủ hồ sơ", now=SUBMIT)

    assert done.status is S.WITHDRAWN
    assert done.reasons == ("Chưa đủ hồ sơ",)
    assert events == []


@pytest.mark.parametrize("status", [S.SUBMITTED, S.RETURNED])
def test_withdrawing_a_submitted_application_emits_application_withdrawn(
    status: ApplicationStatus,
) -> None:
    app = _with_status(status)

    done, events = withdraw_application(app, " Xin  rút ", now=SUBMIT)

    assert done.status is S.WITHDRAWN
    assert done.version == app.version + 1
    assert events == [ApplicationWithdrawn(done, "Xin rút")]


@pytest.mark.parametrize("status", [S.ACCEPTED, *FINAL])
def test_an_accepted_or_final_application_cannot_be_withdrawn(status: ApplicationStatus) -> None:
    with pytest.raises(RuleViolation) as caught:
        withdraw_application(_with_status(status), "Xin rút", now=SUBMIT)

    assert caught.value.field == "status"


# Evaluation's results


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SUBMITTED, S.ACCEPTED),
        (S.SUBMITTED, S.RETURNED),
        (S.SUBMITTED, S.NOT_RECOGNISED),
        (S.SUBMITTED, S.CERTIFIED),
        (S.ACCEPTED, S.RETURNED),
        (S.ACCEPTED, S.NOT_RECOGNISED),
        (S.ACCEPTED, S.CERTIFIED),
    ],
)
def test_a_result_moves_a_submitted_or_accepted_application(
    current: ApplicationStatus, target: ApplicationStatus
) -> None:
    app = _with_status(current)

    moved = apply_result(app, target, ("điểm 72",), now=SUBMIT)

    assert moved.status is target
    assert moved.reasons == ("điểm 72",)
    assert moved.version == app.version + 1
    assert moved.updated_at == SUBMIT


@pytest.mark.parametrize("current", FINAL)
@pytest.mark.parametrize("target", [S.ACCEPTED, S.RETURNED, S.NOT_RECOGNISED, S.CERTIFIED])
def test_a_result_leaves_a_final_application_as_it_is(
    current: ApplicationStatus, target: ApplicationStatus
) -> None:
    app = _with_status(current)

    assert apply_result(app, target, ("muộn",), now=SUBMIT) is app


def test_a_repeated_result_changes_nothing() -> None:
    accepted = apply_result(_with_status(S.SUBMITTED), S.ACCEPTED, (), now=SUBMIT)

    assert apply_result(accepted, S.ACCEPTED, (), now=SUBMIT + timedelta(hours=1)) is accepted


def test_a_result_cannot_move_a_draft() -> None:
    app = _draft()

    assert apply_result(app, S.CERTIFIED, (), now=SUBMIT) is app


AFTER_EXPIRY = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)  # _certificate() ended on 2024-05-31


def _submit_after_expiry(
    latest: Certificate, kind: ApplicationKind = K.RE_EVALUATION
) -> tuple[Application, list[ApplicationSubmitted | ApplicationWithdrawn]]:
    return submit_application(
        _draft(kind),
        product=PRODUCT,
        producer=PRODUCER,
        product_set=TEA_148,
        live=None,
        now=AFTER_EXPIRY,
        latest=latest,
    )


def test_a_re_evaluation_of_an_expired_certificate_is_submitted() -> None:
    done, events = _submit_after_expiry(_certificate())

    assert done.status is S.SUBMITTED and len(events) == 1


def test_a_re_evaluation_of_a_revoked_certificate_is_refused() -> None:
    revoked = _certificate(revoked_on=date(2023, 1, 5), revocation_grounds=("food_safety_breach",))
    with pytest.raises(RuleViolation) as caught:
        _submit_after_expiry(revoked)

    assert caught.value.field == "kind" and "revoked" in caught.value.reason


def test_an_upgrade_of_an_expired_certificate_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        _submit_after_expiry(_certificate(), K.UPGRADE)

    assert caught.value.field == "kind"
