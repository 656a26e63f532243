"""Registry rules for producers (chủ thể): pure functions, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ocop_registry.domain import (
    LegalForm,
    Person,
    Producer,
    ProducerDeregistered,
    ProducerRegistered,
    ProducerUpdated,
    RegisterProducer,
    RuleViolation,
    UnitVersion,
    UpdateProducer,
    check_commune_valid_on,
    deregister_producer,
    register_producer,
    update_producer,
)

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
TAX_CODE = "0101234567"

# Hợp Đồng (Chương Mỹ) before the 2025 reorganisation; its code was reused for Quảng Bị.
HOP_DONG = UnitVersion(
    "10072", "Hợp Đồng", date(2019, 1, 1), date(2025, 6, 30), ("10072",), district_code="277"
)
QUANG_BI = UnitVersion("10072", "Quảng Bị", date(2025, 7, 1), None)
TRUC_BACH = UnitVersion("00004", "Trúc Bạch", date(2019, 1, 1), date(2025, 6, 30), (), "001")
OTHER = UnitVersion("10081", "Hoàng Văn Thụ", date(2019, 1, 1), date(2025, 6, 30), (), "277")


def _register(
    name: str = "Hợp tác xã Gốm sứ Bát Tràng",
    legal_form: LegalForm = LegalForm.COOPERATIVE,
    commune_code: str = "10072",
    producer_id: UUID | None = None,
    registration_number: str | None = TAX_CODE,
    unit: UnitVersion = HOP_DONG,
    address: str | None = None,
    contacts: tuple[Person, ...] = (),
) -> tuple[Producer, list[ProducerRegistered | ProducerUpdated | ProducerDeregistered]]:
    return register_producer(
        RegisterProducer(
            name=name,
            legal_form=legal_form,
            commune_code=commune_code,
            registration_number=registration_number,
            address=address,
            contacts=contacts,
        ),
        producer_id=producer_id or uuid4(),
        unit=unit,
        now=NOW,
    )


def _producer(**overrides: object) -> Producer:
    producer, _ = _register()
    return replace(producer, **overrides)  # type: ignore[arg-type]


def test_registering_a_producer_records_its_details_at_version_one() -> None:
    producer_id = uuid4()

    producer, _ = _register(
        name="Công ty TNHH Chè Ba Vì",
        legal_form=LegalForm.ENTERPRISE,
        commune_code="10081",
        producer_id=producer_id,
        registration_number="0101234567-001",
        unit=OTHER,
        address="Thôn 3, xã Hoàng Văn Thụ",
    )

    assert producer == Producer(
        id=producer_id,
        name="Công ty TNHH Chè Ba Vì",
        legal_form=LegalForm.ENTERPRISE,
        commune_code="10081",
        version=1,
        registered_at=NOW,
        updated_at=NOW,
        registration_number="0101234567-001",
        address="Thôn 3, xã Hoàng Văn Thụ",
        district_code="277",
    )


def test_registering_a_producer_emits_exactly_one_producer_registered() -> None:
    producer, events = _register()

    assert events == [ProducerRegistered(producer)]


def test_a_producer_takes_its_district_from_the_commune_version_valid_at_registration() -> None:
    before, _ = _register(unit=HOP_DONG)
    after, _ = _register(unit=QUANG_BI)

    assert before.district_code == "277"
    assert after.district_code is None


def test_registered_name_has_its_whitespace_normalised() -> None:
    producer, events = _register(name="  Hợp tác xã \t Gốm sứ\n  Bát   Tràng  ")

    assert producer.name == "Hợp tác xã Gốm sứ Bát Tràng"
    assert events[0].producer.name == "Hợp tác xã Gốm sứ Bát Tràng"


def test_legal_form_given_as_text_is_read_as_the_enum() -> None:
    producer, _ = _register(legal_form="household_business", registration_number="01A8012345")  # type: ignore[arg-type]

    assert producer.legal_form is LegalForm.HOUSEHOLD_BUSINESS


@pytest.mark.parametrize("name", ["", "   ", "\t\n "])
def test_a_blank_name_is_refused(name: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(name=name)

    assert caught.value.field == "name"
    assert str(caught.value).startswith("name: ")


def test_a_name_longer_than_300_characters_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(name="x" * 301)

    assert caught.value.field == "name"
    assert "300" in caught.value.reason


def test_a_name_of_exactly_300_characters_is_accepted() -> None:
    producer, _ = _register(name="x" * 300)

    assert len(producer.name) == 300


def test_the_length_limit_applies_after_whitespace_is_normalised() -> None:
    producer, _ = _register(name="  " + "x" * 300 + "  ")

    assert producer.name == "x" * 300


@pytest.mark.parametrize("code", ["", "1234", "123456", "1234a", "12 34", "abcde", " 12345"])
def test_a_commune_code_that_is_not_five_digits_is_refused(code: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(commune_code=code)

    assert caught.value.field == "commune_code"


def test_a_rule_violation_is_a_value_error() -> None:
    assert issubclass(RuleViolation, ValueError)


@pytest.mark.parametrize(
    "legal_form",
    [LegalForm.ENTERPRISE, LegalForm.COOPERATIVE, LegalForm.HOUSEHOLD_BUSINESS],
)
@pytest.mark.parametrize("number", [None, "", "   "])
def test_a_registration_number_is_required_except_for_a_cooperative_group(
    legal_form: LegalForm, number: str | None
) -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(legal_form=legal_form, registration_number=number)

    assert caught.value.field == "registration_number"
    assert "required" in caught.value.reason


def test_a_cooperative_group_may_register_without_a_registration_number() -> None:
    producer, _ = _register(legal_form=LegalForm.COOPERATIVE_GROUP, registration_number="  ")

    assert producer.registration_number is None


@pytest.mark.parametrize("legal_form", [LegalForm.ENTERPRISE, LegalForm.COOPERATIVE])
@pytest.mark.parametrize("number", ["0101234567", "0101234567-012"])
def test_an_organisation_registers_with_a_ten_digit_tax_code_and_optional_branch(
    legal_form: LegalForm, number: str
) -> None:
    producer, _ = _register(legal_form=legal_form, registration_number=f" {number} ")

    assert producer.registration_number == number


@pytest.mark.parametrize("legal_form", [LegalForm.ENTERPRISE, LegalForm.COOPERATIVE])
@pytest.mark.parametrize(
    "number", ["010123456", "01012345678", "0101234567-01", "0101234567-0123", "01A8012345"]
)
def test_an_organisation_number_that_is_not_a_tax_code_is_refused(
    legal_form: LegalForm, number: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(legal_form=legal_form, registration_number=number)

    assert caught.value.field == "registration_number"
    assert "10-digit tax code" in caught.value.reason


@pytest.mark.parametrize(
    ("given", "stored"),
    [("01a8012345", "01A8012345"), ("27.B/0123-HKD", "27.B/0123-HKD"), ("ABC", "ABC")],
)
def test_a_household_business_number_is_checked_by_shape_and_upper_cased(
    given: str, stored: str
) -> None:
    producer, _ = _register(legal_form=LegalForm.HOUSEHOLD_BUSINESS, registration_number=given)

    assert producer.registration_number == stored


@pytest.mark.parametrize("number", ["AB", "X" * 21, "01A 8012345", "-01A8012", "01A#8012"])
def test_a_household_business_number_of_the_wrong_shape_is_refused(number: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(legal_form=LegalForm.HOUSEHOLD_BUSINESS, registration_number=number)

    assert caught.value.field == "registration_number"


def test_contact_persons_are_kept_with_their_details_normalised_and_blanks_dropped() -> None:
    contact = Person(full_name="  Nguyễn  Văn An ", phone="0912 345 678", email="  ")

    producer, _ = _register(contacts=(contact,))

    assert producer.contacts == (Person(full_name="Nguyễn Văn An", phone="0912 345 678"),)


def test_more_than_ten_contact_persons_are_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(contacts=tuple(Person(full_name=f"Người {i}") for i in range(11)))

    assert caught.value.field == "contacts"


def test_a_contact_without_a_name_is_refused_naming_its_position() -> None:
    with pytest.raises(RuleViolation) as caught:
        _register(contacts=(Person(full_name="An"), Person(full_name=" ")))

    assert caught.value.field == "contacts.1.full_name"


def test_the_commune_version_valid_on_a_day_is_found_among_reused_codes() -> None:
    versions = [HOP_DONG, QUANG_BI]

    assert check_commune_valid_on("10072", date(2025, 6, 30), versions) is HOP_DONG
    assert check_commune_valid_on("10072", date(2025, 7, 1), versions) is QUANG_BI


def test_an_unknown_commune_code_is_refused_as_unknown() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_commune_valid_on("99999", date(2024, 1, 1), [])

    assert caught.value.field == "commune_code"
    assert "not a known" in caught.value.reason


def test_a_commune_abolished_by_the_reorganisation_is_refused_naming_its_successors() -> None:
    abolished = UnitVersion(
        "00013", "Vĩnh Phúc", date(2019, 1, 1), date(2025, 6, 30), ("00004", "00025"), "001"
    )

    with pytest.raises(RuleViolation) as caught:
        check_commune_valid_on("00013", date(2025, 7, 1), [abolished])

    assert caught.value.field == "commune_code"
    assert "2025-06-30" in caught.value.reason
    assert "part of 00004, 00025" in caught.value.reason


def test_an_update_that_changes_nothing_emits_nothing_and_keeps_the_version() -> None:
    producer = _producer(version=3)

    updated, events = update_producer(producer, UpdateProducer(), unit=None, now=LATER)

    assert events == []
    assert updated == producer


def test_an_update_repeating_the_current_values_emits_nothing() -> None:
    producer = _producer()
    same = UpdateProducer(name=f"  {producer.name} ", commune_code=producer.commune_code)

    updated, events = update_producer(producer, same, unit=None, now=LATER)

    assert events == []
    assert updated.version == producer.version
    assert updated.updated_at == producer.updated_at


def test_renaming_a_producer_bumps_the_version_by_one_and_emits_producer_updated() -> None:
    producer = _producer(version=4)

    updated, events = update_producer(
        producer, UpdateProducer(name="HTX  Gốm Bát Tràng"), unit=None, now=LATER
    )

    assert updated.name == "HTX Gốm Bát Tràng"
    assert updated.version == 5
    assert updated.updated_at == LATER
    assert updated.registered_at == producer.registered_at
    assert updated.commune_code == producer.commune_code
    assert events == [ProducerUpdated(updated)]


def test_moving_to_another_commune_bumps_the_version_and_emits_producer_updated() -> None:
    producer = _producer()

    updated, events = update_producer(
        producer, UpdateProducer(commune_code="10081"), unit=OTHER, now=LATER
    )

    assert updated.commune_code == "10081"
    assert updated.name == producer.name
    assert updated.version == producer.version + 1
    assert updated.updated_at == LATER
    assert events == [ProducerUpdated(updated)]


def test_moving_to_another_commune_takes_that_communes_district() -> None:
    producer = _producer()

    updated, _ = update_producer(
        producer, UpdateProducer(commune_code="00004"), unit=TRUC_BACH, now=LATER
    )

    assert (producer.district_code, updated.district_code) == ("277", "001")


@pytest.mark.parametrize("unit", [None, TRUC_BACH])
def test_moving_to_a_commune_whose_version_was_not_checked_is_refused(
    unit: UnitVersion | None,
) -> None:
    with pytest.raises(RuleViolation) as caught:
        update_producer(_producer(), UpdateProducer(commune_code="10081"), unit=unit, now=LATER)

    assert caught.value.field == "commune_code"


def test_changing_name_and_commune_together_is_one_version_and_one_event() -> None:
    producer = _producer()

    updated, events = update_producer(
        producer, UpdateProducer(name="HTX Mới", commune_code="10081"), unit=OTHER, now=LATER
    )

    assert (updated.name, updated.commune_code) == ("HTX Mới", "10081")
    assert updated.version == producer.version + 1
    assert len(events) == 1


def test_changing_address_and_contacts_is_an_update() -> None:
    producer = _producer()
    contact = Person(full_name="Lê Thị Mai", role="director")

    updated, events = update_producer(
        producer,
        UpdateProducer(address="Thôn Đông, xã Hợp Đồng", contacts=(contact,)),
        unit=None,
        now=LATER,
    )

    assert updated.address == "Thôn Đông, xã Hợp Đồng"
    assert updated.contacts == (contact,)
    assert updated.version == producer.version + 1
    assert events == [ProducerUpdated(updated)]


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (UpdateProducer(name="   "), "name"),
        (UpdateProducer(name="y" * 301), "name"),
        (UpdateProducer(commune_code="1007"), "commune_code"),
        (UpdateProducer(address="z" * 501), "address"),
    ],
)
def test_an_update_with_an_invalid_value_is_refused(cmd: UpdateProducer, field: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        update_producer(_producer(), cmd, unit=None, now=LATER)

    assert caught.value.field == field


def test_a_deregistered_producer_can_no_longer_be_updated() -> None:
    producer = _producer(deregistered_at=NOW)

    with pytest.raises(RuleViolation) as caught:
        update_producer(producer, UpdateProducer(name="HTX Mới"), unit=None, now=LATER)

    assert caught.value.field == "producer"


def test_a_producer_with_registered_products_cannot_be_deregistered() -> None:
    with pytest.raises(RuleViolation) as caught:
        deregister_producer(_producer(), "giải thể", active_products=2, now=LATER)

    assert caught.value.field == "producer"
    assert "2 registered product" in caught.value.reason


def test_deregistering_a_producer_records_the_reason_once_and_then_changes_nothing() -> None:
    producer = _producer()

    done, events = deregister_producer(producer, " Giải  thể ", active_products=0, now=LATER)
    again, repeated = deregister_producer(done, "lần nữa", active_products=0, now=LATER)

    assert (done.deregistered_at, done.deregistration_reason) == (LATER, "Giải thể")
    assert done.version == producer.version + 1
    assert not done.active
    assert events == [ProducerDeregistered(done)]
    assert (again, repeated) == (done, [])


@pytest.mark.parametrize(
    ("legal_form", "household"),
    [
        (LegalForm.HOUSEHOLD_BUSINESS, True),
        (LegalForm.ENTERPRISE, False),
        (LegalForm.COOPERATIVE, False),
        (LegalForm.COOPERATIVE_GROUP, False),
    ],
)
def test_only_a_household_business_is_a_household(legal_form: LegalForm, household: bool) -> None:
    assert _producer(legal_form=legal_form).is_household is household
