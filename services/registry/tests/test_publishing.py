"""Registry events become public contracts without the personal data of household producers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ocop_contracts import decode_event
from ocop_contracts.events import registry as contract
from ocop_registry import domain
from ocop_registry.publishing import public_name, to_contract

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
PERSON = "Nguyễn Thị Hoa"


def _registered(legal_form: domain.LegalForm, name: str = PERSON) -> domain.ProducerRegistered:
    _, events = domain.register_producer(
        domain.RegisterProducer(name=name, legal_form=legal_form, commune_code="10072"),
        producer_id=uuid4(),
        now=NOW,
    )
    (event,) = events
    assert isinstance(event, domain.ProducerRegistered)
    return event


def _updated(legal_form: domain.LegalForm, name: str = PERSON) -> domain.ProducerUpdated:
    producer = _registered(legal_form, name="Tên cũ").producer
    _, events = domain.update_producer(producer, domain.UpdateProducer(name=name), now=LATER)
    (event,) = events
    assert isinstance(event, domain.ProducerUpdated)
    return event


def test_household_name_is_not_published_on_registration() -> None:
    published = to_contract(_registered(domain.LegalForm.HOUSEHOLD_BUSINESS))

    assert isinstance(published, contract.ProducerRegistered)
    assert published.name is None


def test_household_name_is_not_published_on_update() -> None:
    published = to_contract(_updated(domain.LegalForm.HOUSEHOLD_BUSINESS))

    assert isinstance(published, contract.ProducerUpdated)
    assert published.name is None


@pytest.mark.parametrize(
    "legal_form",
    [
        domain.LegalForm.ENTERPRISE,
        domain.LegalForm.COOPERATIVE,
        domain.LegalForm.COOPERATIVE_GROUP,
    ],
)
def test_trading_name_of_an_organisation_is_published(legal_form: domain.LegalForm) -> None:
    registered = to_contract(_registered(legal_form, name="HTX Gốm sứ Bát Tràng"))
    updated = to_contract(_updated(legal_form, name="HTX Gốm Bát Tràng"))

    assert isinstance(registered, contract.ProducerRegistered)
    assert isinstance(updated, contract.ProducerUpdated)
    assert registered.name == "HTX Gốm sứ Bát Tràng"
    assert updated.name == "HTX Gốm Bát Tràng"


def test_public_name_is_none_only_for_a_household_business() -> None:
    for legal_form in domain.LegalForm:
        producer = _registered(legal_form).producer
        expected = None if legal_form is domain.LegalForm.HOUSEHOLD_BUSINESS else PERSON
        assert public_name(producer) == expected


def test_producer_registered_carries_the_producers_public_details() -> None:
    event = _registered(domain.LegalForm.COOPERATIVE_GROUP, name="Tổ hợp tác Mây tre Phú Vinh")
    p = event.producer

    published = to_contract(event)

    assert published == contract.ProducerRegistered(
        producer_id=p.id,
        legal_form=contract.LegalForm.COOPERATIVE_GROUP,
        name="Tổ hợp tác Mây tre Phú Vinh",
        commune_code="10072",
        registered_at=NOW,
    )
    assert published.key() == str(p.id)


def test_producer_updated_carries_the_version() -> None:
    producer = replace(_registered(domain.LegalForm.ENTERPRISE).producer, version=6)
    _, (event,) = domain.update_producer(
        producer, domain.UpdateProducer(name="Công ty Chè Ba Vì"), now=LATER
    )

    published = to_contract(event)

    assert isinstance(published, contract.ProducerUpdated)
    assert published.version == 7
    assert published.updated_at == LATER
    assert published.producer_id == event.producer.id
    assert published.legal_form is contract.LegalForm.ENTERPRISE


def test_every_domain_legal_form_maps_to_the_contracts_legal_form() -> None:
    for legal_form in domain.LegalForm:
        published = to_contract(_registered(legal_form))
        assert isinstance(published, contract.ProducerRegistered)
        assert published.legal_form.value == legal_form.value


@pytest.mark.parametrize("make_event", [_registered, _updated])
def test_household_persons_name_appears_nowhere_in_the_published_json(
    make_event: Callable[[domain.LegalForm], domain.DomainEvent],
) -> None:
    event = make_event(domain.LegalForm.HOUSEHOLD_BUSINESS)

    published = to_contract(event)
    value = published.to_json()

    assert PERSON not in value.decode()
    assert PERSON not in json.dumps(json.loads(value), ensure_ascii=True)
    assert "Nguy" not in value.decode()
    assert PERSON not in published.model_dump_json()
    assert decode_event(published.CE_TYPE, value) == published
