"""Certificates: 36-month validity, expiry notices, and the certificate state machine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop_evaluation.domain import (
    FINAL_STATES,
    CertificateEvent,
    CertificateExpired,
    CertificateReevaluated,
    CertificateRevoked,
    CertificateState,
    CertificateUpgraded,
    Grant,
    Level,
    ProductCertificates,
    ProductCertified,
    Replacement,
    RevocationGround,
    RulebookRef,
    RuleViolation,
    certify,
    expire,
    notices_due,
    reevaluate,
    revoke,
    upgrade,
    valid_until,
)

PRODUCT = UUID(int=1000)
RULEBOOK = RulebookRef("148", 1)
SIGNED = date(2024, 3, 4)
# The example database would be written into the working tree; these properties need no memory.
PROPERTIES = settings(database=None, max_examples=300, deadline=None)


def _grant(n: int, star: int, day: date) -> Grant:
    return Grant(UUID(int=n), star, Level.CITY, f"{n}/QĐ-UBND", day, RULEBOOK)


def _certified(star: int = 4, day: date = SIGNED) -> ProductCertificates:
    history, _ = certify(ProductCertificates(PRODUCT), _grant(1, star, day))
    return history


# --- validity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "last_day"),
    [
        (date(2023, 2, 28), date(2026, 2, 27)),
        (date(2024, 2, 29), date(2027, 2, 28)),
        (date(2021, 3, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2027, 2, 28)),
        (date(2023, 1, 31), date(2026, 1, 30)),
        (date(2022, 12, 31), date(2025, 12, 30)),
        (date(2024, 3, 4), date(2027, 3, 3)),
    ],
)
def test_a_certificate_is_valid_for_36_months_less_a_day(signed: date, last_day: date) -> None:
    assert valid_until(signed) == last_day


@PROPERTIES
@given(st.dates(min_value=date(2019, 1, 1), max_value=date(2100, 12, 31)))
def test_the_day_after_validity_ends_is_the_36_month_anniversary_or_the_next_month_start(
    signed: date,
) -> None:
    after = valid_until(signed) + timedelta(days=1)

    assert 1095 <= (after - signed).days <= 1097
    assert after.day == signed.day or (after.day == 1 and signed.day > 28)


def test_a_new_certificate_records_its_end_and_rulebook() -> None:
    live = _certified().live

    assert live is not None
    assert (live.valid_until, live.rulebook, live.state) == (
        date(2027, 3, 3),
        RULEBOOK,
        CertificateState.LIVE,
    )


# --- expiry notices ------------------------------------------------------------------------------

END = date(2027, 3, 3)


@pytest.mark.parametrize(
    ("days_left", "due"),
    [(181, ()), (180, (180,)), (91, (180,)), (90, (90,)), (31, (90,)), (30, (30,)), (0, (30,))],
)
def test_the_notice_due_is_the_tightest_threshold_reached(
    days_left: int, due: tuple[int, ...]
) -> None:
    assert notices_due(END, END - timedelta(days=days_left), sent=()) == due


def test_no_notice_is_due_after_the_end() -> None:
    assert notices_due(END, END + timedelta(days=1), sent=()) == ()


def test_running_the_notice_scheduler_twice_sends_each_notice_once() -> None:
    sent: set[int] = set()
    outbox = []
    day = END - timedelta(days=200)
    while day <= END:
        for _ in range(2):
            due = notices_due(END, day, sent)
            outbox += [(day, t) for t in due]
            sent.update(due)
        day += timedelta(days=1)

    assert outbox == [
        (END - timedelta(days=180), 180),
        (END - timedelta(days=90), 90),
        (END - timedelta(days=30), 30),
    ]


def test_a_scheduler_back_from_a_long_pause_sends_only_the_most_urgent_notice() -> None:
    day = END - timedelta(days=20)

    assert notices_due(END, day, sent=()) == (30,)
    assert notices_due(END, day, sent={30}) == ()
    assert notices_due(END, day, sent={180}) == (30,)


def test_the_notice_thresholds_are_configurable() -> None:
    assert notices_due(END, END - timedelta(days=60), sent=(), thresholds=(60, 7)) == (60,)


def test_a_certificate_that_is_no_longer_live_gets_no_notices() -> None:
    history, _ = revoke(_certified(), [RevocationGround.QUALITY_MISMATCH], "9/QĐ-UBND", SIGNED)
    revoked = history.get(UUID(int=1))

    assert revoked is not None
    assert revoked.notices_due(revoked.valid_until, sent=()) == ()
    live = _certified().live
    assert live is not None and live.notices_due(live.valid_until, sent=()) == (30,)


# --- the state machine ---------------------------------------------------------------------------


def test_certifying_a_product_publishes_product_certified() -> None:
    history, events = certify(ProductCertificates(PRODUCT), _grant(1, 3, SIGNED))

    assert [type(e) for e in events] == [ProductCertified]
    assert history.live is not None and history.live.star == 3


def test_a_product_with_a_live_certificate_cannot_be_certified_again() -> None:
    with pytest.raises(RuleViolation, match="re-evaluate or upgrade"):
        certify(_certified(), _grant(2, 4, SIGNED + timedelta(days=10)))


def test_certifying_after_the_end_expires_the_old_certificate_first() -> None:
    after = valid_until(SIGNED) + timedelta(days=30)

    history, events = certify(_certified(), _grant(2, 3, after))

    assert [type(e) for e in events] == [CertificateExpired, ProductCertified]
    old = history.get(UUID(int=1))
    assert old is not None and old.state is CertificateState.EXPIRED
    assert history.live is not None and history.live.id == UUID(int=2)


def test_a_certificate_expires_the_day_after_its_last_valid_day() -> None:
    history = _certified()
    last = valid_until(SIGNED)

    unchanged, none = expire(history, last)
    expired, events = expire(history, last + timedelta(days=1))

    assert (unchanged, none) == (history, [])
    assert events == [CertificateExpired(UUID(int=1), PRODUCT, last + timedelta(days=1))]
    assert expired.live is None


def test_expiring_twice_has_no_second_effect() -> None:
    once, _ = expire(_certified(), date(2030, 1, 1))

    twice, events = expire(once, date(2030, 1, 2))

    assert (twice, events) == (once, [])


def test_a_re_evaluation_may_lower_the_star() -> None:
    history, events = reevaluate(_certified(4), _grant(2, 3, date(2026, 12, 1)))

    assert [type(e) for e in events] == [CertificateReevaluated]
    old = history.get(UUID(int=1))
    assert old is not None
    assert (old.state, old.replaced_by, old.replacement) == (
        CertificateState.REPLACED,
        UUID(int=2),
        Replacement.REEVALUATION,
    )
    assert history.live is not None and history.live.star == 3
    assert history.live.valid_until == date(2029, 11, 30)


def test_an_upgrade_must_raise_the_star() -> None:
    with pytest.raises(RuleViolation) as refused:
        upgrade(_certified(4), _grant(2, 4, date(2025, 1, 1)))

    assert refused.value.field == "star"


def test_an_upgrade_to_5_stars_replaces_the_provincial_4_stars() -> None:
    history, events = upgrade(_certified(4), _grant(2, 5, date(2025, 1, 1)))

    assert events == [CertificateUpgraded(history.certificates[-1], UUID(int=1))]
    assert history.live is not None and history.live.star == 5


def test_a_lapsed_certificate_cannot_be_replaced() -> None:
    with pytest.raises(RuleViolation, match="certified anew"):
        reevaluate(_certified(), _grant(2, 4, valid_until(SIGNED) + timedelta(days=1)))


def test_revoking_needs_at_least_one_known_ground() -> None:
    with pytest.raises(RuleViolation) as none:
        revoke(_certified(), [], "9/QĐ-UBND", SIGNED)
    with pytest.raises(RuleViolation) as unknown:
        revoke(_certified(), ["bad_packaging"], "9/QĐ-UBND", SIGNED)

    assert none.value.field == unknown.value.field == "grounds"


def test_a_single_ground_may_be_given_on_its_own() -> None:
    history, _ = revoke(_certified(), "operation_suspended", "9/QĐ-UBND", SIGNED)

    revoked = history.get(UUID(int=1))
    assert revoked is not None and revoked.revocation is not None
    assert revoked.revocation.grounds == (RevocationGround.OPERATION_SUSPENDED,)


def test_revoking_records_the_grounds_and_ends_the_certificate() -> None:
    history, events = revoke(
        _certified(),
        ["food_safety_breach", RevocationGround.PROCESS_NOT_FOLLOWED, "food_safety_breach"],
        "9/QĐ-UBND",
        date(2025, 5, 1),
    )

    assert [type(e) for e in events] == [CertificateRevoked]
    revoked = history.get(UUID(int=1))
    assert revoked is not None and revoked.revocation is not None
    assert revoked.revocation.grounds == (
        RevocationGround.FOOD_SAFETY_BREACH,
        RevocationGround.PROCESS_NOT_FOLLOWED,
    )
    assert (revoked.state, revoked.ended_on) == (CertificateState.REVOKED, date(2025, 5, 1))


def test_a_revoked_certificate_stays_revoked() -> None:
    history, _ = revoke(_certified(), ["operation_suspended"], "9/QĐ-UBND", SIGNED)
    later = date(2025, 1, 1)

    for operation in (
        lambda: reevaluate(history, _grant(2, 4, later)),
        lambda: upgrade(history, _grant(2, 5, later)),
        lambda: revoke(history, ["not_reevaluated"], "10/QĐ-UBND", later),
    ):
        with pytest.raises(RuleViolation):
            operation()
    assert expire(history, date(2030, 1, 1)) == (history, [])


def test_a_decision_dated_before_the_recorded_history_is_refused() -> None:
    history, _ = revoke(_certified(), ["quality_mismatch"], "9/QĐ-UBND", date(2025, 1, 1))

    with pytest.raises(RuleViolation) as refused:
        certify(history, _grant(2, 3, date(2024, 12, 31)))

    assert refused.value.field == "decision_date"


def test_a_certificate_id_cannot_be_used_twice() -> None:
    history, _ = revoke(_certified(), ["quality_mismatch"], "9/QĐ-UBND", SIGNED)

    with pytest.raises(RuleViolation) as refused:
        certify(history, _grant(1, 3, date(2025, 1, 1)))

    assert refused.value.field == "certificate_id"


@pytest.mark.parametrize("star", [1, 2, 6])
def test_only_3_to_5_stars_are_certified(star: int) -> None:
    with pytest.raises(RuleViolation):
        certify(ProductCertificates(PRODUCT), _grant(1, star, SIGNED))


# --- properties over random sequences of operations ----------------------------------------------

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["certify", "reevaluate", "upgrade", "expire", "revoke"]),
        st.integers(min_value=-60, max_value=900),
        st.sampled_from([1, 3, 4, 5]),
        st.lists(st.sampled_from([*RevocationGround, "unknown_ground"]), max_size=3),
    ),
    max_size=30,
)
Operation = tuple[str, int, int, list[RevocationGround | str]]
Step = tuple[ProductCertificates, ProductCertificates, list[CertificateEvent]]


def _run(operations: list[Operation]) -> Iterator[Step]:
    history = ProductCertificates(PRODUCT)
    day = date(2020, 1, 1)
    for n, (name, gap, star, grounds) in enumerate(operations, start=1):
        day += timedelta(days=gap)
        before = history
        events: list[CertificateEvent] = []
        try:
            if name == "certify":
                history, events = certify(history, _grant(n, star, day))
            elif name == "reevaluate":
                history, events = reevaluate(history, _grant(n, star, day))
            elif name == "upgrade":
                history, events = upgrade(history, _grant(n, star, day))
            elif name == "expire":
                history, events = expire(history, day)
            else:
                history, events = revoke(history, grounds, f"{n}/QĐ-UBND", day)
        except RuleViolation:
            assert history is before
        yield before, history, events


@PROPERTIES
@given(OPERATIONS)
def test_no_sequence_of_operations_leaves_two_live_certificates(
    operations: list[Operation],
) -> None:
    for _, after, _ in _run(operations):
        live = [c for c in after.certificates if c.state is CertificateState.LIVE]
        assert len(live) <= 1


@PROPERTIES
@given(OPERATIONS)
def test_no_sequence_of_operations_changes_a_certificate_in_a_final_state(
    operations: list[Operation],
) -> None:
    for before, after, _ in _run(operations):
        for old in before.certificates:
            assert after.get(old.id) is not None
            if old.state in FINAL_STATES:
                assert after.get(old.id) == old


@PROPERTIES
@given(OPERATIONS)
def test_no_sequence_of_operations_lets_an_upgrade_lower_or_keep_the_star(
    operations: list[Operation],
) -> None:
    for _, after, events in _run(operations):
        for event in events:
            if isinstance(event, CertificateUpgraded):
                replaced = after.get(event.replaces)
                assert replaced is not None
                assert event.certificate.star > replaced.star
        for certificate in after.certificates:
            if certificate.replacement is Replacement.UPGRADE:
                assert certificate.replaced_by is not None
                successor = after.get(certificate.replaced_by)
                assert successor is not None and successor.star > certificate.star


@PROPERTIES
@given(OPERATIONS)
def test_every_replaced_certificate_points_at_a_successor_that_points_back(
    operations: list[Operation],
) -> None:
    for _, after, _ in _run(operations):
        for certificate in after.certificates:
            if certificate.state is CertificateState.REPLACED:
                assert certificate.replaced_by is not None
                successor = after.get(certificate.replaced_by)
                assert successor is not None and successor.replaces == certificate.id
                assert certificate.ended_on == successor.decision_date
