"""Council results: members' sheets -> average -> band -> star after the mandatory criteria."""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import date
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from ocop_evaluation.domain import (
    MemberScores,
    RulebookRef,
    RuleViolation,
    ScoreSheet,
    band,
    rulebook,
    rulebook_on,
    score_council,
    score_one_sheet,
)

CENT = Decimal("0.01")


def _fill(
    sheet: ScoreSheet, total: Decimal | str, zero: Collection[str] = ()
) -> dict[str, Decimal]:
    """Points that add up to ``total``, spread over every criterion except those in ``zero``."""
    target = Decimal(total)
    eligible = [c for c in sheet.criteria if not c.bonus and c.id not in zero]
    capacity = sum(c.max_points for c in eligible)
    assert target <= capacity
    given = {c.id: Decimal(0) for c in sheet.criteria if not c.bonus}
    for c in eligible:
        given[c.id] = (c.max_points * target / capacity).quantize(CENT, rounding=ROUND_DOWN)
    rest = target - sum(given.values())
    for c in eligible:
        step = min(c.max_points - given[c.id], rest)
        given[c.id] += step
        rest -= step
    assert rest == 0 and sum(given.values()) == target
    return given


def _sheet(rulebook_id: str, version: int, product_set: str) -> ScoreSheet:
    return rulebook(rulebook_id, version).sheet(product_set)


SHEETS = [
    ("1048", 1, "1048.food.grain"),
    ("1048", 2, "1048.food.grain"),
    ("1048", 2, "1048.tourism.rural"),
    ("148", 1, "food.grain"),
    ("148", 1, "tourism.community"),
    ("1489", 1, "handicrafts.fabric_garments"),
]
EDGES = [
    ("29.99", 1, None),
    ("30", 2, None),
    ("49.99", 2, None),
    ("50", 3, 3),
    ("69.99", 3, 3),
    ("70", 4, 4),
    ("89.99", 4, 4),
    ("90", 5, 5),
    ("100", 5, 5),
]
GOLDEN = [
    pytest.param(book, version, code, score, banded, star, id=f"{book}v{version}-{code}-{score}")
    for book, version, code in SHEETS
    for score, banded, star in EDGES
]


@pytest.mark.parametrize(("book", "version", "code", "score", "banded", "star"), GOLDEN)
def test_a_score_on_a_band_edge_gets_the_band_above_it(
    book: str, version: int, code: str, score: str, banded: int, star: int | None
) -> None:
    sheet = _sheet(book, version, code)

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, score))])

    assert result.score == Decimal(score)
    assert (result.band, result.star) == (banded, star)
    assert result.recognised is (star is not None)
    assert result.rulebook == RulebookRef(book, version)


@pytest.mark.parametrize(("book", "version", "code", "score", "banded", "star"), GOLDEN)
def test_the_council_score_is_the_average_of_the_members_totals(
    book: str, version: int, code: str, score: str, banded: int, star: int | None
) -> None:
    sheet = _sheet(book, version, code)
    spread = CENT if Decimal(score) < 100 else Decimal(0)
    low, high = Decimal(score) - spread, Decimal(score) + spread

    result = score_council(
        sheet,
        [MemberScores("m1", _fill(sheet, low)), MemberScores("m2", _fill(sheet, high))],
    )

    assert result.member_totals == {"m1": low, "m2": high}
    assert result.score == Decimal(score)
    assert (result.band, result.star) == (banded, star)


def test_three_members_totals_of_60_70_and_80_5_average_to_a_4_star_70_17() -> None:
    sheet = _sheet("148", 1, "food.tea")

    result = score_council(
        sheet, [MemberScores(f"m{i}", _fill(sheet, t)) for i, t in enumerate(("60", "70", "80.5"))]
    )

    assert result.score.quantize(CENT) == Decimal("70.17")
    assert result.star == 4


def test_float_points_are_read_exactly_so_29_99_stays_below_30() -> None:
    sheet = _sheet("148", 1, "food.tea")
    given = {k: float(v) for k, v in _fill(sheet, "29.99").items()}

    result = score_council(sheet, [MemberScores("m1", given)])

    assert result.score == Decimal("29.99")
    assert result.band == 1


