"""What a recognition decision does to one product: never a refusal of the whole round."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from ocop_evaluation.domain import (
    CertificateExpired,
    CertificateReevaluated,
    CertificateRevoked,
    CertificateState,
    CertificateUpgraded,
    EntryKind,
    Grant,
    Level,
    ProductCertificates,
    ProductCertified,
    RevocationGround,
    RulebookRef,
    Verdict,
    certify,
    expire,
    failure_decided,
    failure_ground,
    grant_decided,
    revoke,
)

PRODUCT = UUID(int=7)
RULEBOOK = RulebookRef("1489", 1)
SIGNED = date(2022, 3, 1)
LAST_DAY = date(2025, 2, 28)


def _grant(n: int, star: int, day: date) -> Grant:
    return Grant(UUID(int=n), star, Level.CITY, f"{n}/QĐ-UBND", day, RULEBOOK)


def _holding(star: int = 4) -> ProductCertificates:
    history, _ = certify(ProductCertificates(PRODUCT), _grant(1, star, SIGNED))
    return history


def test_an_upgrade_scored_at_its_current_star_keeps_the_certificate() -> None:
    held = _holding(4)
    decided = grant_decided(held, EntryKind.UPGRADE, _grant(2, 4, date(2024, 5, 1)))
    assert decided.verdict is Verdict.KEPT and "not reached" in decided.reason
    assert decided.history == held and decided.events == []


def test_an_upgrade_to_a_higher_star_replaces_the_certificate() -> None:
    decided = grant_decided(_holding(3), EntryKind.UPGRADE, _grant(2, 4, date(2024, 5, 1)))
    assert decided.verdict is Verdict.REPLACED
    assert [type(e) for e in decided.events] == [CertificateUpgraded]


def test_a_re_evaluation_decided_after_the_certificate_ended_issues_a_new_one_from_its_date() -> (
    None
):
    late = LAST_DAY + timedelta(days=20)
    decided = grant_decided(_holding(4), EntryKind.RE_EVALUATION, _grant(2, 3, late))
    assert decided.verdict is Verdict.CERTIFIED
    assert [type(e) for e in decided.events] == [CertificateExpired, ProductCertified]
    new = decided.history.live
    assert new is not None and (new.star, new.decision_date) == (3, late)
    old = decided.history.get(UUID(int=1))
    assert old is not None and old.state is CertificateState.EXPIRED


def test_a_re_evaluation_in_time_replaces_the_certificate_at_any_star() -> None:
    decided = grant_decided(_holding(4), EntryKind.RE_EVALUATION, _grant(2, 3, LAST_DAY))
    assert decided.verdict is Verdict.REPLACED
    assert [type(e) for e in decided.events] == [CertificateReevaluated]


def test_a_re_evaluation_of_an_already_expired_certificate_certifies_anew() -> None:
    history, _ = certify(ProductCertificates(PRODUCT), _grant(1, 4, SIGNED))
    expired, _ = expire(history, LAST_DAY + timedelta(days=1))
    decided = grant_decided(expired, EntryKind.RE_EVALUATION, _grant(2, 4, date(2025, 9, 1)))
    assert decided.verdict is Verdict.CERTIFIED
    assert [type(e) for e in decided.events] == [ProductCertified]


def test_a_first_time_result_for_a_product_already_certified_keeps_what_it_holds() -> None:
    decided = grant_decided(_holding(4), EntryKind.FIRST_TIME, _grant(2, 3, date(2023, 1, 1)))
    assert decided.verdict is Verdict.KEPT and decided.events == []


def test_a_rule_refusing_one_product_is_that_products_outcome_not_an_error() -> None:
    revoked, _ = revoke(_holding(4), ["food_safety_breach"], "5/QĐ", date(2024, 1, 10))
    # A decision dated before what is already recorded cannot be slotted into the history.
    decided = grant_decided(revoked, EntryKind.FIRST_TIME, _grant(3, 3, date(2023, 6, 1)))
    assert decided.verdict is Verdict.NOT_GRANTED and "decision_date" in decided.reason
    assert decided.history == revoked


def test_failing_a_re_evaluation_revokes_the_live_certificate_with_the_ground() -> None:
    decided = failure_decided(
        _holding(4), RevocationGround.FAILED_REEVALUATION, "77/QĐ-UBND", date(2024, 12, 1)
    )
    assert decided.verdict is Verdict.ENDED
    [event] = decided.events
    assert isinstance(event, CertificateRevoked)
    assert event.revocation.grounds == (RevocationGround.FAILED_REEVALUATION,)
    assert event.revocation.revoked_on == date(2024, 12, 1)
    assert decided.history.live is None


def test_failing_a_re_evaluation_after_the_certificate_lapsed_records_the_lapse() -> None:
    decided = failure_decided(
        _holding(4), RevocationGround.FAILED_REEVALUATION, "77/QĐ", LAST_DAY + timedelta(days=3)
    )
    assert [type(e) for e in decided.events] == [CertificateExpired]


def test_failing_with_nothing_live_changes_nothing() -> None:
    empty = ProductCertificates(PRODUCT)
    decided = failure_decided(empty, RevocationGround.FAILED_REEVALUATION, "1/QĐ", SIGNED)
    assert decided.verdict is Verdict.UNCHANGED and decided.events == []


def test_the_failure_ground_tells_a_missed_mandatory_item_from_too_few_points() -> None:
    assert failure_ground("62.5", 2) is RevocationGround.FAILED_MANDATORY_CRITERIA
    assert failure_ground("41", 2) is RevocationGround.FAILED_REEVALUATION
    assert failure_ground("75", 3) is RevocationGround.FAILED_MANDATORY_CRITERIA


def test_no_quality_or_traceability_records_is_a_revocation_ground() -> None:
    after, [event] = revoke(_holding(3), ["no_quality_records"], "9/QĐ", date(2023, 4, 4))
    assert isinstance(event, CertificateRevoked)
    assert event.revocation.grounds == (RevocationGround.NO_QUALITY_RECORDS,)
    assert after.live is None
