"""Campaigns: the plan, its sample (by rule, by risk, by hand), closing and the report."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Response
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_inspection import domain, store
from ocop_inspection.api.common import (
    UNIT,
    Ctx,
    Cursor,
    Field_,
    Ins,
    Limit,
    Office,
    not_found,
    sort_param,
    use_case,
)
from ocop_inspection.usecases import inspector_units
from ocop_runtime.paging import ListPage, page_of

campaigns_router = APIRouter(tags=["campaigns"])

Unit = Annotated[str, Field(pattern=UNIT)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="Chosen by the caller to resend safely.")
    name: Name
    year: int = Field(ge=2018, le=2100)
    lead_agency: Name
    departments: list[Name] = Field(default_factory=list, max_length=20)
    scope: list[domain.Category] = Field(min_length=1, max_length=10)
    units: list[Unit] = Field(default_factory=list, max_length=200)
    target_producers: int = Field(ge=0, le=100_000)
    target_products: int = Field(ge=0, le=1_000_000)
    starts_on: date
    ends_on: date


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    lead_agency: Name | None = None
    departments: list[Name] | None = Field(default=None, max_length=20)
    scope: list[domain.Category] | None = Field(default=None, min_length=1, max_length=10)
    units: list[Unit] | None = Field(default=None, max_length=200)
    target_producers: int | None = Field(default=None, ge=0, le=100_000)
    target_products: int | None = Field(default=None, ge=0, le=1_000_000)
    starts_on: date | None = None
    ends_on: date | None = None


class CampaignOut(BaseModel):
    id: UUID
    name: str
    year: int
    lead_agency: str
    departments: list[str]
    scope: list[str]
    units: list[str]
    target_producers: int
    target_products: int
    starts_on: date
    ends_on: date
    status: str
    planned_at: datetime | None
    closed_at: datetime | None
    reported_at: datetime | None

    @classmethod
    def of(cls, c: domain.Campaign) -> CampaignOut:
        return cls(
            **{
                **c.__dict__,
                "departments": list(c.departments),
                "scope": [s.value for s in c.scope],
                "units": list(c.units),
                "status": c.status.value,
            }
        )


class CampaignPage(ListPage[CampaignOut]):
    """Campaigns matching the filters, a page at a time."""


def _campaign(body: CampaignIn, id_: UUID) -> domain.Campaign:
    return domain.Campaign(
        id=id_,
        name=body.name,
        year=body.year,
        lead_agency=body.lead_agency,
        departments=tuple(body.departments),
        scope=tuple(body.scope),
        units=tuple(body.units),
        target_producers=body.target_producers,
        target_products=body.target_products,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )


@campaigns_router.post("/campaigns", response_model=CampaignOut, status_code=201)
async def plan_campaign(
    body: CampaignIn, response: Response, ctx: Ctx, who: Office, ins: Ins
) -> CampaignOut:
    """Plan a campaign (201); resending the same plan under the same id answers 200."""
    id_ = body.id or uuid4()
    async with use_case(ctx, "plan_campaign", who, id_) as (conn, outcome):
        created = await ins.plan_campaign(conn, _campaign(body, id_))
        outcome.result = "created" if created else "repeat"
        c = await store.get_campaign(conn, id_)
    if not created:
        response.status_code = 200
    assert c is not None
    return CampaignOut.of(c)


@campaigns_router.get("/campaigns", response_model=CampaignPage)
async def list_campaigns(
    ctx: Ctx,
    who: Field_,
    status: Literal["planned", "running", "closed", "reported"] | None = None,
    year: Annotated[int | None, Q(ge=2018, le=2100)] = None,
    unit: Annotated[str | None, Q(pattern=UNIT)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.CAMPAIGN_SORTS)] = "-starts_on",
) -> CampaignPage:
    items, total, nxt = await page_of(
        store.CAMPAIGN_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_campaigns(ctx.pool, store.CampaignFilter(status, year, unit), k),
    )
    return CampaignPage(items=[CampaignOut.of(c) for c in items], total=total, next_cursor=nxt)


@campaigns_router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: UUID, ctx: Ctx, who: Field_, ins: Ins) -> CampaignOut:
    c = await store.get_campaign(ctx.pool, campaign_id)
    if c is None:
        raise not_found("campaign_id", f"campaign {campaign_id} does not exist")
    return CampaignOut.of(c)


@campaigns_router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
async def amend_campaign(
    campaign_id: UUID, body: CampaignPatch, ctx: Ctx, who: Office, ins: Ins
) -> CampaignOut:
    """Change a plan while the campaign is still planned (fields left out or null stay)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for key in ("departments", "scope", "units"):
        if key in changes:
            changes[key] = tuple(changes[key])
    async with use_case(ctx, "amend_campaign", who, campaign_id) as (conn, _):
        amended = await ins.amend_campaign(conn, campaign_id, changes)
    return CampaignOut.of(amended)