def test_a_4_star_score_missing_a_4_star_criterion_is_rated_3_stars() -> None:
    sheet = _sheet("148", 1, "food.grain")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "80", zero={"C2.3"}))])

    assert (result.band, result.ceiling, result.star) == (4, 3, 3)
    assert result.missing == {4: ("C2.3",)}
    assert any("C2.3" in r and "4★" in r for r in result.reasons)


def test_a_5_star_score_missing_a_5_star_criterion_is_rated_4_stars() -> None:
    sheet = _sheet("1489", 1, "drinks.rice_spirit")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "95", zero={"C3.2"}))])

    assert (result.band, result.star) == (5, 4)


def test_a_4_star_score_missing_a_3_star_criterion_is_not_recognised() -> None:
    sheet = _sheet("148", 1, "food.grain")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "80", zero={"C2.1"}))])

    assert result.band == 4
    assert result.star is None
    assert not result.recognised
    assert any("C2.1" in r and "3★" in r for r in result.reasons)


def test_under_781_food_without_internal_control_is_not_recognised_but_a_handicraft_is() -> None:
    food = _sheet("1048", 2, "1048.food.processed_grain")
    craft = _sheet("1048", 2, "1048.souvenir.household_crafts")

    food_result = score_council(food, [MemberScores("m1", _fill(food, "75", zero={"C2.2"}))])
    craft_result = score_council(craft, [MemberScores("m1", _fill(craft, "75", zero={"C2.2"}))])

    assert food_result.star is None
    assert craft_result.star == 4


def test_under_148_a_handicraft_without_internal_control_is_not_recognised() -> None:
    craft = _sheet("148", 1, "handicrafts.household_decorative")

    result = score_council(craft, [MemberScores("m1", _fill(craft, "75", zero={"C2.2"}))])

    assert result.star is None


def test_a_tourism_service_needs_no_quality_declaration() -> None:
    sheet = _sheet("148", 1, "tourism.community")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "75", zero={"C2.1"}))])

    assert result.star == 4


def test_under_1048_before_781_no_criterion_is_mandatory() -> None:
    sheet = _sheet("1048", 1, "1048.food.grain")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "80", zero={"C2.1", "C2.2"}))])

    assert result.star == 4
    assert result.missing == {}


def test_the_781_amendment_makes_the_same_sheet_downgrade() -> None:
    sheet = _sheet("1048", 2, "1048.food.grain")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "80", zero={"C2.2"}))])

    assert result.star is None
    assert result.missing == {3: ("C2.2",)}


def test_a_mandatory_criterion_is_met_when_any_member_gave_it_points() -> None:
    sheet = _sheet("148", 1, "food.grain")
    with_it = _fill(sheet, "80")
    without = _fill(sheet, "80", zero={"C2.1"})

    result = score_council(sheet, [MemberScores("m1", with_it), MemberScores("m2", without)])

    assert result.criterion_averages["C2.1"] > 0
    assert result.star == 4


def test_a_criterion_mandatory_only_above_the_band_changes_nothing() -> None:
    sheet = _sheet("148", 1, "food.grain")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "60", zero={"C3.2"}))])

    assert (result.star, result.ceiling, result.reasons) == (3, 4, ())


def test_points_over_a_criterions_maximum_are_refused_naming_it_and_the_maximum() -> None:
    sheet = _sheet("148", 1, "food.grain")
    given = _fill(sheet, "60") | {"C2.1": Decimal("4.5")}

    with pytest.raises(RuleViolation) as refused:
        score_council(sheet, [MemberScores("m1", given)])

    assert refused.value.field == "sheets.m1.C2.1"
    assert "maximum of 4" in refused.value.reason
    assert "C2.1" in refused.value.reason


def test_points_for_a_criterion_not_on_the_sheet_are_refused() -> None:
    sheet = _sheet("148", 1, "food.grain")

    with pytest.raises(RuleViolation) as refused:
        score_council(sheet, [MemberScores("m1", _fill(sheet, "60") | {"D1.1": Decimal(1)})])

    assert refused.value.field == "sheets.m1.D1.1"


