"""Regimes by date and the two classification schemes shipped as data."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from ocop_registry.domain.classification import (
    ProductSet,
    Regime,
    Scheme,
    product_set,
    product_set_on,
    product_sets,
    regime_on,
    scheme_of,
    sectors,
    statistics_sector,
)
from ocop_registry.domain.common import RuleViolation

URL_SAFE_CODE = re.compile(r"[a-z0-9][a-z0-9._]*")


def test_a_product_submitted_on_21_august_2019_is_classified_under_1048() -> None:
    assert regime_on(date(2019, 8, 21)) is Regime.R1048


def test_a_product_registered_before_24_february_2023_is_classified_under_1048() -> None:
    assert regime_on(date(2023, 2, 23)) is Regime.R1048


def test_decision_148_applies_from_the_day_it_was_signed() -> None:
    assert regime_on(date(2023, 2, 24)) is Regime.R148


def test_decision_148_still_applies_on_5_july_2025() -> None:
    assert regime_on(date(2025, 7, 5)) is Regime.R148


def test_decision_1489_applies_from_6_july_2025_onwards() -> None:
    assert regime_on(date(2025, 7, 6)) is Regime.R1489
    assert regime_on(date(2030, 1, 1)) is Regime.R1489


def test_a_date_before_the_first_decision_is_refused_naming_the_submission_date() -> None:
    with pytest.raises(RuleViolation) as refused:
        regime_on(date(2019, 8, 20))

    assert refused.value.field == "submitted_on"
    assert "2019-08-20" in refused.value.reason
    assert "1048" in refused.value.reason


def test_decision_1489_classifies_products_as_148_does() -> None:
    assert scheme_of(Regime.R1048) is Scheme.S1048
    assert scheme_of(Regime.R148) is Scheme.S148
    assert scheme_of(Regime.R1489) is Scheme.S148


def test_148_has_6_sectors_17_groups_and_26_product_sets() -> None:
    sets = product_sets(Scheme.S148)

    assert [s.code for s in sectors(Scheme.S148)] == [
        "food",
        "drinks",
        "herbal",
        "handicrafts",
        "ornamentals",
        "tourism",
    ]
    assert len({s.group_code for s in sets}) == 17
    assert len(sets) == 26


def test_148_sets_split_13_food_4_drinks_3_herbal_2_handicraft_3_ornamental_1_tourism() -> None:
    per_sector = Counter(s.sector_code for s in product_sets(Scheme.S148))

    assert per_sector == {
        "food": 13,
        "drinks": 4,
        "herbal": 3,
        "handicrafts": 2,
        "ornamentals": 3,
        "tourism": 1,
    }


def test_1048_has_the_6_sectors_of_hanoi_statistics_before_2023() -> None:
    names = [s.name_en for s in sectors(Scheme.S1048)]

    assert names == [
        "Food",
        "Drinks",
        "Herbal products",
        "Fabric and garments",
        "Souvenirs, furniture and decoration",
        "Rural tourism services and sales",
    ]


def test_product_sets_come_back_in_the_order_of_the_shipped_file() -> None:
    codes = [s.code for s in product_sets(Scheme.S148)]

    assert codes[:2] == ["food.fresh_produce", "food.fresh_animal"]
    assert codes[-1] == "tourism.community"


def test_set_and_sector_codes_are_unique_and_url_safe_across_both_schemes() -> None:
    set_codes = [s.code for scheme in Scheme for s in product_sets(scheme)]
    sector_codes = [s.code for scheme in Scheme for s in sectors(scheme)]

    assert len(set_codes) == len(set(set_codes))
    assert len(sector_codes) == len(set(sector_codes))
    assert all(URL_SAFE_CODE.fullmatch(c) for c in set_codes + sector_codes)
    assert all(c.startswith("1048.") for c in (s.code for s in sectors(Scheme.S1048)))


def test_every_set_belongs_to_a_sector_of_its_own_scheme() -> None:
    for scheme in Scheme:
        known = {s.code for s in sectors(scheme)}
        assert {s.sector_code for s in product_sets(scheme)} == known
        assert all(s.scheme is scheme for s in product_sets(scheme))


def test_every_1048_set_maps_to_a_148_sector_for_statistics() -> None:
    sectors_148 = {s.code for s in sectors(Scheme.S148)}

    mapped = {statistics_sector(s) for s in product_sets(Scheme.S1048)}

    assert mapped <= sectors_148
    assert mapped == sectors_148 - {"ornamentals"}


def test_1048_fabric_and_souvenir_sets_are_counted_as_148_handicrafts() -> None:
    assert statistics_sector(product_set(Scheme.S1048, "1048.fabric.garments")) == "handicrafts"
    souvenirs = [s for s in product_sets(Scheme.S1048) if s.sector_code == "1048.souvenir"]
    assert souvenirs
    assert {statistics_sector(s) for s in souvenirs} == {"handicrafts"}


def test_a_148_set_is_counted_under_its_own_sector() -> None:
    for s in product_sets(Scheme.S148):
        assert statistics_sector(s) == s.sector_code


def test_a_set_is_found_by_its_code_within_its_scheme() -> None:
    spirit = product_set(Scheme.S148, "drinks.rice_spirit")

    assert isinstance(spirit, ProductSet)
    assert (spirit.sector_code, spirit.name_vi) == ("drinks", "Rượu trắng")


def test_an_unknown_set_is_refused_naming_the_decision_and_some_known_sets() -> None:
    with pytest.raises(RuleViolation) as refused:
        product_set(Scheme.S148, "food.caviar")

    assert refused.value.field == "product_set"
    assert "food.caviar" in refused.value.reason
    assert "148/QĐ-TTg" in refused.value.reason
    assert "26 sets" in refused.value.reason
    assert "food.fresh_produce" in refused.value.reason


def test_the_refusal_stays_short_however_long_the_code_given() -> None:
    with pytest.raises(RuleViolation) as refused:
        product_set(Scheme.S1048, "x" * 10_000)

    assert len(refused.value.reason) < 400


def test_a_1048_code_used_after_24_february_2023_is_refused_saying_where_it_belongs() -> None:
    with pytest.raises(RuleViolation) as refused:
        product_set_on("1048.food.tea", date(2024, 3, 1))

    assert refused.value.field == "product_set"
    assert "148/QĐ-TTg" in refused.value.reason
    assert "belongs to the classification of 1048/QĐ-TTg" in refused.value.reason


def test_a_set_looked_up_for_a_day_comes_from_the_scheme_in_force_that_day() -> None:
    assert product_set_on("1048.food.tea", date(2022, 11, 1)).scheme is Scheme.S1048
    assert product_set_on("food.tea", date(2023, 2, 24)).scheme is Scheme.S148
    assert product_set_on("food.tea", date(2025, 7, 6)).scheme is Scheme.S148


def test_an_unknown_set_after_6_july_2025_is_refused_naming_decision_1489() -> None:
    with pytest.raises(RuleViolation) as refused:
        product_set_on("food.caviar", date(2025, 9, 1))

    assert "1489/QĐ-TTg" in refused.value.reason


def test_only_tourism_services_and_sites_need_no_samples() -> None:
    unsampled = [
        s.code for scheme in Scheme for s in product_sets(scheme) if not s.samples_required
    ]

    assert unsampled == ["1048.tourism.rural", "tourism.community"]
