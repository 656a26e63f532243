"""What follows a visit: remediations, due-process notices and replies, and the
recommendations sent to evaluation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ocop_inspection import domain, store
from ocop_inspection.api.common import (
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

followup_router = APIRouter(tags=["follow-up"])


class RemediationOut(BaseModel):
    id: UUID
    finding_id: UUID
    producer_id: UUID
    product_id: UUID
    campaign_id: UUID | None
    required_on: date
    deadline: date
    status: str
    completed_on: date | None
    late: bool
    overdue_on: date | None

    @classmethod
    def of(cls, r: domain.Remediation) -> RemediationOut:
        return cls(**{**r.__dict__, "status": r.status.value})


class RemediationPage(ListPage[RemediationOut]):
    """Remediations matching the filters, a page at a time."""


@followup_router.get("/remediations", response_model=RemediationPage)
async def list_remediations(
    ctx: Ctx,
    who: Field_,
    status: Literal["open", "overdue", "completed", "escalated"] | None = None,
    campaign_id: UUID | None = None,
    producer_id: UUID | None = None,
    product_id: UUID | None = None,
    due_by: date | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.REMEDIATION_SORTS)] = "deadline",
) -> RemediationPage:
    f = store.RemediationFilter(
        status, campaign_id, producer_id, product_id, due_by, units=inspector_units(who)
    )
    items, total, nxt = await page_of(
        store.REMEDIATION_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_remediations(ctx.pool, f, k),
    )
    return RemediationPage(
        items=[RemediationOut.of(r) for r in items], total=total, next_cursor=nxt
    )


@followup_router.get("/remediations/{remediation_id}", response_model=RemediationOut)
async def get_remediation(remediation_id: UUID, ctx: Ctx, who: Field_) -> RemediationOut:
    r = await store.get_remediation(ctx.pool, remediation_id)
    if r is None or not await store.producer_in_units(
        ctx.pool, r.producer_id, inspector_units(who)
    ):
        raise not_found("remediation_id", f"remediation {remediation_id} does not exist")
    return RemediationOut.of(r)


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed_on: date


@followup_router.post("/remediations/{remediation_id}/completion", response_model=RemediationOut)
async def complete_remediation(
    remediation_id: UUID, body: CompletionIn, ctx: Ctx, who: Field_, ins: Ins
) -> RemediationOut:
    """The producer remediated (late when after the deadline)."""
    async with use_case(ctx, "complete_remediation", who, remediation_id) as (conn, _):
        done = await ins.complete_remediation(
            conn, remediation_id, body.completed_on, inspector_units(who)
        )
    return RemediationOut.of(done)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: date


@followup_router.post("/remediations/{remediation_id}/extension", response_model=RemediationOut)
async def extend_remediation(
    remediation_id: UUID, body: ExtensionIn, ctx: Ctx, who: Field_, ins: Ins
) -> RemediationOut:
    """A later deadline (reopens an overdue remediation)."""
    async with use_case(ctx, "extend_remediation", who, remediation_id) as (conn, _):
        extended = await ins.extend_remediation(
            conn, remediation_id, body.deadline, inspector_units(who)
        )
    return RemediationOut.of(extended)


# ---------------------------------------------------------------- due process


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None
    finding_ids: list[UUID] = Field(min_length=1, max_length=100)
    proposed: domain.Proposed
    grounds: list[
        Literal[
            "not_reevaluated",
            "failed_mandatory_criteria",
            "food_safety_breach",
            "process_not_followed",
            "quality_mismatch",
            "operation_suspended",
        ]
    ] = Field(default_factory=list, max_length=6)
    reply_days: int = Field(default=domain.DEFAULT_REPLY_DAYS, ge=1, le=365)


class NoticeOut(BaseModel):
    id: UUID
    producer_id: UUID
    product_id: UUID
    finding_ids: list[UUID]
    proposed: str
    grounds: list[str]
    notified_on: date
    reply_by: date
    status: str
    reply: str | None
    replied_on: date | None
    recommendation_id: UUID | None

    @classmethod
    def of(cls, n: domain.Notice) -> NoticeOut:
        return cls(
            **{
                **n.__dict__,
                "finding_ids": list(n.finding_ids),
                "grounds": list(n.grounds),
                "proposed": n.proposed.value,
                "status": n.status.value,
            }
        )


class NoticePage(ListPage[NoticeOut]):
    """Notices matching the filters, a page at a time."""


@followup_router.post("/notices", response_model=NoticeOut, status_code=201)
async def issue_notice(body: NoticeIn, ctx: Ctx, who: Office, ins: Ins) -> NoticeOut:
    """Notify the producer of findings on one product and of the recommendation proposed; it
    may reply until ``reply_by``. An overdue remediation of those findings is escalated."""
    nid = body.id or uuid4()
    async with use_case(ctx, "issue_notice", who, nid) as (conn, _):
        n = await ins.issue_notice(
            conn, nid, body.finding_ids, body.proposed, list(body.grounds), body.reply_days
        )
    return NoticeOut.of(n)


@followup_router.get("/notices", response_model=NoticePage)
async def list_notices(
    ctx: Ctx,
    who: Field_,
    status: Literal["open", "replied", "recommended", "withdrawn"] | None = None,
    product_id: UUID | None = None,
    producer_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.NOTICE_SORTS)] = "-notified_on",
) -> NoticePage:
    f = store.NoticeFilter(status, product_id, producer_id, units=inspector_units(who))
    items, total, nxt = await page_of(
        store.NOTICE_SORTS, sort, cursor, limit, lambda k: store.list_notices(ctx.pool, f, k)
    )
    return NoticePage(items=[NoticeOut.of(n) for n in items], total=total, next_cursor=nxt)


@followup_router.get("/notices/{notice_id}", response_model=NoticeOut)
async def get_notice(notice_id: UUID, ctx: Ctx, who: Field_) -> NoticeOut:
    n = await store.get_notice(ctx.pool, notice_id)
    if n is None or not await store.producer_in_units(
        ctx.pool, n.producer_id, inspector_units(who)
    ):
        raise not_found("notice_id", f"notice {notice_id} does not exist")
    return NoticeOut.of(n)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply: str = Field(min_length=1, max_length=20_000)


@followup_router.post("/notices/{notice_id}/reply", response_model=NoticeOut)
async def record_reply(
    notice_id: UUID, body: ReplyIn, ctx: Ctx, who: Field_, ins: Ins
) -> NoticeOut:
    """Record the producer's reply (once, while the notice is open)."""
    async with use_case(ctx, "record_reply", who, notice_id) as (conn, _):
        n = await ins.record_reply(conn, notice_id, body.reply, inspector_units(who))
    return NoticeOut.of(n)


