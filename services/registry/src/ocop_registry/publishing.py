"""Domain events -> public contracts. The one place where personal data is left out.

A household business's registered name is a person's name, so it never leaves this schema.
"""

from __future__ import annotations

from ocop_contracts import Event
from ocop_contracts.events import registry as contract
from ocop_registry import domain


def public_name(producer: domain.Producer) -> str | None:
    return None if producer.is_household else producer.name


def to_contract(event: domain.DomainEvent) -> Event:
    p = event.producer
    match event:
        case domain.ProducerRegistered():
            return contract.ProducerRegistered(
                producer_id=p.id,
                legal_form=contract.LegalForm(p.legal_form.value),
                name=public_name(p),
                commune_code=p.commune_code,
                registered_at=p.registered_at,
            )
        case domain.ProducerUpdated():
            return contract.ProducerUpdated(
                producer_id=p.id,
                version=p.version,
                legal_form=contract.LegalForm(p.legal_form.value),
                name=public_name(p),
                commune_code=p.commune_code,
                updated_at=p.updated_at,
            )
    raise TypeError(f"no contract for {type(event).__name__}")
