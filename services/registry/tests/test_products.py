"""Registry rules for products: public codes, classification by date, deregistration."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ocop_registry import domain
from ocop_registry.domain.certificates import Certificate
from ocop_registry.domain.classification import ProductSet, Scheme, product_set
from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.products import (
    MAX_SEQUENCE,
    Product,
    ProductDeregistered,
    ProductRegistered,
    ProductUpdated,
    RegisterProduct,
    UpdateProduct,
    check_registered_on,
    deregister_product,
    public_code,
    register_product,
    same_registration,
    update_product,
)

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=10)
TRUC_BACH = domain.UnitVersion(
    "00004", "Trúc Bạch", date(2019, 1, 1), date(2025, 6, 30), district_code="001"
)
BA_DINH = domain.UnitVersion("00004", "Ba Đình", date(2025, 7, 1), None)
TEA_1048 = product_set(Scheme.S1048, "1048.food.tea")
CRAFTS_1048 = product_set(Scheme.S1048, "1048.souvenir.decorative_crafts")
TEA_148 = product_set(Scheme.S148, "food.tea")
CRAFTS_148 = product_set(Scheme.S148, "handicrafts.household_decorative")
PUBLIC_CODE = re.compile(r"01-[0-9]{5}-[0-9]{4}-[0-9]{4}")


def _producer(**overrides: object) -> domain.Producer:
    producer, _ = domain.register_producer(
        domain.RegisterProducer(
            name="HTX Chè Trúc Bạch",
            legal_form=domain.LegalForm.COOPERATIVE,
            commune_code="00004",
            registration_number="0101234567",
        ),
        producer_id=uuid4(),
        unit=TRUC_BACH,
        now=NOW,
    )
    return replace(producer, **overrides)  # type: ignore[arg-type]


def _register(
    *,
    registered_on: date = date(2024, 5, 10),
    the_set: ProductSet = TEA_148,
    producer: domain.Producer | None = None,
    sequence: int = 12,
    unit: domain.UnitVersion = TRUC_BACH,
    name: str = "Chè Shan tuyết",
    product_id: UUID | None = None,
) -> tuple[Product, list[ProductRegistered | ProductUpdated | ProductDeregistered]]:
    producer = producer or _producer()
    return register_product(
        RegisterProduct(
            producer_id=producer.id,
            name=name,
            product_set=the_set.code,
            commune_code=unit.code,
            registered_on=registered_on,
        ),
        product_id=product_id or uuid4(),
        producer=producer,
        product_set=the_set,
        unit=unit,
        sequence=sequence,
        registered_on=registered_on,
        now=NOW,
    )


def _certificate(product: Product, **overrides: object) -> Certificate:
    certificate = Certificate(
        id=uuid4(),
        number="01/2024/OCOP-HN",
        product_id=product.id,
        star=4,
        level="city",
        decision_number="1147/QĐ-UBND",
        decision_date=date(2024, 3, 4),
        valid_from=date(2024, 3, 4),
        valid_until=date(2027, 3, 3),
        rulebook="148",
    )
    return replace(certificate, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("commune", "sequence", "year", "expected"),
    [
        ("00004", 7, 2025, "01-00004-0007-2025"),
        ("10072", 1, 2019, "01-10072-0001-2019"),
        ("10072", 123, 2023, "01-10072-0123-2023"),
        ("00004", 9999, 2024, "01-00004-9999-2024"),
    ],
)
def test_a_public_code_is_province_commune_four_digit_sequence_and_year(
    commune: str, sequence: int, year: int, expected: str
) -> None:
    code = public_code(commune, sequence, year)

    assert code == expected
    assert PUBLIC_CODE.fullmatch(code)


@pytest.mark.parametrize("sequence", [MAX_SEQUENCE + 1, 0, -1])
def test_a_sequence_outside_one_to_9999_gives_no_public_code(sequence: int) -> None:
    with pytest.raises(RuleViolation) as caught:
        public_code("00004", sequence, 2025)

    assert caught.value.field == "public_code"


def test_a_commune_that_used_up_its_codes_for_a_year_is_told_so() -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(sequence=10_000)

    assert caught.value.field == "public_code"
    assert "00004" in caught.value.reason
    assert "2024" in caught.value.reason


def test_a_registered_product_gets_the_public_code_of_its_commune_and_registration_year() -> None:
    product, _ = _register(registered_on=date(2022, 11, 3), the_set=TEA_1048, sequence=41)

    assert product.public_code == "01-00004-0041-2022"


def test_a_2022_registration_is_classified_under_1048() -> None:
    producer = _producer()

    product, events = _register(
        registered_on=date(2022, 5, 10), the_set=CRAFTS_1048, producer=producer
    )

    assert product.classification == "1048"
    assert product.product_set == "1048.souvenir.decorative_crafts"
    assert product.sector == "1048.souvenir"
    # Statistics count it under the 148 sector so that series spanning 2023 compare.
    assert product.statistics_sector == "handicrafts"
    assert events == [ProductRegistered(product, producer)]


def test_a_2024_registration_is_classified_under_148() -> None:
    product, _ = _register(registered_on=date(2024, 5, 10), the_set=CRAFTS_148)

    assert product.classification == "148"
    assert product.product_set == "handicrafts.household_decorative"
    assert product.sector == "handicrafts"
    assert product.statistics_sector == "handicrafts"


@pytest.mark.parametrize(
    ("registered_on", "the_set"),
    [
        (date(2022, 5, 10), TEA_148),
        (date(2023, 2, 23), TEA_148),
        (date(2024, 5, 10), TEA_1048),
        (date(2023, 2, 24), TEA_1048),
        (date(2025, 8, 1), TEA_1048),
    ],
)
def test_a_product_set_of_the_wrong_scheme_for_the_registration_date_is_refused(
    registered_on: date, the_set: ProductSet
) -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(registered_on=registered_on, the_set=the_set)

    assert caught.value.field == "product_set"
    assert the_set.code in caught.value.reason


def test_a_registered_product_records_its_commune_version_and_district() -> None:
    product, _ = _register(registered_on=date(2024, 5, 10))

    assert product.commune_code == "00004"
    assert product.commune_valid_from == date(2019, 1, 1)
    assert product.district_code == "001"
    assert product.registered_on == date(2024, 5, 10)
    assert product.version == 1
    assert product.active


def test_a_product_registered_after_the_reorganisation_has_no_district() -> None:
    product, _ = _register(registered_on=date(2025, 7, 1), unit=BA_DINH)

    assert product.district_code is None
    assert product.commune_valid_from == date(2025, 7, 1)


def test_a_deregistered_producer_cannot_register_a_product() -> None:
    producer = _producer(deregistered_at=NOW)

    with pytest.raises(RuleViolation) as caught:
        _register(producer=producer)

    assert caught.value.field == "producer_id"
    assert str(producer.id) in caught.value.reason


def test_a_registration_date_in_the_future_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_registered_on(date(2025, 3, 15), today=date(2025, 3, 14))

    assert caught.value.field == "registered_on"


def test_a_registration_date_before_the_programme_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_registered_on(date(2018, 5, 6), today=date(2025, 3, 14))

    assert caught.value.field == "registered_on"


def test_without_a_registration_date_a_product_is_registered_today() -> None:
    assert check_registered_on(None, today=date(2025, 3, 14)) == date(2025, 3, 14)


def test_repeating_a_registration_is_recognised_as_the_same_registration() -> None:
    product, _ = _register()
    repeat = RegisterProduct(
        producer_id=product.producer_id,
        name="  Chè  Shan tuyết ",
        product_set=product.product_set,
        commune_code=product.commune_code,
        registered_on=None,
    )

    assert same_registration(product, repeat)
    assert same_registration(product, replace(repeat, registered_on=product.registered_on))


@pytest.mark.parametrize(
    "change",
    [
        {"producer_id": uuid4()},
        {"name": "Chè móc câu"},
        {"product_set": "food.plant_tea"},
        {"commune_code": "10072"},
        {"registered_on": date(2024, 5, 11)},
    ],
)
def test_a_registration_differing_in_anything_is_not_the_same(change: dict[str, object]) -> None:
    product, _ = _register()
    repeat = RegisterProduct(
        producer_id=product.producer_id,
        name=product.name,
        product_set=product.product_set,
        commune_code=product.commune_code,
        registered_on=product.registered_on,
    )

    assert same_registration(product, repeat)
    assert not same_registration(product, replace(repeat, **change))  # type: ignore[arg-type]


def test_reclassifying_a_1048_product_under_148_changes_its_classification_and_version() -> None:
    producer = _producer()
    product, _ = _register(registered_on=date(2022, 5, 10), the_set=CRAFTS_1048, producer=producer)

    updated, events = update_product(
        product,
        UpdateProduct(product_set=CRAFTS_148.code),
        producer=producer,
        product_set=CRAFTS_148,
        now=LATER,
    )

    assert (updated.classification, updated.product_set) == ("148", CRAFTS_148.code)
    assert (product.sector, updated.sector) == ("1048.souvenir", "handicrafts")
    assert updated.statistics_sector == "handicrafts"
    assert updated.version == product.version + 1
    assert updated.updated_at == LATER
    assert events == [ProductUpdated(updated, producer)]


def test_reclassification_keeps_the_public_code_and_registration() -> None:
    product, _ = _register(registered_on=date(2022, 5, 10), the_set=TEA_1048)

    updated, _ = update_product(
        product,
        UpdateProduct(product_set=TEA_148.code),
        producer=_producer(),
        product_set=TEA_148,
        now=LATER,
    )

    assert updated.public_code == product.public_code
    assert updated.registered_on == product.registered_on
    assert updated.commune_code == product.commune_code


def test_moving_a_product_to_a_set_of_another_sector_changes_its_sector() -> None:
    product, _ = _register(the_set=TEA_148)
    spirit = product_set(Scheme.S148, "drinks.other_alcoholic")

    updated, _ = update_product(
        product,
        UpdateProduct(product_set=spirit.code),
        producer=_producer(),
        product_set=spirit,
        now=LATER,
    )

    assert (updated.sector, updated.statistics_sector) == ("drinks", "drinks")


@pytest.mark.parametrize("checked", [None, TEA_148])
def test_a_new_product_set_that_was_not_checked_is_refused(checked: ProductSet | None) -> None:
    product, _ = _register(the_set=CRAFTS_148)

    with pytest.raises(RuleViolation) as caught:
        update_product(
            product,
            UpdateProduct(product_set="food.plant_tea"),
            producer=_producer(),
            product_set=checked,
            now=LATER,
        )

    assert caught.value.field == "product_set"


def test_an_update_repeating_the_current_values_changes_nothing() -> None:
    product, _ = _register()

    updated, events = update_product(
        product,
        UpdateProduct(name=f" {product.name} ", product_set=product.product_set),
        producer=_producer(),
        product_set=None,
        now=LATER,
    )

    assert (updated, events) == (product, [])


def test_renaming_a_product_bumps_its_version() -> None:
    product, _ = _register()

    updated, events = update_product(
        product, UpdateProduct(name="Chè  búp"), producer=_producer(), product_set=None, now=LATER
    )

    assert updated.name == "Chè búp"
    assert updated.version == product.version + 1
    assert len(events) == 1


def test_a_deregistered_product_cannot_be_updated() -> None:
    product, _ = _register()
    gone = replace(product, deregistered_at=NOW)

    with pytest.raises(RuleViolation) as caught:
        update_product(
            gone, UpdateProduct(name="Chè búp"), producer=_producer(), product_set=None, now=LATER
        )

    assert caught.value.field == "product"


def test_a_product_with_a_live_certificate_cannot_be_deregistered() -> None:
    product, _ = _register()
    live = _certificate(product, number="247/2024/OCOP-HN")

    with pytest.raises(RuleViolation) as caught:
        deregister_product(product, "Ngừng sản xuất", live=live, now=LATER)

    assert caught.value.field == "product"
    assert "247/2024/OCOP-HN" in caught.value.reason
    assert "2027-03-03" in caught.value.reason


def test_a_product_without_a_live_certificate_is_deregistered_once() -> None:
    product, _ = _register()

    done, events = deregister_product(product, " Ngừng  sản xuất ", live=None, now=LATER)

    assert not done.active
    assert done.deregistered_at == LATER
    assert done.deregistration_reason == "Ngừng sản xuất"
    assert done.version == product.version + 1
    assert events == [ProductDeregistered(done)]


def test_deregistering_a_deregistered_product_again_changes_nothing() -> None:
    product, _ = _register()
    done, _ = deregister_product(product, "Ngừng sản xuất", live=None, now=LATER)

    again, events = deregister_product(done, "Lần nữa", live=None, now=LATER + timedelta(days=1))

    assert (again, events) == (done, [])


def test_deregistering_needs_a_reason() -> None:
    product, _ = _register()

    with pytest.raises(RuleViolation) as caught:
        deregister_product(product, "  ", live=None, now=LATER)

    assert caught.value.field == "reason"