@followup_router.post("/notices/{notice_id}/withdrawal", response_model=NoticeOut)
async def withdraw_notice(notice_id: UUID, ctx: Ctx, who: Office, ins: Ins) -> NoticeOut:
    async with use_case(ctx, "withdraw_notice", who, notice_id) as (conn, _):
        n = await ins.withdraw_notice(conn, notice_id)
    return NoticeOut.of(n)


class RecommendationOut(BaseModel):
    id: UUID
    kind: str
    notice_id: UUID
    producer_id: UUID
    product_id: UUID
    certificate_id: UUID | None
    grounds: list[str]
    findings: list[str]
    recommended_at: datetime

    @classmethod
    def of(cls, r: store.Recommendation) -> RecommendationOut:
        return cls(**{**r.__dict__, "grounds": list(r.grounds), "findings": list(r.findings)})


class RecommendationPage(ListPage[RecommendationOut]):
    """Recommendations matching the filters, a page at a time."""


@followup_router.post("/notices/{notice_id}/recommendation", response_model=RecommendationOut)
async def recommend(notice_id: UUID, ctx: Ctx, who: Office, ins: Ins) -> RecommendationOut:
    """Send the notice's recommendation (revocation or re-evaluation) to evaluation; refused
    while the producer's reply period runs."""
    async with use_case(ctx, "recommend", who, notice_id) as (conn, _):
        r = await ins.recommend(conn, notice_id)
    return RecommendationOut.of(r)


@followup_router.get("/recommendations", response_model=RecommendationPage)
async def list_recommendations(
    ctx: Ctx,
    who: Field_,
    kind: Literal["revocation", "reevaluation"] | None = None,
    product_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.RECOMMENDATION_SORTS)] = "-recommended_at",
) -> RecommendationPage:
    items, total, nxt = await page_of(
        store.RECOMMENDATION_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_recommendations(ctx.pool, kind, product_id, k, inspector_units(who)),
    )
    return RecommendationPage(
        items=[RecommendationOut.of(r) for r in items], total=total, next_cursor=nxt
    )