@campaigns_router.post("/campaigns/{campaign_id}/closure", response_model=CampaignOut)
async def close_campaign(campaign_id: UUID, ctx: Ctx, who: Office, ins: Ins) -> CampaignOut:
    async with use_case(ctx, "close_campaign", who, campaign_id) as (conn, _):
        closed = await ins.close_campaign(conn, campaign_id)
    return CampaignOut.of(closed)


# ---------------------------------------------------------------- the report


class ProducerMinutesOut(BaseModel):
    producer_id: UUID
    unit: str | None
    products_checked: int
    findings: int
    visits: list[dict[str, object]]


class ReportOut(BaseModel):
    campaign_id: UUID
    producers_planned: int
    products_planned: int
    producers_sampled: int
    products_sampled: int
    producers_inspected: int
    products_inspected: int
    units_covered: list[str]
    findings: int
    findings_by_category: dict[str, int]
    findings_by_severity: dict[str, int]
    outcomes: dict[str, int]
    producers: list[ProducerMinutesOut]

    @classmethod
    def of(cls, r: domain.Report) -> ReportOut:
        return cls(
            campaign_id=r.campaign_id,
            producers_planned=r.producers_planned,
            products_planned=r.products_planned,
            producers_sampled=r.producers_sampled,
            products_sampled=r.products_sampled,
            producers_inspected=r.producers_inspected,
            products_inspected=r.products_inspected,
            units_covered=list(r.units_covered),
            findings=r.findings,
            findings_by_category=r.by_category,
            findings_by_severity=r.by_severity,
            outcomes=r.outcomes,
            producers=[
                ProducerMinutesOut(
                    producer_id=p.producer_id,
                    unit=p.unit,
                    products_checked=p.products_checked,
                    findings=p.findings,
                    visits=[
                        {"visit_id": str(v), "visited_on": d.isoformat(), "minutes": m}
                        for v, d, m in p.visits
                    ],
                )
                for p in r.producers
            ],
        )


@campaigns_router.get("/campaigns/{campaign_id}/report", response_model=ReportOut)
async def campaign_report(campaign_id: UUID, ctx: Ctx, who: Field_, ins: Ins) -> ReportOut:
    """The campaign's figures as they stand: planned, sampled and inspected producers and
    products, units covered, findings by category and severity, outcomes, and per producer the
    minutes of its visits."""
    if await store.get_campaign(ctx.pool, campaign_id) is None:
        raise not_found("campaign_id", f"campaign {campaign_id} does not exist")
    report = await ins.campaign_report(ctx.pool, campaign_id)
    units = inspector_units(who)
    if units is not None:
        # The figures are the campaign's; the minutes per producer only those of your units.
        yours = await store.producers_in_units(
            ctx.pool, [p.producer_id for p in report.producers], units
        )
        report = replace(
            report, producers=tuple(p for p in report.producers if p.producer_id in yours)
        )
    return ReportOut.of(report)


@campaigns_router.post("/campaigns/{campaign_id}/report", response_model=ReportOut)
async def publish_report(campaign_id: UUID, ctx: Ctx, who: Office, ins: Ins) -> ReportOut:
    """Report a closed campaign: its figures are published (``CampaignReported``)."""
    async with use_case(ctx, "report_campaign", who, campaign_id) as (conn, _):
        r = await ins.publish_report(conn, campaign_id)
    return ReportOut.of(r)
