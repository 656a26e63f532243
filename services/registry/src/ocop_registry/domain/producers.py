"""Producers (chủ thể OCOP) and the dated units their addresses point at."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from ocop_registry.domain.common import RuleViolation


class LegalForm(StrEnum):
    ENTERPRISE = "enterprise"
    COOPERATIVE = "cooperative"
    COOPERATIVE_GROUP = "cooperative_group"
    HOUSEHOLD_BUSINESS = "household_business"


COMMUNE_CODE = re.compile(r"[0-9]{5}")


@dataclass(frozen=True, slots=True)
class UnitVersion:
    """One dated version of a commune-level unit, as the rules need it."""

    code: str
    name: str
    valid_from: date
    valid_to: date | None
    successors: tuple[str, ...] = ()
    district_code: str | None = None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def check_commune_valid_on(code: str, day: date, versions: Sequence[UnitVersion]) -> UnitVersion:
    """The version of commune ``code`` valid on ``day``; a reason naming what is wrong if none."""
    if not versions:
        raise RuleViolation("commune_code", f"{code} is not a known Hanoi commune or ward code")
    for version in versions:
        if version.valid_on(day):
            return version
    latest = max(versions, key=lambda v: v.valid_from)
    reason = (
        f"{code} ({latest.name}) is not a valid unit on {day.isoformat()}: valid from "
        f"{latest.valid_from.isoformat()} to {latest.valid_to.isoformat() if latest.valid_to else 'now'}"
    )
    if latest.successors:
        reason += f"; since then it is part of {', '.join(latest.successors)}"
    raise RuleViolation("commune_code", reason)


@dataclass(frozen=True, slots=True)
class Person:
    """A contact person or a household business's representative: personal data that never
    leaves the registry's schema."""

    full_name: str
    role: str = "representative"
    phone: str | None = None
    email: str | None = None
    national_id: str | None = None
    home_address: str | None = None


@dataclass(frozen=True, slots=True)
class Producer:
    id: UUID
    name: str
    legal_form: LegalForm
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime
    registration_number: str | None = None
    address: str | None = None
    district_code: str | None = None
    contacts: tuple[Person, ...] = ()
    deregistered_at: datetime | None = None
    deregistration_reason: str | None = None
    personal_data_erased_at: datetime | None = None

    @property
    def is_household(self) -> bool:
        return self.legal_form is LegalForm.HOUSEHOLD_BUSINESS

    @property
    def active(self) -> bool:
        return self.deregistered_at is None


@dataclass(frozen=True, slots=True)
class RegisterProducer:
    name: str
    legal_form: LegalForm
    commune_code: str
    registration_number: str | None = None
    address: str | None = None
    contacts: tuple[Person, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateProducer:
    name: str | None = None
    commune_code: str | None = None
    address: str | None = None
    contacts: tuple[Person, ...] | None = None


@dataclass(frozen=True, slots=True)
class ProducerRegistered:
    producer: Producer


@dataclass(frozen=True, slots=True)
class ProducerUpdated:
    producer: Producer


@dataclass(frozen=True, slots=True)
class ProducerDeregistered:
    producer: Producer


# Enterprise codes are the 10-digit tax code (13 with a branch suffix); cooperatives registered
# since the 2012 law carry the same kind of code. Household business certificates are numbered
# by each district (e.g. 01A8012345), so only their shape is checked.
_ENTERPRISE_NUMBER = re.compile(r"[0-9]{10}(-[0-9]{3})?")
_OTHER_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z./-]{2,19}")
_NUMBER_REQUIRED = frozenset(
    {LegalForm.ENTERPRISE, LegalForm.COOPERATIVE, LegalForm.HOUSEHOLD_BUSINESS}
)


def check_registration_number(legal_form: LegalForm, number: str | None) -> str | None:
    """The normalised number, or a reason. Cooperative groups work under a cooperation
    contract and may have none."""
    number = number.strip().upper() if number else None
    if not number:
        if legal_form in _NUMBER_REQUIRED:
            raise RuleViolation(
                "registration_number", f"is required for a {legal_form.value.replace('_', ' ')}"
            )
        return None
    pattern = (
        _ENTERPRISE_NUMBER
        if legal_form in (LegalForm.ENTERPRISE, LegalForm.COOPERATIVE)
        else _OTHER_NUMBER
    )
    if not pattern.fullmatch(number):
        expected = (
            "a 10-digit tax code, optionally followed by -NNN for a branch"
            if pattern is _ENTERPRISE_NUMBER
            else "3 to 20 letters, digits, '.', '/' or '-'"
        )
        raise RuleViolation("registration_number", f"{number!r} is not {expected}")
    return number


DomainEvent = ProducerRegistered | ProducerUpdated | ProducerDeregistered


def check_name(name: str, field_name: str = "name", max_length: int = 300) -> str:
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    if not name:
        raise RuleViolation(field_name, "must not be blank")
    if len(name) > max_length:
        raise RuleViolation(field_name, f"must be at most {max_length} characters")
    return name


def _check_optional_text(value: str | None, field_name: str, max_length: int) -> str | None:
    if value is None or not value.strip():
        return None
    return check_name(value, field_name, max_length)


