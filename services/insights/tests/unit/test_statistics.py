"""The statistics' pure rules: rows in a fixed order with every measure, labels, totals, the day
of a fact in Hanoi, the tier of units by date, numbers as Hanoi's reports write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ocop_insights.domain.facts import local_date, unit_tier
from ocop_insights.domain.statistics import (
    BY_NAME,
    DEFINITIONS,
    assemble,
    set_label,
    thousands,
    unit_label,
)
from ocop_insights.store.statistics import COMPUTE


def test_every_statistic_has_a_computation_and_a_unique_topic_key() -> None:
    assert {d.name for d in DEFINITIONS} == set(COMPUTE)
    keys = [d.key for d in DEFINITIONS]
    assert len(keys) == len(set(keys))
    assert BY_NAME["products.by_star"].key == "products.by_star.city"


def test_rows_keep_the_fixed_order_fill_missing_measures_and_sum_totals() -> None:
    stat = assemble(BY_NAME["products.by_star"], date(2021, 12, 31), {"4": {"products": 1098}})
    assert [r.key for r in stat.rows] == ["3", "4", "potential_5", "5"]
    assert stat.rows[0].values == {"products": 0, "producers": 0}
    assert stat.rows[2].label == "Tiềm năng 5 sao"
    assert stat.totals == {"products": 1098, "producers": 0}


def test_given_totals_win_over_sums_and_unknown_keys_follow_sorted() -> None:
    definition = BY_NAME["products.by_legal_form"]
    stat = assemble(
        definition,
        date(2021, 1, 1),
        {"zzz": {"products": 1}, "unknown": {"products": 2}, "enterprise": {"products": 3}},
        {"producers": 1},
    )
    keys = [r.key for r in stat.rows]
    assert keys[:4] == ["enterprise", "cooperative", "cooperative_group", "household_business"]
    assert keys[4:] == ["unknown", "zzz"]
    assert stat.rows[4].label == "Chưa rõ"
    assert stat.totals == {"products": 6, "producers": 1}


def test_the_day_of_a_fact_is_hanois() -> None:
    assert local_date(datetime(2021, 12, 31, 17, 30, tzinfo=UTC)) == date(2022, 1, 1)
    assert local_date(datetime(2021, 12, 31, 16, 59)) == date(2021, 12, 31)


def test_units_are_old_districts_before_the_reorganisation_and_communes_after() -> None:
    assert unit_tier(date(2025, 6, 30)) == "district"
    assert unit_tier(date(2025, 7, 1)) == "commune"
    assert unit_label("district:001") == "Ba Đình (cũ)"
    assert unit_label("commune:00004") == "Ba Đình"
    assert unit_label("commune:99999") is None
    assert set_label("1048.food.tea") is not None


def test_counts_are_written_with_a_dot_between_thousands() -> None:
    assert thousands(1649) == "1.649"
    assert thousands(12000) == "12.000"
    assert thousands(534) == "534"
