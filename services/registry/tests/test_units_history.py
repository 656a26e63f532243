"""Units as they were: the 2024 mergers and renamings, and registrations from 2018."""

from __future__ import annotations

from datetime import date

import pytest

from ocop_registry.domain import RuleViolation, UnitVersion, check_commune_valid_on, classification
from ocop_registry.domain.products import check_registered_on
from ocop_registry.units import load_dataset


def versions(code: str) -> list[UnitVersion]:
    units, successions = load_dataset()
    out = []
    for u in units:
        if u.level == "commune" and u.code == code:
            after = tuple(sorted(s.new.code for s in successions if s.old == u))
            out.append(UnitVersion(u.code, u.name, u.valid_from, u.valid_to, after, u.parent_code))
    return out


def test_a_commune_merged_in_2024_is_valid_until_its_end_and_then_names_its_successor() -> None:
    nguyen_trung_truc = versions("00010")

    assert check_commune_valid_on("00010", date(2018, 6, 1), nguyen_trung_truc).name == (
        "Nguyễn Trung Trực"
    )
    with pytest.raises(RuleViolation) as refused:
        check_commune_valid_on("00010", date(2025, 2, 1), nguyen_trung_truc)
    assert "00004" in refused.value.reason


def test_a_renamed_commune_has_its_old_name_until_2024_and_its_new_one_after() -> None:
    code = versions("00235")

    assert check_commune_valid_on("00235", date(2022, 1, 1), code).name == "Ngã Tư Sở"
    assert check_commune_valid_on("00235", date(2025, 3, 1), code).name == "Thịnh Quang"
    # And the unit whose name it took went into it.
    assert versions("00223")[0].successors == ("00235",)


def test_every_unit_that_ended_before_july_2025_went_into_a_unit_of_its_own_district() -> None:
    _, successions = load_dataset()
    early = [s for s in successions if s.old.valid_to == date(2024, 12, 31)]

    assert len({s.old.code for s in early}) == 53 + 33
    assert all(s.new.parent_code == s.old.parent_code for s in early)
    assert all(s.new.valid_on(date(2025, 1, 1)) for s in early)


def test_a_product_registered_before_1048_is_filed_under_the_1048_sets() -> None:
    day = date(2018, 11, 5)

    assert check_registered_on(day, today=date(2026, 1, 1)) == day
    assert classification.registered_before_classification(day)
    assert (
        classification.product_set_on("1048.food.grain", day).scheme is classification.Scheme.S1048
    )
    with pytest.raises(RuleViolation):
        classification.product_set_on("food.grain", day)
    assert not classification.registered_before_classification(date(2019, 8, 21))
