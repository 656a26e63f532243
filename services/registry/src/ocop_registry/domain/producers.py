"""Producers (chủ thể OCOP) and the dated units their addresses point at."""

from __future__ import annotations

import re
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
class Producer:
    id: UUID
    name: str
    legal_form: LegalForm
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime

    @property
    def is_household(self) -> bool:
        return self.legal_form is LegalForm.HOUSEHOLD_BUSINESS


@dataclass(frozen=True, slots=True)
class RegisterProducer:
    name: str
    legal_form: LegalForm
    commune_code: str


@dataclass(frozen=True, slots=True)
class UpdateProducer:
    name: str | None = None
    commune_code: str | None = None


@dataclass(frozen=True, slots=True)
class ProducerRegistered:
    producer: Producer


@dataclass(frozen=True, slots=True)
class ProducerUpdated:
    producer: Producer


DomainEvent = ProducerRegistered | ProducerUpdated


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise RuleViolation("name", "must not be blank")
    if len(name) > 300:
        raise RuleViolation("name", "must be at most 300 characters")
    return name


def _check_commune(code: str) -> str:
    if not COMMUNE_CODE.fullmatch(code):
        raise RuleViolation("commune_code", "must be a 5-digit administrative unit code")
    return code


def register_producer(
    cmd: RegisterProducer, *, producer_id: UUID, now: datetime
) -> tuple[Producer, list[DomainEvent]]:
    producer = Producer(
        id=producer_id,
        name=_check_name(cmd.name),
        legal_form=LegalForm(cmd.legal_form),
        commune_code=_check_commune(cmd.commune_code),
        version=1,
        registered_at=now,
        updated_at=now,
    )
    return producer, [ProducerRegistered(producer)]


def update_producer(
    producer: Producer, cmd: UpdateProducer, *, now: datetime
) -> tuple[Producer, list[DomainEvent]]:
    changes: dict[str, str] = {}
    if cmd.name is not None and _check_name(cmd.name) != producer.name:
        changes["name"] = _check_name(cmd.name)
    if cmd.commune_code is not None and _check_commune(cmd.commune_code) != producer.commune_code:
        changes["commune_code"] = cmd.commune_code
    if not changes:
        return producer, []
    updated = replace(producer, **changes, version=producer.version + 1, updated_at=now)  # type: ignore[arg-type]
    return updated, [ProducerUpdated(updated)]
