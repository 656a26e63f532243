"""The modelling choices made settings, and the change of regime in July 2025: conflicts of
interest, a 148 dossier the city finds worth 3★, and dossiers the end of the district tier
would otherwise strand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ocop_evaluation.domain import (
    CommuneStep,
    CouncilMember,
    FlagKind,
    ForwardedShortOfCity,
    Level,
    MemberScores,
    OutcomeKind,
    RuleChoices,
    conflicts_of_interest,
    districts_exist,
    entry_level,
    may_award,
    outcome_for,
    rulebook,
    score_council,
)


def _result(rulebook_id: str, total: int) -> object:
    honey = "1048.food.honey" if rulebook_id == "1048" else "food.honey_other"
    sheet = rulebook(rulebook_id).sheet(honey)
    share = Decimal(total) / 100
    points = {c.id: c.max_points * share for c in sheet.criteria if not c.bonus}
    return score_council(sheet, [MemberScores("m1", points)])


# --- 5. conflicts of interest -------------------------------------------------------------------


def test_a_member_tied_to_the_producer_is_flagged_at_every_level() -> None:
    members = [CouncilMember("m1", "001", frozenset({"producer-7"})), CouncilMember("m2", "001")]
    flags = conflicts_of_interest(members, (), producer="producer-7")
    assert [(f.kind, f.member_id) for f in flags] == [(FlagKind.CONFLICT_OF_INTEREST, "m1")]
    assert "tie" in flags[0].detail


def test_a_district_council_of_district_officials_raises_no_flag_by_default() -> None:
    choices = RuleChoices()
    members = [CouncilMember(f"m{i}", "001") for i in range(3)]
    units = ("00004", "001") if choices.unit_conflicts_at(Level.DISTRICT) else ()
    assert conflicts_of_interest(members, units, producer="producer-7") == ()
    assert choices.unit_conflicts_at(Level.CITY)
    assert len(conflicts_of_interest(members, ("00004", "001"), producer="producer-7")) == 3


def test_the_unit_rule_is_a_setting_of_the_levels_it_applies_at() -> None:
    everywhere = RuleChoices(unit_conflict_levels=frozenset(Level))
    nowhere = RuleChoices(unit_conflict_levels=frozenset())
    assert everywhere.unit_conflicts_at(Level.DISTRICT)
    assert not nowhere.unit_conflicts_at(Level.CITY)


# --- 3. a 148 dossier forwarded by the district, scored 50-69 at city ------------------------------


@pytest.mark.parametrize(
    ("choice", "kind", "star", "certified_at"),
    [
        (ForwardedShortOfCity.DISTRICT_STAR, OutcomeKind.CERTIFY, 3, Level.DISTRICT),
        (ForwardedShortOfCity.CITY_STAR, OutcomeKind.CERTIFY, 3, Level.CITY),
        (ForwardedShortOfCity.NOT_RECOGNISED, OutcomeKind.NOT_RECOGNISED, None, Level.CITY),
    ],
)
def test_a_forwarded_148_dossier_worth_3_stars_at_city_follows_the_setting(
    choice: ForwardedShortOfCity, kind: OutcomeKind, star: int | None, certified_at: Level
) -> None:
    found = outcome_for(
        _result("148", 62),  # type: ignore[arg-type]
        Level.CITY,
        came_from_below=True,
        short_of_city=choice,
    )
    assert (found.kind, found.star, found.level) == (kind, star, certified_at)
    if kind is OutcomeKind.CERTIFY:
        assert found.authority is Level.DISTRICT
        assert may_award(found.authority, 3, date(2024, 5, 1))
        assert choice.value in found.reason


def test_a_forwarded_148_dossier_below_50_at_city_is_not_recognised_whatever_the_setting() -> None:
    found = outcome_for(
        _result("148", 45),  # type: ignore[arg-type]
        Level.CITY,
        came_from_below=True,
        short_of_city=ForwardedShortOfCity.DISTRICT_STAR,
    )
    assert found.kind is OutcomeKind.NOT_RECOGNISED


def test_a_forwarded_148_dossier_worth_4_stars_at_city_is_certified_there() -> None:
    found = outcome_for(_result("148", 78), Level.CITY, came_from_below=True)  # type: ignore[arg-type]
    assert (found.kind, found.star, found.level, found.power) == (
        OutcomeKind.CERTIFY,
        4,
        Level.CITY,
        None,
    )


# --- 6. the end of the district tier ----------------------------------------------------------


def test_districts_exist_until_30_june_2025() -> None:
    assert districts_exist(date(2025, 6, 30)) and not districts_exist(date(2025, 7, 1))


@pytest.mark.parametrize(
    ("regime", "day", "level"),
    [
        ("148", date(2025, 6, 30), Level.DISTRICT),
        ("148", date(2025, 7, 1), Level.CITY),  # 148 still in force, but no districts
        ("148", date(2025, 7, 5), Level.CITY),
        ("148", date(2025, 9, 1), Level.CITY),  # filed under 148, arriving after the change
        ("1048", date(2022, 10, 1), Level.DISTRICT),
        ("1489", date(2025, 7, 6), Level.CITY),
        ("26/2026", date(2026, 6, 1), None),
    ],
)
def test_a_dossier_enters_at_the_level_that_exists_on_its_day(
    regime: str, day: date, level: Level | None
) -> None:
    assert entry_level(regime, day) is level


def test_under_1489_a_required_commune_step_holds_the_dossier_at_the_commune() -> None:
    required = RuleChoices(commune_step=CommuneStep.REQUIRED)
    assert entry_level("1489", date(2025, 8, 1), required) is Level.COMMUNE
    assert entry_level("148", date(2025, 8, 1), required) is Level.CITY


def test_a_148_dossier_no_district_acted_on_gets_the_districts_3_stars_at_city() -> None:
    found = outcome_for(_result("148", 60), Level.CITY, came_from_below=False)  # type: ignore[arg-type]
    assert (found.kind, found.star, found.level, found.authority) == (
        OutcomeKind.CERTIFY,
        3,
        Level.CITY,
        Level.DISTRICT,
    )
    assert "had ended" in found.reason
    four = outcome_for(_result("148", 80), Level.CITY, came_from_below=False)  # type: ignore[arg-type]
    assert (four.star, four.power) == (4, None)


def test_under_1048_and_1489_the_city_rules_are_unchanged_by_how_the_dossier_came() -> None:
    for rulebook_id in ("1048", "1489"):
        for came in (True, False):
            found = outcome_for(_result(rulebook_id, 60), Level.CITY, came_from_below=came)  # type: ignore[arg-type]
            assert (found.kind, found.star, found.power) == (OutcomeKind.CERTIFY, 3, None)