def check_contacts(contacts: tuple[Person, ...]) -> tuple[Person, ...]:
    if len(contacts) > 10:
        raise RuleViolation("contacts", "at most 10 contact persons")
    checked = []
    for i, c in enumerate(contacts):
        checked.append(
            Person(
                full_name=check_name(c.full_name, f"contacts.{i}.full_name", 200),
                role=check_name(c.role, f"contacts.{i}.role", 100),
                phone=_check_optional_text(c.phone, f"contacts.{i}.phone", 30),
                email=_check_optional_text(c.email, f"contacts.{i}.email", 200),
                national_id=_check_optional_text(c.national_id, f"contacts.{i}.national_id", 20),
                home_address=_check_optional_text(
                    c.home_address, f"contacts.{i}.home_address", 500
                ),
            )
        )
    return tuple(checked)


def _check_commune(code: str) -> str:
    if not COMMUNE_CODE.fullmatch(code):
        raise RuleViolation("commune_code", "must be a 5-digit administrative unit code")
    return code


def register_producer(
    cmd: RegisterProducer, *, producer_id: UUID, unit: UnitVersion, now: datetime
) -> tuple[Producer, list[DomainEvent]]:
    """``unit`` is the commune version valid today (see :func:`check_commune_valid_on`)."""
    legal_form = LegalForm(cmd.legal_form)
    producer = Producer(
        id=producer_id,
        name=check_name(cmd.name),
        legal_form=legal_form,
        commune_code=_check_commune(cmd.commune_code),
        version=1,
        registered_at=now,
        updated_at=now,
        registration_number=check_registration_number(legal_form, cmd.registration_number),
        address=_check_optional_text(cmd.address, "address", 500),
        district_code=unit.district_code,
        contacts=check_contacts(cmd.contacts),
    )
    return producer, [ProducerRegistered(producer)]


def same_registration(producer: Producer, cmd: RegisterProducer) -> bool:
    """Whether ``cmd`` asks for exactly what ``producer`` already is (a repeated command)."""
    legal_form = LegalForm(cmd.legal_form)
    return (
        producer.name == check_name(cmd.name)
        and producer.legal_form is legal_form
        and producer.commune_code == cmd.commune_code
        and producer.registration_number
        == check_registration_number(legal_form, cmd.registration_number)
    )


def _ensure_active(producer: Producer) -> None:
    if not producer.active:
        raise RuleViolation(
            "producer", f"producer {producer.id} was deregistered and can no longer change"
        )


def update_producer(
    producer: Producer, cmd: UpdateProducer, *, unit: UnitVersion | None, now: datetime
) -> tuple[Producer, list[DomainEvent]]:
    """``unit`` is the valid version of the new commune when the commune changes."""
    _ensure_active(producer)
    changes: dict[str, object] = {}
    if cmd.name is not None and check_name(cmd.name) != producer.name:
        changes["name"] = check_name(cmd.name)
    if cmd.commune_code is not None and _check_commune(cmd.commune_code) != producer.commune_code:
        if unit is None or unit.code != cmd.commune_code:
            raise RuleViolation("commune_code", "the new commune was not checked")
        changes["commune_code"] = cmd.commune_code
        changes["district_code"] = unit.district_code
    if cmd.address is not None:
        address = _check_optional_text(cmd.address, "address", 500)
        if address != producer.address:
            changes["address"] = address
    if cmd.contacts is not None:
        contacts = check_contacts(cmd.contacts)
        if contacts != producer.contacts:
            changes["contacts"] = contacts
    if not changes:
        return producer, []
    updated = replace(producer, **changes, version=producer.version + 1, updated_at=now)  # type: ignore[arg-type]
    return updated, [ProducerUpdated(updated)]


def deregister_producer(
    producer: Producer, reason: str, *, active_products: int, now: datetime
) -> tuple[Producer, list[DomainEvent]]:
    if not producer.active:
        return producer, []
    if active_products:
        raise RuleViolation(
            "producer",
            f"producer still has {active_products} registered product(s); deregister them first",
        )
    done = replace(
        producer,
        deregistered_at=now,
        deregistration_reason=check_name(reason, "reason", 500),
        version=producer.version + 1,
        updated_at=now,
    )
    return done, [ProducerDeregistered(done)]


ERASED_NAME = "[personal data erased]"
ERASED_TEXT = "[erased]"


def erase_personal_data(producer: Producer, *, now: datetime) -> Producer:
    """Remove the personal data of the people behind a producer: contacts always; for a
    household business also its name (a person's), registration number and address. Events
    never carried these fields, so the history on Kafka stays as it was."""
    # A free-text reason may name a person; it goes too.
    reason = None if producer.deregistration_reason is None else ERASED_TEXT
    if producer.is_household:
        return replace(
            producer,
            name=ERASED_NAME,
            registration_number=None,
            address=None,
            contacts=(),
            deregistration_reason=reason,
            personal_data_erased_at=now,
            updated_at=now,
        )
    return replace(
        producer,
        contacts=(),
        deregistration_reason=reason,
        personal_data_erased_at=now,
        updated_at=now,
    )
