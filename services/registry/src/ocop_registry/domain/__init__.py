"""Registry rules: pure, no I/O. Functions take state and a command, return state and events."""

from ocop_registry.domain.common import RuleViolation
from ocop_registry.domain.producers import (
    COMMUNE_CODE,
    DomainEvent,
    LegalForm,
    Person,
    Producer,
    ProducerDeregistered,
    ProducerRegistered,
    ProducerUpdated,
    RegisterProducer,
    UnitVersion,
    UpdateProducer,
    check_commune_valid_on,
    check_name,
    check_registration_number,
    deregister_producer,
    register_producer,
    update_producer,
)

__all__ = [
    "COMMUNE_CODE",
    "DomainEvent",
    "LegalForm",
    "Person",
    "Producer",
    "ProducerDeregistered",
    "ProducerRegistered",
    "ProducerUpdated",
    "RegisterProducer",
    "RuleViolation",
    "UnitVersion",
    "UpdateProducer",
    "check_commune_valid_on",
    "check_name",
    "check_registration_number",
    "deregister_producer",
    "register_producer",
    "update_producer",
]
