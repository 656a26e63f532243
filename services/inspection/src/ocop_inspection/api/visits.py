"""Visits to producers and the checklist findings recorded at them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
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
    not_found,
    sort_param,
    use_case,
)
from ocop_inspection.usecases import inspector_units
from ocop_runtime.paging import ListPage, page_of

visits_router = APIRouter(tags=["visits"])

Text = Annotated[str, Field(min_length=1, max_length=500)]


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="Chosen by the caller to resend safely.")
    campaign_id: UUID | None = None
    producer_id: UUID
    visited_on: date
    product_ids: list[UUID] = Field(min_length=1, max_length=500)
    minutes: str | None = Field(default=None, max_length=20_000)
    reason_outside_sample: str | None = Field(default=None, max_length=1000)


class VisitOut(BaseModel):
    id: UUID
    campaign_id: UUID | None
    producer_id: UUID
    visited_on: date
    product_ids: list[UUID]
    unit: str | None
    minutes: str | None
    reason_outside_sample: str | None
    outside_sample: bool
    recorded_by: str
    recorded_at: datetime | None

    @classmethod
    def of(cls, v: domain.Visit) -> VisitOut:
        return cls(
            **{**v.__dict__, "product_ids": list(v.product_ids), "outside_sample": v.outside_sample}
        )


class VisitPage(ListPage[VisitOut]):
    """Visits matching the filters, a page at a time."""


@visits_router.post("/visits", response_model=VisitOut, status_code=201)
async def record_visit(
    body: VisitIn, response: Response, ctx: Ctx, who: Field_, ins: Ins
) -> VisitOut:
    """Record a visit (201; the same visit resent under its id: 200). A producer outside the
    campaign's sample needs ``reason_outside_sample``."""
    visit = domain.Visit(
        id=body.id or uuid4(),
        campaign_id=body.campaign_id,
        producer_id=body.producer_id,
        visited_on=body.visited_on,
        product_ids=tuple(body.product_ids),
        minutes=body.minutes,
        reason_outside_sample=body.reason_outside_sample,
        recorded_by=who.subject,
    )
    async with use_case(ctx, "record_visit", who, visit.id) as (conn, outcome):
        created = await ins.record_visit(conn, visit, inspector_units(who))
        outcome.result = "created" if created else "repeat"
        saved = await store.get_visit(conn, visit.id)
    if not created:
        response.status_code = 200
    assert saved is not None
    return VisitOut.of(saved)


@visits_router.get("/visits", response_model=VisitPage)
async def list_visits(
    ctx: Ctx,
    who: Field_,
    campaign_id: UUID | None = None,
    producer_id: UUID | None = None,
    product_id: UUID | None = None,
    unit: Annotated[str | None, Q(pattern=UNIT)] = None,
    visited_from: date | None = None,
    visited_to: date | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.VISIT_SORTS)] = "-visited_on",
) -> VisitPage:
    f = store.VisitFilter(
        campaign_id,
        producer_id,
        product_id,
        unit,
        visited_from,
        visited_to,
        units=inspector_units(who),
    )
    items, total, nxt = await page_of(
        store.VISIT_SORTS, sort, cursor, limit, lambda k: store.list_visits(ctx.pool, f, k)
    )
    return VisitPage(items=[VisitOut.of(v) for v in items], total=total, next_cursor=nxt)


@visits_router.get("/visits/{visit_id}", response_model=VisitOut)
async def get_visit(visit_id: UUID, ctx: Ctx, who: Field_) -> VisitOut:
    v = await store.get_visit(ctx.pool, visit_id)
    # Another unit's visit is answered as if it did not exist.
    if v is None or not await store.producer_in_units(
        ctx.pool, v.producer_id, inspector_units(who)
    ):
        raise not_found("visit_id", f"visit {visit_id} does not exist")
    return VisitOut.of(v)


# ---------------------------------------------------------------- findings


class LabSampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_code: str = Field(min_length=1, max_length=100)
    analysis: str = Field(min_length=1, max_length=200)
    result: domain.LabResult = domain.LabResult.PENDING
    laboratory: str | None = Field(default=None, max_length=200)


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="Chosen by the caller to resend safely.")
    product_id: UUID
    category: domain.Category
    severity: domain.Severity
    outcome: domain.Outcome
    criterion: str | None = Field(default=None, max_length=200)
    evidence: list[Text] = Field(default_factory=list, max_length=50)
    lab_sample: LabSampleIn | None = None
    note: str | None = Field(default=None, max_length=4000)
    remediation_deadline: date | None = None

    def draft(self) -> domain.FindingDraft:
        lab = self.lab_sample
        return domain.FindingDraft(
            id=self.id or uuid4(),
            product_id=self.product_id,
            category=self.category,
            severity=self.severity,
            outcome=self.outcome,
            criterion=self.criterion,
            evidence=tuple(self.evidence),
            lab_sample=(
                domain.LabSample(lab.sample_code, lab.analysis, lab.result, lab.laboratory)
                if lab
                else None
            ),
            note=self.note,
            remediation_deadline=self.remediation_deadline,
        )


class FindingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: list[FindingIn] = Field(min_length=1, max_length=500)


class FindingOut(BaseModel):
    id: UUID
    visit_id: UUID
    campaign_id: UUID | None
    producer_id: UUID
    product_id: UUID
    category: str
    severity: str
    outcome: str
    visited_on: date
    criterion: str | None
    evidence: list[str]
    lab_sample: dict[str, str | None] | None
    note: str | None
    remediation_deadline: date | None
    recorded_at: datetime | None

    @classmethod
    def of(cls, f: domain.Finding) -> FindingOut:
        lab = f.lab_sample
        return cls(
            **{
                **f.__dict__,
                "category": f.category.value,
                "severity": f.severity.value,
                "outcome": f.outcome.value,
                "evidence": list(f.evidence),
                "lab_sample": (
                    {
                        "sample_code": lab.sample_code,
                        "analysis": lab.analysis,
                        "result": lab.result.value,
                        "laboratory": lab.laboratory,
                    }
                    if lab
                    else None
                ),
            }
        )


class FindingsOut(BaseModel):
    recorded: int = Field(description="How many were new (a resent finding is not counted).")
    findings: list[FindingOut]


@visits_router.post("/visits/{visit_id}/findings", response_model=FindingsOut)
async def record_findings(
    visit_id: UUID, body: FindingsIn, ctx: Ctx, who: Field_, ins: Ins
) -> FindingsOut:
    """Record a visit's findings: each on a product checked at the visit and certified on its
    date; a remediation outcome needs a deadline after the visit."""
    drafts = [f.draft() for f in body.findings]
    async with use_case(ctx, "record_findings", who, visit_id) as (conn, outcome):
        recorded, saved = await ins.record_findings(conn, visit_id, drafts, inspector_units(who))
        outcome.result = f"{recorded} recorded"
    return FindingsOut(recorded=recorded, findings=[FindingOut.of(f) for f in saved])


class FindingPage(ListPage[FindingOut]):
    """Findings matching the filters, a page at a time."""


@visits_router.get("/findings", response_model=FindingPage)
async def list_findings(
    ctx: Ctx,
    who: Field_,
    campaign_id: UUID | None = None,
    visit_id: UUID | None = None,
    producer_id: UUID | None = None,
    product_id: UUID | None = None,
    category: domain.Category | None = None,
    severity: domain.Severity | None = None,
    outcome: domain.Outcome | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.FINDING_SORTS)] = "-visited_on",
) -> FindingPage:
    f = store.FindingFilter(
        campaign_id,
        visit_id,
        producer_id,
        product_id,
        category.value if category else None,
        severity.value if severity else None,
        outcome.value if outcome else None,
        units=inspector_units(who),
    )
    items, total, nxt = await page_of(
        store.FINDING_SORTS, sort, cursor, limit, lambda k: store.list_findings(ctx.pool, f, k)
    )
    return FindingPage(items=[FindingOut.of(x) for x in items], total=total, next_cursor=nxt)


@visits_router.get("/findings/{finding_id}", response_model=FindingOut)
async def get_finding(finding_id: UUID, ctx: Ctx, who: Field_) -> FindingOut:
    f = await store.get_finding(ctx.pool, finding_id)
    if f is None or not await store.producer_in_units(
        ctx.pool, f.producer_id, inspector_units(who)
    ):
        raise not_found("finding_id", f"finding {finding_id} does not exist")
    return FindingOut.of(f)