def test_a_sheet_with_an_unscored_criterion_is_refused() -> None:
    sheet = _sheet("148", 1, "food.grain")
    given = _fill(sheet, "60")
    del given["B2.3"]

    with pytest.raises(RuleViolation, match=r"B2\.3 are not scored"):
        score_council(sheet, [MemberScores("m1", given)])


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), True, "3"])
def test_points_that_are_not_a_non_negative_number_are_refused(bad: object) -> None:
    sheet = _sheet("148", 1, "food.grain")
    given: dict[str, object] = dict(_fill(sheet, "60")) | {"A1.1": bad}

    with pytest.raises(RuleViolation) as refused:
        score_council(sheet, [MemberScores("m1", given)])  # type: ignore[arg-type]

    assert refused.value.field == "sheets.m1.A1.1"


def test_a_council_without_score_sheets_is_refused() -> None:
    with pytest.raises(RuleViolation):
        score_council(_sheet("148", 1, "food.grain"), [])


def test_a_member_cannot_hand_in_two_sheets() -> None:
    sheet = _sheet("148", 1, "food.grain")
    one = MemberScores("m1", _fill(sheet, "60"))

    with pytest.raises(RuleViolation, match="more than one"):
        score_council(sheet, [one, one])


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ("0", 1),
        ("29.99", 1),
        ("30", 2),
        ("49.99", 2),
        ("50", 3),
        ("69.99", 3),
        ("70", 4),
        ("89.99", 4),
        ("90", 5),
        ("100", 5),
    ],
)
def test_the_star_bands_are_half_open(score: str, expected: int) -> None:
    assert band(Decimal(score)) == expected


def test_a_score_over_100_has_no_band() -> None:
    with pytest.raises(RuleViolation):
        band(Decimal("100.01"))


def test_the_sheet_in_force_on_the_submission_day_scores_the_product() -> None:
    sheet = rulebook_on(date(2023, 2, 24)).sheet("food.grain")

    result = score_council(sheet, [MemberScores("m1", _fill(sheet, "55"))])

    assert result.rulebook == RulebookRef("148", 1)


BONUS_RULEBOOK = """
id = "bonus"
version = 1
title = "bonus test"
in_force_from = 2030-01-01
classification = "bonus"
[split]
A = 40
B = 25
C = 35
[groups]
A1 = { vi = "A", en = "A" }
B1 = { vi = "B", en = "B" }
C1 = { vi = "C", en = "C" }
[sectors.x]
sheet = "main"
sets = ["x.one"]
[sheets.main]
criteria = [
  { id = "A1.1", max = 40, vi = "A", en = "A" },
  { id = "A1.2", max = 5, bonus = true, vi = "Khuyến khích", en = "Encouragement" },
  { id = "B1.1", max = 25, vi = "B", en = "B" },
  { id = "C1.1", max = 35, vi = "C", en = "C" },
]
[levels.city]
certifies = [3, 4, 5]
"""


def test_a_configured_bonus_counts_but_the_score_stays_out_of_100(tmp_path: Path) -> None:
    (tmp_path / "bonus.toml").write_text(BONUS_RULEBOOK, encoding="utf-8")
    sheet = rulebook_on(date(2030, 1, 1), tmp_path).sheet("x.one")
    full = {"A1.1": 40, "B1.1": 25, "C1.1": 35, "A1.2": 5}
    near = {"A1.1": 30, "B1.1": 25, "C1.1": 33, "A1.2": 3}

    capped = score_council(sheet, [MemberScores("m1", full)])
    lifted = score_council(sheet, [MemberScores("m1", near)])

    assert capped.member_totals["m1"] == 105
    assert capped.score == 100
    assert (lifted.score, lifted.star) == (91, 5)


