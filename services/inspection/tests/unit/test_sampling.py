"""Sampling by rule and by risk: coverage, reasons, and reproducibility from a seed."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from ocop_inspection import domain
from ocop_runtime.refusals import RuleViolation

AS_OF = date(2021, 10, 1)


def uid(n: int) -> UUID:
    return UUID(int=n)


def population(n: int) -> list[domain.Candidate]:
    """``n`` products, two per producer, certified 2017-2021 across six districts, with a
    spread of stars, inspections, expiries, findings and complaints."""
    out = []
    for i in range(n):
        certified = date(2017 + i % 5, 1 + i % 12, 1 + i % 28)
        out.append(
            domain.Candidate(
                product_id=uid(10_000 + i),
                producer_id=uid(1 + i // 2),
                unit=f"00{i % 6}",
                star=3 + i % 3,
                certified_on=certified,
                valid_until=certified + timedelta(days=3 * 365),
                last_inspected=None if i % 4 == 0 else AS_OF - timedelta(days=100 * (i % 7)),
                earlier_findings=i % 3,
                complaints=1 if i % 10 == 0 else 0,
            )
        )
    return out


def test_rule_draw_takes_everything_certified_in_the_years_and_units_and_says_why() -> None:
    people = population(200)
    drawn = domain.draw_by_rule(
        people, domain.RuleDraw(certified_from_year=2018, certified_to_year=2020), AS_OF
    )
    expected = {c.product_id for c in people if 2018 <= c.certified_on.year <= 2020}
    assert {d.product_id for d in drawn} == expected
    by_id = {c.product_id: c for c in people}
    assert all(
        d.reasons == (f"certified in {by_id[d.product_id].certified_on.year}",) for d in drawn
    )

    in_units = domain.draw_by_rule(people, domain.RuleDraw(units=("001", "003")), AS_OF)
    assert {d.product_id for d in in_units} == {
        c.product_id for c in people if c.unit in ("001", "003")
    }
    assert all(f"in unit {d.unit}" in d.reasons for d in in_units)


def test_rule_draw_refuses_years_the_wrong_way_round() -> None:
    with pytest.raises(RuleViolation) as refused:
        domain.draw_by_rule(
            [], domain.RuleDraw(certified_from_year=2021, certified_to_year=2018), AS_OF
        )
    assert refused.value.field == "certified_to_year"


def test_risk_score_adds_up_its_reasons() -> None:
    c = domain.Candidate(
        product_id=uid(1),
        producer_id=uid(2),
        unit="001",
        star=3,
        certified_on=date(2019, 1, 1),
        valid_until=AS_OF + timedelta(days=30),
        last_inspected=None,
        earlier_findings=5,
        complaints=1,
    )
    score, reasons = domain.risk_of(c, AS_OF)
    # 3★ 2 + never inspected 3 + ends within 180 days 2 + findings capped at 3 + a complaint 2
    assert score == 12
    assert reasons == (
        "3★, the lowest star",
        "never inspected",
        "certificate ends in 30 days",
        "5 earlier finding(s)",
        "1 complaint(s)",
    )
    calm = domain.Candidate(
        product_id=uid(3),
        producer_id=uid(2),
        unit="001",
        star=5,
        certified_on=date(2021, 1, 1),
        valid_until=date(2024, 1, 1),
        last_inspected=AS_OF - timedelta(days=30),
    )
    assert domain.risk_of(calm, AS_OF) == (0, ())


def test_a_risk_draw_is_reproducible_from_its_seed_and_differs_with_another() -> None:
    people = population(500)
    first = domain.draw_by_risk(people, domain.RiskDraw(size=40, seed=2021), AS_OF)
    again = domain.draw_by_risk(list(reversed(people)), domain.RiskDraw(size=40, seed=2021), AS_OF)
    other = domain.draw_by_risk(people, domain.RiskDraw(size=40, seed=7), AS_OF)
    assert len(first) == 40
    assert first == again  # the order of the population does not matter
    assert {d.product_id for d in first} != {d.product_id for d in other}
    assert all(d.reasons[0] == f"risk {d.risk}" for d in first)
    assert [d.risk for d in first] == sorted((d.risk for d in first), reverse=True)


def test_a_risk_draw_favours_risky_products() -> None:
    people = population(1000)
    risks = {c.product_id: domain.risk_of(c, AS_OF)[0] for c in people}
    mean_all = sum(risks.values()) / len(risks)
    drawn = domain.draw_by_risk(people, domain.RiskDraw(size=100, seed=1), AS_OF)
    mean_drawn = sum(d.risk for d in drawn) / len(drawn)
    assert mean_drawn > mean_all + 1


def test_a_risk_draw_keeps_to_its_units_and_size_bounds() -> None:
    people = population(120)
    drawn = domain.draw_by_risk(people, domain.RiskDraw(size=500, seed=3, units=("002",)), AS_OF)
    assert {d.unit for d in drawn} == {"002"}
    assert len(drawn) == sum(1 for c in people if c.unit == "002")
    with pytest.raises(RuleViolation) as refused:
        domain.draw_by_risk(people, domain.RiskDraw(size=0, seed=3), AS_OF)
    assert refused.value.field == "size"


def test_a_further_draw_adds_only_products_not_yet_sampled() -> None:
    people = population(30)
    drawn = domain.draw_by_rule(people, domain.RuleDraw(), AS_OF)
    already = {d.product_id for d in drawn[:10]}
    assert [d.product_id for d in domain.new_items(already, drawn)] == [
        d.product_id for d in drawn[10:]
    ]
