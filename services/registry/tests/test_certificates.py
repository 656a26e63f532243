"""A certificate's status on any day follows from its dates and evaluation's decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from uuid import uuid4

import pytest

from ocop_registry.domain.certificates import (
    EXPIRING_WITHIN_DAYS,
    Certificate,
    CertificateStatus,
    certificate_on,
    live_certificate,
    status_on,
)

S = CertificateStatus
PRODUCT = uuid4()
# Signed 4 March 2024 (Hanoi's 2023-round 4-star decision), valid 36 months.
FIRST = Certificate(
    id=uuid4(),
    number="152/2024/OCOP-HN",
    product_id=PRODUCT,
    star=4,
    level="city",
    decision_number="1147/QĐ-UBND",
    decision_date=date(2024, 3, 4),
    valid_from=date(2024, 3, 4),
    valid_until=date(2027, 3, 3),
    rulebook="148",
    score=78.5,
)
# Re-evaluated before expiry: a new certificate from 10 January 2027 replaces the first.
RENEWED = replace(
    FIRST,
    id=uuid4(),
    number="031/2027/OCOP-HN",
    star=3,
    decision_number="88/QĐ-UBND",
    decision_date=date(2027, 1, 10),
    valid_from=date(2027, 1, 10),
    valid_until=date(2030, 1, 9),
    rulebook="1489",
    replaces_id=FIRST.id,
)


def test_a_certificate_is_not_yet_valid_before_its_first_day() -> None:
    assert FIRST.status_on(date(2024, 3, 3)) is S.NOT_CERTIFIED


@pytest.mark.parametrize("day", [date(2024, 3, 4), date(2025, 9, 1), date(2026, 12, 3)])
def test_a_certificate_is_valid_from_its_first_day_until_its_last_90_days(day: date) -> None:
    assert FIRST.status_on(day) is S.VALID


@pytest.mark.parametrize("day", [date(2026, 12, 4), date(2027, 2, 1), date(2027, 3, 3)])
def test_a_certificate_is_expiring_in_its_last_90_days_up_to_its_last_day(day: date) -> None:
    assert FIRST.status_on(day) is S.EXPIRING


def test_the_expiring_window_is_exactly_ninety_days_long() -> None:
    first_expiring = FIRST.valid_until - timedelta(days=EXPIRING_WITHIN_DAYS - 1)

    assert EXPIRING_WITHIN_DAYS == 90
    assert FIRST.status_on(first_expiring - timedelta(days=1)) is S.VALID
    assert FIRST.status_on(first_expiring) is S.EXPIRING


def test_the_expiring_window_can_be_asked_for_with_another_length() -> None:
    day = FIRST.valid_until - timedelta(days=100)

    assert FIRST.status_on(day) is S.VALID
    assert FIRST.status_on(day, expiring_within_days=180) is S.EXPIRING


@pytest.mark.parametrize("day", [date(2027, 3, 4), date(2030, 1, 1)])
def test_a_certificate_is_expired_after_its_last_valid_day(day: date) -> None:
    assert FIRST.status_on(day) is S.EXPIRED


def test_a_certificate_evaluation_declared_expired_is_expired_from_that_day() -> None:
    ended = replace(FIRST, expired_on=date(2025, 6, 1))

    assert ended.status_on(date(2025, 5, 31)) is S.VALID
    assert ended.status_on(date(2025, 6, 1)) is S.EXPIRED
    assert ended.status_on(date(2026, 1, 1)) is S.EXPIRED


def test_a_revoked_certificate_is_revoked_from_the_revocation_day() -> None:
    revoked = replace(FIRST, revoked_on=date(2025, 2, 10), revocation_grounds=("food safety",))

    assert revoked.status_on(date(2025, 2, 9)) is S.VALID
    assert revoked.status_on(date(2025, 2, 10)) is S.REVOKED
    assert revoked.status_on(date(2026, 12, 31)) is S.REVOKED


def test_a_revoked_certificate_stays_revoked_after_its_end_date() -> None:
    revoked = replace(FIRST, revoked_on=date(2025, 2, 10))

    assert revoked.status_on(date(2028, 1, 1)) is S.REVOKED


def test_a_revocation_does_not_change_what_the_certificate_was_before_it() -> None:
    revoked = replace(FIRST, revoked_on=date(2025, 2, 10))

    assert revoked.status_on(date(2024, 3, 1)) is S.NOT_CERTIFIED
    assert revoked.status_on(date(2024, 6, 1)) is S.VALID


def test_no_certificate_speaks_for_a_product_before_the_first_is_valid() -> None:
    assert certificate_on([FIRST, RENEWED], date(2024, 3, 3)) is None
    assert certificate_on([], date(2024, 3, 3)) is None


def test_before_a_re_evaluation_the_older_certificate_speaks_for_the_product() -> None:
    assert certificate_on([RENEWED, FIRST], date(2027, 1, 9)) == FIRST


@pytest.mark.parametrize("day", [date(2027, 1, 10), date(2027, 2, 1), date(2029, 6, 1)])
def test_after_a_re_evaluation_the_replacing_certificate_speaks_for_the_product(
    day: date,
) -> None:
    assert certificate_on([FIRST, RENEWED], day) == RENEWED
    assert certificate_on([RENEWED, FIRST], day) == RENEWED


def test_a_replacing_certificate_that_is_revoked_still_speaks_for_the_product() -> None:
    revoked = replace(RENEWED, revoked_on=date(2027, 5, 1))

    assert certificate_on([FIRST, revoked], date(2027, 6, 1)) == revoked
    assert status_on([FIRST, revoked], date(2027, 6, 1)) is S.REVOKED


def test_the_products_status_is_that_of_the_certificate_speaking_for_it() -> None:
    certificates = [FIRST, RENEWED]

    assert status_on(certificates, date(2024, 1, 1)) is S.NOT_CERTIFIED
    assert status_on(certificates, date(2025, 1, 1)) is S.VALID
    # The first is expiring on 9 January 2027, the renewal is fully valid the next day.
    assert status_on(certificates, date(2027, 1, 9)) is S.EXPIRING
    assert status_on(certificates, date(2027, 1, 10)) is S.VALID
    assert status_on(certificates, date(2030, 1, 10)) is S.EXPIRED


def test_a_valid_certificate_is_live() -> None:
    assert live_certificate([FIRST], date(2025, 1, 1)) == FIRST


def test_an_expiring_certificate_is_still_live() -> None:
    assert live_certificate([FIRST], date(2027, 3, 3)) == FIRST


@pytest.mark.parametrize(
    ("certificate", "day"),
    [
        (FIRST, date(2024, 3, 3)),
        (FIRST, date(2027, 3, 4)),
        (replace(FIRST, revoked_on=date(2025, 1, 1)), date(2025, 1, 1)),
        (replace(FIRST, expired_on=date(2025, 1, 1)), date(2025, 1, 1)),
    ],
)
def test_a_certificate_not_yet_valid_expired_or_revoked_is_not_live(
    certificate: Certificate, day: date
) -> None:
    assert live_certificate([certificate], day) is None


def test_the_live_certificate_after_a_re_evaluation_is_the_replacing_one() -> None:
    assert live_certificate([FIRST, RENEWED], date(2027, 2, 1)) == RENEWED
    assert live_certificate([FIRST, RENEWED], date(2026, 2, 1)) == FIRST


def test_a_revoked_replacement_leaves_no_live_certificate_even_if_the_old_one_had_time_left() -> (
    None
):
    revoked = replace(RENEWED, revoked_on=date(2027, 2, 1))

    assert live_certificate([FIRST, revoked], date(2027, 2, 15)) is None


def test_a_certificate_reissued_the_same_day_to_correct_it_replaces_the_erroneous_one() -> None:
    corrected = replace(FIRST, id=uuid4(), number="152/2024/OCOP-HN-BS", replaces_id=FIRST.id)

    # Same dates, so only the replacement link tells them apart, whatever the order.
    assert certificate_on([FIRST, corrected], date(2025, 1, 1)) == corrected
    assert certificate_on([corrected, FIRST], date(2025, 1, 1)) == corrected