def test_a_rulebook_may_ask_for_a_minimum_average_per_star(tmp_path: Path) -> None:
    (tmp_path / "minimum.toml").write_text(
        BONUS_RULEBOOK + '[mandatory.main]\n"C1.1" = { 3 = 10, 4 = 20 }\n', encoding="utf-8"
    )
    sheet = rulebook_on(date(2030, 1, 1), tmp_path).sheet("x.one")

    def council(c1: int) -> tuple[int, int | None]:
        result = score_council(sheet, [MemberScores("m1", {"A1.1": 40, "B1.1": 25, "C1.1": c1})])
        return result.band, result.star

    assert council(35) == (5, 5)
    assert council(15) == (4, 3)
    assert council(5) == (4, None)
    lowered = score_council(sheet, [MemberScores("m1", {"A1.1": 40, "B1.1": 25, "C1.1": 15})])
    assert lowered.missing == {4: ("C1.1",)}
    assert "at least 20 points for 4★" in lowered.reasons[0]


@pytest.mark.parametrize(
    ("marks", "problem"),
    [
        ('"C1.1" = { 3 = 20, 4 = 10 }', "cannot need fewer points"),
        ('"C1.1" = { 3 = 36 }', "asks more than 35 points"),
        ('"C1.1" = { 2 = 1 }', "is not a star"),
        ('"C1.1" = 6', "must be 3, 4 or 5"),
    ],
)
def test_a_malformed_minimum_is_refused_at_load(tmp_path: Path, marks: str, problem: str) -> None:
    (tmp_path / "bad.toml").write_text(
        BONUS_RULEBOOK + f"[mandatory.main]\n{marks}\n", encoding="utf-8"
    )

    with pytest.raises(ValueError, match=problem):
        rulebook_on(date(2030, 1, 1), tmp_path)


def _random_sheet(sheet: ScoreSheet, rng: random.Random) -> dict[str, Decimal]:
    """Any points within each criterion's maximum, bonuses left out now and then."""
    given = {}
    for c in sheet.criteria:
        if c.bonus and rng.random() < 0.5:
            continue
        given[c.id] = Decimal(rng.randrange(0, int(c.max_points * 4) + 1)) / 4
    return given


@pytest.mark.parametrize(("rulebook_id", "version", "product_set"), SHEETS)
def test_one_sheet_alone_scores_as_a_council_of_that_one_member(
    rulebook_id: str, version: int, product_set: str
) -> None:
    sheet = _sheet(rulebook_id, version, product_set)
    rng = random.Random(product_set)
    for _ in range(200):
        member = MemberScores("m1", _random_sheet(sheet, rng))

        alone = score_one_sheet(sheet, member)
        council = score_council(sheet, [member])

        assert alone.total == council.member_totals["m1"]
        assert (str(alone.score), alone.band) == (str(council.score), council.band)


def test_one_sheet_over_100_with_a_bonus_scores_100(tmp_path: Path) -> None:
    (tmp_path / "bonus.toml").write_text(BONUS_RULEBOOK, encoding="utf-8")
    sheet = rulebook_on(date(2030, 1, 1), tmp_path).sheet("x.one")
    full = {"A1.1": 40, "B1.1": 25, "C1.1": 35, "A1.2": 5}

    alone = score_one_sheet(sheet, MemberScores("m1", full))  # type: ignore[arg-type]

    assert (alone.total, alone.score, alone.band) == (105, 100, 5)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"C2.1": Decimal("4.5")}, "sheets.m1.C2.1", "maximum of 4"),
        ({"D1.1": Decimal(1)}, "sheets.m1.D1.1", "not a criterion"),
        ({"A1.1": -1}, "sheets.m1.A1.1", "negative"),
        ({"A1.1": "3"}, "sheets.m1.A1.1", "must be a number"),
        ({"B2.3": None}, "sheets.m1", "B2.3 are not scored"),
    ],
)
def test_one_sheet_alone_is_refused_as_the_council_refuses_it(
    change: dict[str, object], field: str, reason: str
) -> None:
    sheet = _sheet("148", 1, "food.grain")
    given: dict[str, object] = dict(_fill(sheet, "60")) | change
    given = {k: v for k, v in given.items() if v is not None}
    member = MemberScores("m1", given)  # type: ignore[arg-type]

    for score in (lambda: score_one_sheet(sheet, member), lambda: score_council(sheet, [member])):
        with pytest.raises(RuleViolation) as refused:
            score()
        assert refused.value.field == field
        assert reason in refused.value.reason
