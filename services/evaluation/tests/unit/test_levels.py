"""Which level may award which star, and what a score leads to at a level, by regime and date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ocop_evaluation.domain import (
    Level,
    MemberScores,
    OutcomeKind,
    RulebookRef,
    RuleViolation,
    may_award,
    outcome_at,
    outcome_of,
    rulebook,
    score_council,
)

UNDER_1048 = date(2021, 5, 1)
UNDER_148 = date(2024, 5, 1)
UNDER_1489 = date(2025, 9, 1)


@pytest.mark.parametrize(
    ("level", "day", "allowed"),
    [
        (Level.DISTRICT, UNDER_1048, set()),
        (Level.CITY, UNDER_1048, {3, 4}),
        (Level.CENTRAL, UNDER_1048, {5}),
        (Level.DISTRICT, UNDER_148, {3}),
        (Level.CITY, UNDER_148, {4}),
        (Level.CENTRAL, UNDER_148, {5}),
        (Level.COMMUNE, UNDER_1489, set()),
        (Level.CITY, UNDER_1489, {3, 4}),
        (Level.CENTRAL, UNDER_1489, {5}),
    ],
)
def test_each_level_awards_only_its_stars_under_each_regime(
    level: Level, day: date, allowed: set[int]
) -> None:
    assert {star for star in (1, 2, 3, 4, 5) if may_award(level, star, day)} == allowed


def test_the_district_certifies_3_stars_until_5_july_2025_and_not_from_6_july() -> None:
    before = may_award(Level.DISTRICT, 3, date(2025, 7, 5))
    after = may_award(Level.DISTRICT, 3, date(2025, 7, 6))

    assert before and before.rulebook == RulebookRef("148", 1)
    assert not after
    assert after.reason is not None and "no district level" in after.reason


def test_the_commune_has_no_part_before_1489() -> None:
    permission = may_award(Level.COMMUNE, 3, date(2025, 7, 5))

    assert not permission
    assert permission.reason is not None and "no commune level" in permission.reason


def test_a_refusal_says_which_stars_the_level_certifies() -> None:
    permission = may_award(Level.CITY, 3, UNDER_148)

    assert permission.reason is not None and "certifies only 4★" in permission.reason


def test_a_level_that_awards_nothing_says_it_forwards() -> None:
    permission = may_award(Level.DISTRICT, 3, UNDER_1048)

    assert permission.reason is not None and "forwards them to the city level" in permission.reason


def test_no_level_ever_certifies_1_or_2_stars() -> None:
    for day in (UNDER_1048, UNDER_148, UNDER_1489):
        for level in Level:
            assert not may_award(level, 2, day)
            assert not may_award(level, 1, day)


def test_an_unknown_level_is_refused_naming_the_field() -> None:
    with pytest.raises(RuleViolation) as refused:
        may_award("province", 4, UNDER_148)  # type: ignore[arg-type]

    assert refused.value.field == "level"


def test_a_star_outside_1_to_5_is_refused() -> None:
    with pytest.raises(RuleViolation):
        may_award(Level.CITY, 6, UNDER_148)


@pytest.mark.parametrize(
    ("level", "day", "score", "kind", "star", "to"),
    [
        # 1048: the district scores and forwards 50 and above.
        (Level.DISTRICT, UNDER_1048, "49.99", OutcomeKind.NOT_RECOGNISED, None, None),
        (Level.DISTRICT, UNDER_1048, "50", OutcomeKind.FORWARD, None, Level.CITY),
        (Level.DISTRICT, UNDER_1048, "95", OutcomeKind.FORWARD, None, Level.CITY),
        (Level.CITY, UNDER_1048, "50", OutcomeKind.CERTIFY, 3, None),
        (Level.CITY, UNDER_1048, "89.99", OutcomeKind.CERTIFY, 4, None),
        (Level.CITY, UNDER_1048, "90", OutcomeKind.NOMINATE, 4, Level.CENTRAL),
        # 148: the district certifies 3 stars and forwards 70 and above; the city certifies 4.
        (Level.DISTRICT, UNDER_148, "49.99", OutcomeKind.NOT_RECOGNISED, None, None),
        (Level.DISTRICT, UNDER_148, "69.99", OutcomeKind.CERTIFY, 3, None),
        (Level.DISTRICT, UNDER_148, "70", OutcomeKind.FORWARD, None, Level.CITY),
        (Level.CITY, UNDER_148, "69.99", OutcomeKind.NOT_RECOGNISED, None, None),
        (Level.CITY, UNDER_148, "70", OutcomeKind.CERTIFY, 4, None),
        (Level.CITY, UNDER_148, "90", OutcomeKind.NOMINATE, 4, Level.CENTRAL),
        # 1489: the commune pre-assesses and forwards; the city certifies 3 and 4 stars.
        (Level.COMMUNE, UNDER_1489, "20", OutcomeKind.FORWARD, None, Level.CITY),
        (Level.CITY, UNDER_1489, "29.99", OutcomeKind.NOT_RECOGNISED, None, None),
        (Level.CITY, UNDER_1489, "50", OutcomeKind.CERTIFY, 3, None),
        (Level.CITY, UNDER_1489, "70", OutcomeKind.CERTIFY, 4, None),
        (Level.CITY, UNDER_1489, "100", OutcomeKind.NOMINATE, 4, Level.CENTRAL),
        # Central awards 5 stars or leaves the provincial star.
        (Level.CENTRAL, UNDER_1048, "90", OutcomeKind.CERTIFY, 5, None),
        (Level.CENTRAL, UNDER_148, "89.99", OutcomeKind.KEEP_LOWER_STAR, None, None),
        (Level.CENTRAL, UNDER_1489, "90", OutcomeKind.CERTIFY, 5, None),
    ],
)
def test_what_a_score_leads_to_at_a_level(
    level: Level, day: date, score: str, kind: OutcomeKind, star: int | None, to: Level | None
) -> None:
    outcome = outcome_at(level, day, Decimal(score))

    assert (outcome.kind, outcome.star, outcome.to_level) == (kind, star, to)
    assert outcome.reason


def test_the_148_district_certifies_3_stars_when_a_4_star_criterion_is_missing() -> None:
    outcome = outcome_at(Level.DISTRICT, UNDER_148, Decimal(80), ceiling=3)

    assert (outcome.kind, outcome.star, outcome.earned) == (OutcomeKind.CERTIFY, 3, 3)


def test_a_90_point_product_missing_a_5_star_criterion_is_certified_4_stars_not_nominated() -> None:
    outcome = outcome_at(Level.CITY, UNDER_1489, Decimal(92), ceiling=4)

    assert (outcome.kind, outcome.star) == (OutcomeKind.CERTIFY, 4)


def test_a_product_missing_a_3_star_criterion_is_not_forwarded_by_the_1048_district() -> None:
    outcome = outcome_at(Level.DISTRICT, UNDER_1048, Decimal(75), ceiling=2)

    assert outcome.kind is OutcomeKind.NOT_RECOGNISED
    assert "mandatory criterion for 3★" in outcome.reason


def test_the_148_city_explains_that_it_does_not_certify_3_stars() -> None:
    outcome = outcome_at(Level.CITY, UNDER_148, Decimal(65))

    assert outcome.kind is OutcomeKind.NOT_RECOGNISED
    assert "does not certify" in outcome.reason


def test_asking_about_the_district_after_1489_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        outcome_at(Level.DISTRICT, UNDER_1489, Decimal(60))

    assert refused.value.field == "level"


def test_a_council_result_is_judged_under_the_rulebook_it_was_scored_on() -> None:
    sheet = rulebook("148").sheet("food.grain")
    points = {c.id: c.max_points for c in sheet.criteria}
    points["C3.2"] = Decimal(0)  # a 5★ criterion: the city certifies 4★ instead of nominating
    result = score_council(sheet, [MemberScores("m1", points)])

    outcome = outcome_of(result, Level.CITY)

    assert (result.score, result.ceiling) == (97, 4)
    assert (outcome.kind, outcome.star, outcome.rulebook) == (
        OutcomeKind.CERTIFY,
        4,
        RulebookRef("148", 1),
    )
