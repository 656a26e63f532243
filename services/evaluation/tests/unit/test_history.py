"""History rows: checked on their own, then applied by the certificate rules a round follows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from ocop_evaluation import domain
from ocop_evaluation.domain import history
from ocop_evaluation.domain.rulebooks import load_rulebooks

TODAY = date(2026, 6, 1)
BOOKS = load_rulebooks()


def raw(**fields: str) -> dict[str, str]:
    base = {
        "public_code": "01-00004-0001-2019",
        "action": "certify",
        "decision_number": "1147/QĐ-UBND",
        "decision_date": "2020-03-20",
        "level": "city",
        "star": "4",
        "rulebook": "1048",
    }
    return {**base, **fields}


def parse(**fields: str) -> history.HistoryRow:
    return history.parse_row(2, raw(**fields), BOOKS, TODAY)


def refused(**fields: str) -> domain.RuleViolation:
    with pytest.raises(domain.RuleViolation) as caught:
        parse(**fields)
    return caught.value


def test_a_row_takes_the_rulebook_version_in_force_on_its_decision_date() -> None:
    before_781 = parse(decision_date="2020-03-20")
    after_781 = parse(decision_date="2021-03-20")

    assert before_781.rulebook is not None and before_781.rulebook.ref.version == 1
    assert after_781.rulebook is not None and after_781.rulebook.ref.version == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"action": "promote"}, "action"),
        ({"decision_date": "20/03/2020"}, "decision_date"),
        ({"decision_date": "2027-01-01"}, "decision_date"),
        ({"star": "2"}, "star"),
        ({"level": "village"}, "level"),
        ({"rulebook": "148"}, "rulebook"),  # 148 took effect in 2023
        ({"rulebook": "999"}, "rulebook"),
        ({"score": "65", "star": "4"}, "score"),
        ({"score": "101"}, "score"),
        ({"public_code": "", "product_name": "Miến dong"}, "public_code"),
        ({"decision_number": ""}, "decision_number"),
        ({"star": "5", "level": "city"}, "star"),  # 5★ is the central council's
    ],
)
def test_a_bad_row_is_refused_naming_its_field(fields: dict[str, str], field: str) -> None:
    assert refused(**fields).field == field


def test_a_revocation_needs_a_known_ground() -> None:
    assert refused(action="revoke", grounds="").field == "grounds"
    assert refused(action="revoke", grounds="bad luck").field == "grounds"
    row = parse(action="revoke", grounds="food_safety_breach;operation_suspended")
    assert row.grounds == (
        domain.RevocationGround.FOOD_SAFETY_BREACH,
        domain.RevocationGround.OPERATION_SUSPENDED,
    )


def apply(
    state: history.ProductHistory, **fields: str
) -> tuple[history.ProductHistory, list[domain.CertificateEvent]]:
    return history.apply_row(state, parse(**fields), uuid4())


def empty() -> history.ProductHistory:
    return history.ProductHistory(domain.ProductCertificates(uuid4()))


def test_a_city_4_star_nominated_and_upgraded_centrally_closes_the_nomination() -> None:
    state, first = apply(empty(), score="91")
    state, none = apply(state, action="nominate", level="central", decision_number="N/1")
    state, upgraded = apply(
        state,
        action="upgrade",
        level="central",
        star="5",
        decision_number="2361/QĐ-BNN",
        decision_date="2020-11-02",
    )

    assert [type(e) for e in first] == [domain.ProductCertified]
    assert none == []
    assert [type(e) for e in upgraded] == [domain.CertificateUpgraded]
    assert state.certificates.live is not None and state.certificates.live.star == 5
    [nomination] = state.nominations
    assert (nomination.outcome, nomination.outcome_decision) == ("upgraded", "2361/QĐ-BNN")


def test_a_central_refusal_keeps_the_4_star() -> None:
    state, _ = apply(empty())
    state, _ = apply(state, action="nominate", level="central", decision_number="N/1")
    state, events = apply(
        state,
        action="not_upgraded",
        level="central",
        decision_number="C/1",
        decision_date="2020-12-01",
    )

    assert events == [] and state.open_nomination is None
    assert state.certificates.live is not None and state.certificates.live.star == 4


def test_a_second_live_certificate_is_refused_and_a_lapsed_one_is_certified_anew() -> None:
    state, _ = apply(empty())

    with pytest.raises(domain.RuleViolation) as caught:
        apply(state, decision_number="2/QĐ", decision_date="2021-01-01", star="3")
    later, events = apply(
        state,
        decision_number="3/QĐ",
        decision_date="2023-06-01",
        star="3",
        rulebook="148",
        level="district",
    )

    assert caught.value.field == "action"
    assert [type(e) for e in events] == [domain.CertificateExpired, domain.ProductCertified]
    assert later.certificates.live is not None and later.certificates.live.star == 3


def test_revoking_needs_a_live_certificate_and_ends_it() -> None:
    with pytest.raises(domain.RuleViolation):
        apply(empty(), action="revoke", grounds="quality_mismatch")
    state, _ = apply(empty())

    state, events = apply(
        state,
        action="revoke",
        grounds="quality_mismatch",
        decision_number="R/1",
        decision_date="2021-05-05",
    )

    assert [type(e) for e in events] == [domain.CertificateRevoked]
    assert state.certificates.live is None


def test_rows_are_applied_by_date_with_a_days_grant_before_its_nomination() -> None:
    rows = [
        parse(action="nominate", level="central", decision_number="N/1"),
        parse(decision_number="B", decision_date="2019-12-01", rulebook="1048"),
        parse(decision_number="A"),
    ]

    assert [r.decision_number for r in history.in_order(rows)] == ["B", "A", "N/1"]


def test_the_fingerprint_tells_a_repeat_from_a_clash() -> None:
    assert parse().fingerprint == parse().fingerprint
    assert parse().fingerprint != parse(star="3").fingerprint
    assert parse(score="78.5").score == Decimal("78.5")
