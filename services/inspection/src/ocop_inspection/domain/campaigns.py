"""A campaign's plan and its life: planned -> running -> closed -> reported."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from ocop_inspection.domain.common import Category, require
from ocop_runtime.refusals import RuleViolation


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    CLOSED = "closed"
    REPORTED = "reported"


@dataclass(frozen=True)
class Campaign:
    id: UUID
    name: str
    year: int
    lead_agency: str
    departments: tuple[str, ...]
    scope: tuple[Category, ...]
    units: tuple[str, ...]
    target_producers: int
    target_products: int
    starts_on: date
    ends_on: date
    status: CampaignStatus = CampaignStatus.PLANNED
    planned_at: datetime | None = None
    closed_at: datetime | None = None
    reported_at: datetime | None = None


def plan(c: Campaign) -> Campaign:
    """Check a new campaign's plan."""
    require(bool(c.name.strip()), "name", "must not be blank")
    require(bool(c.lead_agency.strip()), "lead_agency", "must not be blank")
    require(c.ends_on >= c.starts_on, "ends_on", "must not be before starts_on")
    require(c.starts_on.year == c.year, "starts_on", f"must fall in the campaign's year {c.year}")
    require(bool(c.scope), "scope", "name at least one checklist category")
    require(len(set(c.units)) == len(c.units), "units", "lists a unit twice")
    return replace(c, status=CampaignStatus.PLANNED)


def may_sample(c: Campaign) -> None:
    if c.status not in (CampaignStatus.PLANNED, CampaignStatus.RUNNING):
        raise RuleViolation("campaign_id", f"the campaign is {c.status}: its sample is final")


def may_visit(c: Campaign, day: date) -> Campaign:
    """A visit under the campaign: it must be open and the day inside its dates; the first
    visit starts it."""
    if c.status not in (CampaignStatus.PLANNED, CampaignStatus.RUNNING):
        raise RuleViolation("campaign_id", f"the campaign is {c.status}: no more visits")
    require(
        c.starts_on <= day <= c.ends_on,
        "visited_on",
        f"must fall within the campaign, {c.starts_on} to {c.ends_on}",
    )
    return replace(c, status=CampaignStatus.RUNNING)


def close(c: Campaign, at: datetime) -> Campaign:
    if c.status not in (CampaignStatus.PLANNED, CampaignStatus.RUNNING):
        raise RuleViolation("status", f"the campaign is already {c.status}")
    return replace(c, status=CampaignStatus.CLOSED, closed_at=at)


def mark_reported(c: Campaign, at: datetime) -> Campaign:
    if c.status is not CampaignStatus.CLOSED:
        raise RuleViolation("status", f"only a closed campaign is reported (it is {c.status})")
    return replace(c, status=CampaignStatus.REPORTED, reported_at=at)


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class VisitFacts:
    visit_id: UUID
    producer_id: UUID
    unit: str | None
    visited_on: date
    product_ids: tuple[UUID, ...]
    minutes: str | None


@dataclass(frozen=True)
class FindingFacts:
    visit_id: UUID
    product_id: UUID
    category: str
    severity: str
    outcome: str


@dataclass(frozen=True)
class ProducerMinutes:
    producer_id: UUID
    unit: str | None
    visits: tuple[tuple[UUID, date, str | None], ...]  # visit id, day, minutes
    products_checked: int
    findings: int


@dataclass(frozen=True)
class Report:
    campaign_id: UUID
    producers_planned: int
    products_planned: int
    producers_sampled: int
    products_sampled: int
    producers_inspected: int
    products_inspected: int
    units_covered: tuple[str, ...]
    findings: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    outcomes: dict[str, int]
    producers: tuple[ProducerMinutes, ...] = field(default=())


def report(
    c: Campaign,
    sampled_producers: Collection[UUID],
    sampled_products: Collection[UUID],
    visits: Sequence[VisitFacts],
    findings: Sequence[FindingFacts],
) -> Report:
    """The campaign's figures: planned, sampled and inspected, units covered, findings by
    category and severity, outcomes, and per producer the minutes of its visits."""
    products = {p for v in visits for p in v.product_ids}
    units = sorted({v.unit for v in visits if v.unit})
    per_visit = Counter(f.visit_id for f in findings)
    producers: dict[UUID, list[VisitFacts]] = {}
    for v in sorted(visits, key=lambda v: (v.visited_on, str(v.visit_id))):
        producers.setdefault(v.producer_id, []).append(v)
    minutes = tuple(
        ProducerMinutes(
            producer_id=pid,
            unit=vs[0].unit,
            visits=tuple((v.visit_id, v.visited_on, v.minutes) for v in vs),
            products_checked=len({p for v in vs for p in v.product_ids}),
            findings=sum(per_visit[v.visit_id] for v in vs),
        )
        for pid, vs in sorted(producers.items(), key=lambda kv: str(kv[0]))
    )
    return Report(
        campaign_id=c.id,
        producers_planned=c.target_producers,
        products_planned=c.target_products,
        producers_sampled=len(set(sampled_producers)),
        products_sampled=len(set(sampled_products)),
        producers_inspected=len(producers),
        products_inspected=len(products),
        units_covered=tuple(units),
        findings=len(findings),
        by_category=dict(sorted(Counter(f.category for f in findings).items())),
        by_severity=dict(sorted(Counter(f.severity for f in findings).items())),
        outcomes=dict(sorted(Counter(f.outcome for f in findings).items())),
        producers=minutes,
    )
