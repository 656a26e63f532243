"""The facts the read model keeps, each with the date it happened on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

# Hanoi's clock: a fact's date is the day it happened there (UTC+7, no daylight saving).
HANOI = timezone(timedelta(hours=7))
# The two-tier administration (province and commune) replaced districts on this day.
REORGANISATION = date(2025, 7, 1)


def local_date(moment: datetime) -> date:
    """The day in Hanoi of an instant (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(HANOI).date()


@dataclass(frozen=True, slots=True)
class ProducerFact:
    producer_id: UUID
    version: int
    legal_form: str
    commune_code: str
    district_code: str | None
    registered_on: date | None


@dataclass(frozen=True, slots=True)
class ProductFact:
    product_id: UUID
    version: int
    since: date  # the day this version took effect
    producer_id: UUID
    legal_form: str
    classification: str
    product_set: str
    sector: str
    statistics_sector: str
    commune_code: str
    district_code: str | None
    registered_on: date


@dataclass(frozen=True, slots=True)
class CertificateFact:
    certificate_id: UUID
    product_id: UUID
    kind: str  # certified | reevaluated | upgraded
    star: int
    level: str
    decision_date: date
    valid_from: date
    valid_until: date
    replaces: UUID | None
    application_id: UUID | None


@dataclass(frozen=True, slots=True)
class CertificateEnd:
    certificate_id: UUID
    reason: str  # expired | revoked
    ended_on: date


@dataclass(frozen=True, slots=True)
class NominationFact:
    application_id: UUID
    product_id: UUID
    nominated_on: date


@dataclass(frozen=True, slots=True)
class ApplicationFact:
    application_id: UUID
    product_id: UUID
    kind: str
    round_year: int
    statistics_sector: str
    submitted_on: date


@dataclass(frozen=True, slots=True)
class ResultFact:
    application_id: UUID
    level: str  # the council's level; "none" when not recognised without a level
    product_id: UUID
    outcome: str
    star: int | None
    decided_on: date


def unit_tier(day: date) -> str:
    """Statistics by unit count old districts before the reorganisation, communes after."""
    return "district" if day < REORGANISATION else "commune"
