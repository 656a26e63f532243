"""Registry rules for producers (chủ thể): pure functions, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ocop_registry.domain import (
    LegalForm,
    Producer,
    ProducerRegistered,
    ProducerUpdated,
    RegisterProducer,
    RuleViolation,
    UpdateProducer,
    register_producer,
    update_producer,
)

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


def _register(
    name: str = "Hợp tác xã Gốm sứ Bát Tràng",
    legal_form: LegalForm = LegalForm.COOPERATIVE,
    commune_code: str = "10072",
    producer_id: UUID | None = None,
) -> tuple[Producer, list[ProducerRegistered | ProducerUpdated]]:
    return register_producer(
        RegisterProducer(name=name, legal_form=legal_form, commune_code=commune_code),
        producer_id=producer_id or uuid4(),
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
        commune_code="09994",
        producer_id=producer_id,
    )

    assert producer == Producer(
        id=producer_id,
        name="Công ty TNHH Chè Ba Vì",
        legal_form=LegalForm.ENTERPRISE,
        commune_code="09994",
        version=1,
        registered_at=NOW,
        updated_at=NOW,
    )


def test_registering_a_producer_emits_exactly_one_producer_registered() -> None:
    producer, events = _register()

    assert events == [ProducerRegistered(producer)]


def test_registered_name_has_its_whitespace_normalised() -> None:
    producer, events = _register(name="  Hợp tác xã \t Gốm sứ\n  Bát   Tràng  ")

    assert producer.name == "Hợp tác xã Gốm sứ Bát Tràng"
    assert events[0].producer.name == "Hợp tác xã Gốm sứ Bát Tràng"


def test_legal_form_given_as_text_is_read_as_the_enum() -> None:
    producer, _ = _register(legal_form="household_business")  # type: ignore[arg-type]

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


def test_an_update_that_changes_nothing_emits_nothing_and_keeps_the_version() -> None:
    producer = _producer(version=3)

    updated, events = update_producer(producer, UpdateProducer(), now=LATER)

    assert events == []
    assert updated == producer


def test_an_update_repeating_the_current_values_emits_nothing() -> None:
    producer = _producer()
    same = UpdateProducer(name=f"  {producer.name} ", commune_code=producer.commune_code)

    updated, events = update_producer(producer, same, now=LATER)

    assert events == []
    assert updated.version == producer.version
    assert updated.updated_at == producer.updated_at


def test_renaming_a_producer_bumps_the_version_by_one_and_emits_producer_updated() -> None:
    producer = _producer(version=4)

    updated, events = update_producer(
        producer, UpdateProducer(name="HTX  Gốm Bát Tràng"), now=LATER
    )

    assert updated.name == "HTX Gốm Bát Tràng"
    assert updated.version == 5
    assert updated.updated_at == LATER
    assert updated.registered_at == producer.registered_at
    assert updated.commune_code == producer.commune_code
    assert events == [ProducerUpdated(updated)]


def test_moving_to_another_commune_bumps_the_version_and_emits_producer_updated() -> None:
    producer = _producer()

    updated, events = update_producer(producer, UpdateProducer(commune_code="10081"), now=LATER)

    assert updated.commune_code == "10081"
    assert updated.name == producer.name
    assert updated.version == producer.version + 1
    assert updated.updated_at == LATER
    assert events == [ProducerUpdated(updated)]


def test_changing_name_and_commune_together_is_one_version_and_one_event() -> None:
    producer = _producer()

    updated, events = update_producer(
        producer, UpdateProducer(name="HTX Mới", commune_code="10081"), now=LATER
    )

    assert (updated.name, updated.commune_code) == ("HTX Mới", "10081")
    assert updated.version == producer.version + 1
    assert len(events) == 1


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (UpdateProducer(name="   "), "name"),
        (UpdateProducer(name="y" * 301), "name"),
        (UpdateProducer(commune_code="1007"), "commune_code"),
    ],
)
def test_an_update_with_an_invalid_value_is_refused(cmd: UpdateProducer, field: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        update_producer(_producer(), cmd, now=LATER)

    assert caught.value.field == field


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
