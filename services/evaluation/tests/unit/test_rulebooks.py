"""Rulebooks as versioned data: which one is in force, and that every sheet adds up."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ocop_evaluation.domain import (
    Level,
    MemberScores,
    Part,
    RulebookRef,
    RuleViolation,
    load_rulebooks,
    may_award,
    rulebook,
    rulebook_on,
    rulebooks,
    score_council,
    score_sheet,
)
from ocop_evaluation.domain.rulebooks import DATA

ROOT = Path(__file__).resolve().parents[4]
REGISTRY_CLASSIFICATION = ROOT / "services/registry/data/classification"

MINIMAL = """
id = "{id}"
version = 1
title = "{id}/QĐ-TTg"
in_force_from = {in_force_from}
classification = "{id}"

[split]
A = 40
B = 25
C = 35

[groups]
A1 = {{ vi = "Tổ chức sản xuất", en = "Production organisation" }}
B1 = {{ vi = "Tiếp thị", en = "Marketing" }}
C1 = {{ vi = "Chất lượng", en = "Quality" }}

[sectors.x]
sheet = "main"
sets = ["x.one"]

[sheets.main]
criteria = [
  {{ id = "A1.1", max = {a_max}, vi = "Tổ chức", en = "Organisation" }},
  {{ id = "A1.2", max = {bonus_max}, bonus = true, vi = "Khuyến khích", en = "Encouragement" }},
  {{ id = "B1.1", max = 25, vi = "Tiếp thị", en = "Marketing" }},
  {{ id = "C1.1", max = 35, vi = "Chất lượng", en = "Quality" }},
]

[mandatory.main]
"{mandatory}" = 3

[levels.city]
certifies = [3, 4]
nominates_to = "central"
nominates_from_star = 5

[levels.central]
certifies = [5]
failure_keeps_lower_star = true
"""


def _write_minimal(directory: Path, name: str = "x.toml", **overrides: object) -> Path:
    values: dict[str, object] = {
        "id": "2030",
        "in_force_from": "2030-01-01",
        "a_max": 40,
        "bonus_max": 0,
        "mandatory": "C1.1",
    }
    values.update(overrides)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(MINIMAL.format(**values), encoding="utf-8")
    return path


def _registry_sets(scheme: str) -> list[str]:
    with (REGISTRY_CLASSIFICATION / f"product_sets_{scheme}.csv").open(encoding="utf-8") as f:
        return [row["code"] for row in csv.DictReader(f)]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 8, 21), RulebookRef("1048", 1)),
        (date(2020, 6, 7), RulebookRef("1048", 1)),
        (date(2020, 6, 8), RulebookRef("1048", 2)),
        (date(2023, 2, 23), RulebookRef("1048", 2)),
        (date(2023, 2, 24), RulebookRef("148", 1)),
        (date(2025, 7, 5), RulebookRef("148", 1)),
        (date(2025, 7, 6), RulebookRef("1489", 1)),
        (date(2031, 1, 1), RulebookRef("1489", 1)),
    ],
)
def test_the_rulebook_in_force_is_chosen_by_the_submission_date(
    day: date, expected: RulebookRef
) -> None:
    assert rulebook_on(day).ref == expected


def test_importing_the_domain_reads_no_rulebook() -> None:
    probe = "import ocop_evaluation.domain as d; print(d.load_rulebooks.cache_info().currsize)"

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.strip() == "0"


def test_a_submission_before_21_august_2019_has_no_rulebook() -> None:
    with pytest.raises(RuleViolation) as refused:
        rulebook_on(date(2019, 8, 20))

    assert refused.value.field == "submitted_on"
    assert "2019-08-21" in refused.value.reason


@pytest.mark.parametrize(
    ("rulebook_id", "version", "split"),
    [
        ("1048", 1, (35, 25, 40)),
        ("1048", 2, (35, 25, 40)),
        ("148", 1, (40, 25, 35)),
        ("1489", 1, (40, 25, 35)),
    ],
)
def test_every_sheet_of_a_rulebook_sums_to_its_split_and_to_100(
    rulebook_id: str, version: int, split: tuple[int, int, int]
) -> None:
    book = rulebook(rulebook_id, version)

    assert tuple(book.split[p] for p in Part) == split
    for sheet in book.sheets.values():
        assert tuple(sheet.part_max(p) for p in Part) == split, sheet.product_set
        assert sum(c.max_points for c in sheet.criteria if not c.bonus) == 100


def test_every_criterion_belongs_to_a_declared_group_of_its_part() -> None:
    for book in rulebooks():
        for sheet in book.sheets.values():
            for criterion in sheet.criteria:
                assert criterion.group in book.groups
                assert criterion.id.startswith(criterion.group + ".")
                assert criterion.group.startswith(criterion.part.value)


def test_every_product_set_of_the_registry_has_a_sheet_under_each_rulebook_of_its_scheme() -> None:
    for book in rulebooks():
        assert sorted(book.product_sets) == sorted(_registry_sets(book.classification))


def test_1489_keeps_the_criteria_and_mandatory_marks_of_148() -> None:
    r148, r1489 = rulebook("148"), rulebook("1489")

    assert r1489.criteria_from == r148.ref
    for code, sheet in r148.sheets.items():
        assert r1489.sheet(code).criteria == sheet.criteria
    assert r1489.level(Level.DISTRICT) is None
    assert r1489.level(Level.COMMUNE) is not None


def test_1048_before_781_has_no_mandatory_criteria() -> None:
    for sheet in rulebook("1048", 1).sheets.values():
        assert sheet.mandatory_for(5) == ()


@pytest.mark.parametrize(("rulebook_id", "version"), [("1048", 2), ("148", 1), ("1489", 1)])
def test_every_good_needs_a_quality_declaration_for_3_stars(rulebook_id: str, version: int) -> None:
    for sheet in rulebook(rulebook_id, version).sheets.values():
        names = {c.name_en for c in sheet.mandatory_for(3)}
        if sheet.sector.endswith("tourism"):
            assert names == set()
        else:
            assert "Published standard or quality declaration" in names, sheet.product_set


def test_food_needs_internal_control_and_traceability_for_3_stars_under_781() -> None:
    for code, sheet in rulebook("1048", 2).sheets.items():
        required = {c.name_en for c in sheet.mandatory_for(3)}
        is_food = sheet.sector in ("1048.food", "1048.drinks")
        assert ("Internal control and traceability" in required) is is_food, code


@pytest.mark.parametrize("rulebook_id", ["148", "1489"])
def test_every_good_needs_internal_control_and_traceability_for_3_stars_under_148(
    rulebook_id: str,
) -> None:
    for code, sheet in rulebook(rulebook_id).sheets.items():
        required = {c.name_en for c in sheet.mandatory_for(3)}
        is_good = sheet.sector != "tourism"
        assert ("Internal control and traceability" in required) is is_good, code


def test_4_and_5_stars_add_mandatory_criteria_to_those_of_3_stars() -> None:
    sheet = score_sheet("food.grain", date(2024, 1, 1))
    three = {c.id for c in sheet.mandatory_for(3)}
    four = {c.id for c in sheet.mandatory_for(4)}
    five = {c.id for c in sheet.mandatory_for(5)}

    assert three < four < five
    assert {c.name_en for c in sheet.mandatory_for(4) if c.id not in three} == {
        "Business growth",
        "Intellectual-property protection (trademark, geographical indication)",
        "Quality management system (ISO, HACCP, VietGAP…)",
    }


def test_fresh_products_are_scored_on_the_origin_of_the_product_under_148() -> None:
    fresh = score_sheet("food.fresh_produce", date(2024, 1, 1)).criterion("A1.1")
    processed = score_sheet("food.processed_grain", date(2024, 1, 1)).criterion("A1.1")

    assert fresh is not None and processed is not None
    assert fresh.name_en.startswith("Origin of the product")
    assert processed.name_en == "Origin of raw materials"


def test_the_encouragement_for_women_and_minorities_is_one_point_of_part_a_under_148() -> None:
    for sheet in rulebook("148").sheets.values():
        encouragement = sheet.criterion("A3.5")
        assert encouragement is not None and not encouragement.bonus
        assert encouragement.max_points == 1 and encouragement.part is Part.A
    assert all(not c.bonus for b in rulebooks() for s in b.sheets.values() for c in s.criteria)


def test_an_unknown_product_set_is_refused_naming_the_field() -> None:
    with pytest.raises(RuleViolation) as refused:
        score_sheet("food.caviar", date(2024, 1, 1))

    assert refused.value.field == "product_set"
    assert "'food.caviar'" in refused.value.reason


def test_a_1048_code_submitted_under_148_is_refused_with_a_hint() -> None:
    with pytest.raises(RuleViolation) as refused:
        score_sheet("1048.food.grain", date(2024, 1, 1))

    assert "1048/QĐ-TTg" in refused.value.reason


def test_an_unknown_rulebook_version_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        rulebook("148", 7)

    assert refused.value.field == "rulebook"


def test_without_a_version_the_highest_version_of_a_rulebook_is_returned() -> None:
    assert rulebook("1048").version == 2


def test_a_new_regime_is_a_data_file_and_needs_no_code(tmp_path: Path) -> None:
    for path in DATA.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "26-2026.toml").write_text(
        "\n".join(
            [
                'id = "26"',
                "version = 1",
                'title = "26/2026/QĐ-TTg"',
                "in_force_from = 2026-05-22",
                "[criteria_from]",
                'id = "148"',
                "version = 1",
                "[mandatory.goods]",
                '"C2.4" = 4',
                "[levels.city]",
                "certifies = [3, 4]",
                'nominates_to = "central"',
                "nominates_from_star = 5",
                "[levels.central]",
                "certifies = [5]",
                "failure_keeps_lower_star = true",
            ]
        ),
        encoding="utf-8",
    )

    before, after = date(2026, 5, 21), date(2026, 5, 22)
    assert rulebook_on(before, tmp_path).ref == RulebookRef("1489", 1)
    assert rulebook_on(after, tmp_path).ref == RulebookRef("26", 1)
    sheet = score_sheet("herbal.cosmetics", after, tmp_path)
    assert {c.id for c in sheet.mandatory_for(4)} == {
        "C2.1",
        "C2.2",
        "B2.3",
        "A3.4",
        "B1.4",
        "C2.3",
        "C2.4",
    }
    full = MemberScores("m1", {c.id: c.max_points for c in sheet.criteria})
    assert score_council(sheet, [full]).rulebook == RulebookRef("26", 1)
    assert may_award(Level.CITY, 3, after, tmp_path)
    assert not may_award(Level.COMMUNE, 3, after, tmp_path)


def test_a_rulebook_with_its_own_sheets_loads_from_any_directory(tmp_path: Path) -> None:
    _write_minimal(tmp_path)

    book = rulebook_on(date(2030, 1, 1), tmp_path)

    assert book.ref == RulebookRef("2030", 1)
    assert [c.id for c in book.sheet("x.one").mandatory_for(3)] == ["C1.1"]


def test_a_sheet_whose_parts_do_not_add_up_is_refused_at_load(tmp_path: Path) -> None:
    _write_minimal(tmp_path, a_max=39)

    with pytest.raises(ValueError, match="part A of sheet main sums to 39 points, not 40"):
        load_rulebooks(tmp_path)


def test_a_mandatory_mark_on_an_unknown_criterion_is_refused_at_load(tmp_path: Path) -> None:
    _write_minimal(tmp_path, mandatory="C9.9")

    with pytest.raises(ValueError, match="unknown criteria"):
        load_rulebooks(tmp_path)


def test_a_bonus_criterion_cannot_be_mandatory(tmp_path: Path) -> None:
    _write_minimal(tmp_path, mandatory="A1.2")

    with pytest.raises(ValueError, match="cannot be mandatory"):
        load_rulebooks(tmp_path)


def test_two_rulebooks_in_force_from_the_same_day_are_refused_at_load(tmp_path: Path) -> None:
    _write_minimal(tmp_path, "a.toml", id="2030")
    _write_minimal(tmp_path, "b.toml", id="2031")

    with pytest.raises(ValueError, match="both come into force"):
        load_rulebooks(tmp_path)


def test_a_correction_supersedes_the_version_it_corrects_which_stays_readable(
    tmp_path: Path,
) -> None:
    _write_minimal(tmp_path, "v1.toml")
    corrected = _write_minimal(tmp_path, "v2.toml", a_max=30, bonus_max=0)
    corrected.write_text(
        corrected.read_text(encoding="utf-8")
        .replace("version = 1", "version = 2")
        .replace(
            '{ id = "B1.1", max = 25',
            '{ id = "A1.3", max = 10, vi = "Mới", en = "New" },\n  { id = "B1.1", max = 25',
        ),
        encoding="utf-8",
    )

    in_force = rulebook_on(date(2030, 6, 1), tmp_path)

    assert in_force.ref == RulebookRef("2030", 2)
    assert in_force.sheet("x.one").criterion("A1.3") is not None
    assert rulebook("2030", 1, tmp_path).sheet("x.one").criterion("A1.3") is None


def test_a_level_that_forwards_to_a_missing_level_is_refused_at_load(tmp_path: Path) -> None:
    path = _write_minimal(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[levels.district]\ncertifies = []\nforwards_to = "province"\nforwards_from_star = 3\n',
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match="forwards_to must name another level"):
        load_rulebooks(tmp_path)
