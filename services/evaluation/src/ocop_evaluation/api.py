"""Evaluation HTTP API: rounds, councils, score sheets, closing, decisions, certificates, the
expiry radar, revocation, a product's history, and the evaluation clock."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_evaluation import domain, store
from ocop_evaluation.usecases import Evaluation
from ocop_runtime import audit
from ocop_runtime.app import ServiceContext, get_context
from ocop_runtime.auth import Principal, Role, require

Ctx = Annotated[ServiceContext, Depends(get_context)]
Office = Annotated[Principal, Depends(require(Role.CITY_OFFICE))]
Council = Annotated[Principal, Depends(require(Role.CITY_OFFICE, Role.COUNCIL_MEMBER))]
Member = Annotated[Principal, Depends(require(Role.COUNCIL_MEMBER))]


def get_evaluation(request: Request) -> Evaluation:
    evaluation: Evaluation = request.app.state.evaluation
    return evaluation


Ev = Annotated[Evaluation, Depends(get_evaluation)]


def use_case(
    ctx: ServiceContext, name: str, who: Principal, aggregate_id: object = None
) -> contextlib.AbstractAsyncContextManager[tuple[asyncpg.Connection, audit.Outcome]]:
    return audit.audited(ctx.pool, name, who, aggregate_id)


# ---------------------------------------------------------------- producers (local copy)

router = APIRouter(prefix="/producers", tags=["producers"])


class ProducerCopy(BaseModel):
    producer_id: UUID
    legal_form: str
    name: str | None
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime


@router.get("/{producer_id}", response_model=ProducerCopy)
async def get_producer(producer_id: UUID, ctx: Ctx, who: Council) -> ProducerCopy:
    row = await store.get_producer(ctx.pool, producer_id)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"producer {producer_id} is not known to evaluation (yet)"
        )
    return ProducerCopy(**row)


# ---------------------------------------------------------------- rounds

rounds_router = APIRouter(prefix="/rounds", tags=["rounds"])
LevelName = Literal["commune", "district", "city", "central"]


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2019, le=2100)
    level: LevelName
    name: str = Field(min_length=1, max_length=200, examples=["Vòng đánh giá cấp thành phố 2026"])


class RoundOut(BaseModel):
    id: UUID
    year: int
    level: str
    name: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    decision_number: str | None
    decision_date: date | None
    entries: int = 0


@rounds_router.post("", status_code=status.HTTP_201_CREATED, response_model=RoundOut)
async def open_round(body: RoundIn, ctx: Ctx, who: Office, ev: Ev) -> RoundOut:
    """Open a round; submitted applications waiting for this year and level join it."""
    async with use_case(ctx, "open_round", who) as (conn, outcome):
        round_id, joined = await ev.open_round(conn, body.year, domain.Level(body.level), body.name)
        outcome.aggregate_id = round_id
        row = await store.get_round(conn, round_id)
    assert row is not None
    return RoundOut(**dict(row), entries=joined)


class RoundPage(BaseModel):
    items: list[RoundOut]
    next_cursor: str | None


@rounds_router.get("", response_model=RoundPage)
async def list_rounds(
    ctx: Ctx,
    who: Council,
    year: Annotated[int | None, Q(ge=2019, le=2100)] = None,
    level: LevelName | None = None,
    status_: Annotated[Literal["open", "closed", "decided"] | None, Q(alias="status")] = None,
    limit: Annotated[int, Q(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Q(max_length=100)] = None,
) -> RoundPage:
    """Rounds, newest first."""
    before = None
    if cursor:
        try:
            at, ident = cursor.split("|")
            before = datetime.fromisoformat(at), UUID(ident)
        except ValueError as exc:
            raise HTTPException(400, "cursor is not one this API returned") from exc
    rows = await store.list_rounds(
        ctx.pool, year=year, level=level, status=status_, limit=limit, before=before
    )
    items = [RoundOut(**dict(r)) for r in rows]
    last = items[-1] if len(items) == limit else None
    return RoundPage(
        items=items, next_cursor=f"{last.opened_at.isoformat()}|{last.id}" if last else None
    )


async def _round_or_404(ctx: ServiceContext, round_id: UUID) -> asyncpg.Record:
    row = await store.get_round(ctx.pool, round_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"round {round_id} does not exist")
    return row


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(min_length=1, max_length=200, description="The member's token subject.")
    name: str = Field(min_length=1, max_length=200)
    role: Literal["chair", "member"] = "member"
    unit_code: str | None = Field(
        default=None, max_length=10, description="Unit of origin (conflict-of-interest checks)."
    )


class CouncilIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[MemberIn] = Field(min_length=1, max_length=30)


@rounds_router.put("/{round_id}/council", response_model=list[MemberIn])
async def set_council(
    round_id: UUID, body: CouncilIn, ctx: Ctx, who: Office, ev: Ev
) -> list[MemberIn]:
    """Name the round's council: at least three members, one chair."""
    async with use_case(ctx, "set_council", who, round_id) as (conn, _):
        await ev.set_council(conn, round_id, [m.model_dump() for m in body.members])
    return body.members


class EntryOut(BaseModel):
    application_id: UUID
    product_id: UUID
    kind: str
    regime: str
    product_set: str
    commune_code: str
    submitted_on: date
    status: str
    result: dict[str, Any] | None


@rounds_router.get("/{round_id}/entries", response_model=list[EntryOut])
async def round_entries(round_id: UUID, ctx: Ctx, who: Council) -> list[EntryOut]:
    await _round_or_404(ctx, round_id)
    rows = await store.round_entries(ctx.pool, round_id)
    return [
        EntryOut(
            **{
                **{k: r[k] for k in EntryOut.model_fields if k != "result"},
                "result": json.loads(r["result"]) if r["result"] else None,
            }
        )
        for r in rows
    ]


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[str] = Field(min_length=1, max_length=20)


@rounds_router.post("/{round_id}/entries/{application_id}/return", response_model=EntryOut)
async def return_application(
    round_id: UUID, application_id: UUID, body: ReturnIn, ctx: Ctx, who: Office, ev: Ev
) -> EntryOut:
    """Return an application to its producer with reasons; it leaves the round."""
    async with use_case(ctx, "return_application", who, application_id) as (conn, _):
        await ev.return_application(conn, round_id, application_id, body.reasons)
        row = await store.get_entry(conn, application_id, round_id)
    assert row is not None
    return EntryOut(
        **{k: row[k] for k in EntryOut.model_fields if k != "result"},
        result=json.loads(row["result"]) if row["result"] else None,
    )


class SheetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: dict[str, Decimal] = Field(
        description='Points per criterion id of the product\'s score sheet, e.g. {"A1.1": 3}',
        max_length=200,
    )


class SheetOut(BaseModel):
    application_id: UUID
    member_id: str
    total: Decimal
    band: int


@rounds_router.put("/{round_id}/sheets/{application_id}", response_model=SheetOut)
async def submit_sheet(
    round_id: UUID, application_id: UUID, body: SheetIn, ctx: Ctx, who: Member, ev: Ev
) -> SheetOut:
    """Hand in (or amend, until the round closes) your score sheet for one product."""
    async with use_case(ctx, "submit_score_sheet", who, application_id) as (conn, _):
        alone = await ev.submit_sheet(conn, round_id, application_id, who.subject, body.points)
    return SheetOut(
        application_id=application_id, member_id=who.subject, total=alone.score, band=alone.band
    )


class FlagOut(BaseModel):
    application_id: UUID
    kind: str
    detail: str
    member_id: str | None
    criterion_id: str | None


class ReviewOut(BaseModel):
    flags: list[FlagOut]
    missing: list[str]


@rounds_router.get("/{round_id}/review", response_model=ReviewOut)
async def review_round(round_id: UUID, ctx: Ctx, who: Council, ev: Ev) -> ReviewOut:
    """What stands before closing: missing sheets and integrity flags (conflicts of interest,
    deviating members, divergent criteria)."""
    await _round_or_404(ctx, round_id)
    results, missing = await ev.results(ctx.pool, round_id)
    flags = [
        FlagOut(
            application_id=aid,
            kind=f.kind.value,
            detail=f.detail,
            member_id=f.member_id,
            criterion_id=f.criterion_id,
        )
        for aid, (_, found) in results.items()
        for f in found
    ]
    return ReviewOut(flags=flags, missing=missing)


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override_reason: str | None = Field(
        default=None, max_length=1000, description="Close despite integrity flags, saying why."
    )


@rounds_router.post("/{round_id}/closure", response_model=RoundOut)
async def close_round(round_id: UUID, body: ClosureIn, ctx: Ctx, who: Office, ev: Ev) -> RoundOut:
    """Close the round: refused while sheets are missing, or while integrity flags stand
    unless overridden with a reason. Publishes each product's result."""
    async with use_case(ctx, "close_round", who, round_id) as (conn, _):
        await ev.close_round(conn, round_id, body.override_reason)
    return RoundOut(**dict(await _round_or_404(ctx, round_id)))


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_number: str = Field(min_length=1, max_length=60, examples=["1147/QĐ-UBND"])
    decision_date: date


@rounds_router.post("/{round_id}/decision", response_model=RoundOut)
async def record_decision(
    round_id: UUID, body: DecisionIn, ctx: Ctx, who: Office, ev: Ev
) -> RoundOut:
    """Record the recognition decision: certificates, valid 36 months from its date."""
    async with use_case(ctx, "record_decision", who, round_id) as (conn, _):
        await ev.decide(conn, round_id, body.decision_number, body.decision_date)
    return RoundOut(**dict(await _round_or_404(ctx, round_id)))


# ---------------------------------------------------------------- certificates

certificates_router = APIRouter(tags=["certificates"])


class CertificateOut(BaseModel):
    id: UUID
    number: str
    product_id: UUID
    application_id: UUID | None
    star: int
    level: str
    score: Decimal | None
    decision_number: str
    decision_date: date
    valid_until: date
    rulebook: str
    rulebook_version: int
    state: str
    ended_on: date | None
    replaces: UUID | None
    replaced_by: UUID | None
    revocation: dict[str, Any] | None
    notices_sent: list[int]

    @classmethod
    def of(cls, r: asyncpg.Record) -> CertificateOut:
        values = {k: r[k] for k in cls.model_fields if k != "revocation"}
        return cls(**values, revocation=json.loads(r["revocation"]) if r["revocation"] else None)


class CertificatePage(BaseModel):
    items: list[CertificateOut]
    next_cursor: str | None


def _cursor(value: str | None) -> tuple[date, UUID] | None:
    if not value:
        return None
    try:
        day, ident = value.split("|")
        return date.fromisoformat(day), UUID(ident)
    except ValueError as exc:
        raise HTTPException(400, "cursor is not one this API returned") from exc


async def _certificates(
    ctx: ServiceContext, ending_by: date | None, **filters: Any
) -> CertificatePage:
    limit = filters.pop("limit")
    rows = await store.list_certificates(
        ctx.pool, ending_by=ending_by, after=_cursor(filters.pop("cursor")), limit=limit, **filters
    )
    items = [CertificateOut.of(r) for r in rows]
    last = items[-1] if len(items) == limit else None
    return CertificatePage(
        items=items, next_cursor=f"{last.valid_until.isoformat()}|{last.id}" if last else None
    )


@certificates_router.get("/certificates", response_model=CertificatePage)
async def list_certificates(
    ctx: Ctx,
    who: Council,
    product_id: UUID | None = None,
    star: Annotated[int | None, Q(ge=3, le=5)] = None,
    state: Literal["live", "expired", "revoked", "replaced"] | None = None,
    level: LevelName | None = None,
    product_set: Annotated[str | None, Q(max_length=80)] = None,
    unit: Annotated[
        str | None, Q(pattern=r"^[0-9]{3,5}$", description="Commune or pre-2025 district")
    ] = None,
    round_id: UUID | None = None,
    limit: Annotated[int, Q(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Q(max_length=100)] = None,
) -> CertificatePage:
    return await _certificates(
        ctx,
        None,
        product_id=product_id,
        star=star,
        state=state,
        level=level,
        product_set=product_set,
        unit=unit,
        round_id=round_id,
        limit=limit,
        cursor=cursor,
    )


@certificates_router.get("/certificates/expiring", response_model=CertificatePage)
async def expiring_certificates(
    ctx: Ctx,
    who: Council,
    ev: Ev,
    within_days: Annotated[int, Q(ge=0, le=3650)] = 90,
    limit: Annotated[int, Q(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Q(max_length=100)] = None,
) -> CertificatePage:
    """The expiry radar: live certificates ending within ``within_days`` of today (the
    evaluation clock), soonest first."""
    today = (await ev.now(ctx.pool)).date()
    return await _certificates(
        ctx,
        today + timedelta(days=within_days),
        product_id=None,
        star=None,
        state="live",
        level=None,
        limit=limit,
        cursor=cursor,
    )


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grounds: list[domain.RevocationGround] = Field(min_length=1, max_length=6)
    decision_number: str = Field(min_length=1, max_length=60)
    decision_date: date
    revoked_on: date | None = None


@certificates_router.post(
    "/certificates/{certificate_id}/revocation", response_model=CertificateOut
)
async def revoke_certificate(
    certificate_id: UUID, body: RevocationIn, ctx: Ctx, who: Office, ev: Ev
) -> CertificateOut:
    """Revoke a live certificate by the committee's decision, on at least one ground."""
    async with use_case(ctx, "revoke_certificate", who, certificate_id) as (conn, _):
        await ev.revoke(
            conn,
            certificate_id,
            [g.value for g in body.grounds],
            body.decision_number,
            body.decision_date,
            body.revoked_on,
        )
        row = await store.get_certificate(conn, certificate_id)
    assert row is not None
    return CertificateOut.of(row)


class HistoryOut(BaseModel):
    product_id: UUID
    applications: list[EntryOut]
    certificates: list[CertificateOut]


@certificates_router.get("/products/{product_id}/history", response_model=HistoryOut)
async def product_history(product_id: UUID, ctx: Ctx, who: Council) -> HistoryOut:
    """Every result and certificate of a product."""
    entries = await ctx.pool.fetch(
        "SELECT * FROM entries WHERE product_id = $1 ORDER BY created_at", product_id
    )
    certificates = await store.product_certificates(ctx.pool, product_id)
    return HistoryOut(
        product_id=product_id,
        applications=[
            EntryOut(
                **{
                    **{k: r[k] for k in EntryOut.model_fields if k != "result"},
                    "result": json.loads(r["result"]) if r["result"] else None,
                }
            )
            for r in entries
        ],
        certificates=[CertificateOut.of(r) for r in certificates],
    )


class RecommendationOut(BaseModel):
    id: UUID
    product_id: UUID
    certificate_id: UUID | None
    grounds: list[str]
    findings: list[str]
    recommended_at: datetime
    decided: str | None


@certificates_router.get("/revocation-recommendations", response_model=list[RecommendationOut])
async def pending_recommendations(
    ctx: Ctx, who: Office, limit: Annotated[int, Q(ge=1, le=500)] = 100
) -> list[RecommendationOut]:
    """Inspection's recommendations waiting for the committee."""
    return [
        RecommendationOut(**dict(r)) for r in await store.pending_recommendations(ctx.pool, limit)
    ]


class RecommendationDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoke: bool
    decision_number: str = Field(min_length=1, max_length=60)
    decision_date: date


@certificates_router.post(
    "/revocation-recommendations/{recommendation_id}/decision", response_model=RecommendationOut
)
async def decide_recommendation(
    recommendation_id: UUID, body: RecommendationDecisionIn, ctx: Ctx, who: Office, ev: Ev
) -> RecommendationOut:
    async with use_case(ctx, "decide_revocation_recommendation", who, recommendation_id) as (
        conn,
        _,
    ):
        await ev.decide_recommendation(
            conn,
            recommendation_id,
            revoke=body.revoke,
            decision_number=body.decision_number,
            decision_date=body.decision_date,
        )
        row = await store.get_recommendation(conn, recommendation_id)
    assert row is not None
    return RecommendationOut(**dict(row))


# ---------------------------------------------------------------- the clock

clock_router = APIRouter(tags=["clock"])


class ClockOut(BaseModel):
    now: datetime
    offset_days: int


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_days: int = Field(ge=1, le=3650)


class SweepOut(BaseModel):
    notices: int
    expired: int


@clock_router.get("/clock", response_model=ClockOut)
async def read_clock(ctx: Ctx, who: Office, ev: Ev) -> ClockOut:
    return ClockOut(now=await ev.now(ctx.pool), offset_days=await store.clock_offset(ctx.pool))


@clock_router.post("/clock", response_model=ClockOut)
async def advance_clock(body: ClockIn, ctx: Ctx, who: Office, ev: Ev) -> ClockOut:
    """Move the evaluation clock forward (not in production): demonstrations and tests."""
    async with use_case(ctx, "advance_clock", who) as (conn, _):
        now = await ev.advance_clock(conn, body.advance_days)
        offset = await store.clock_offset(conn)
    return ClockOut(now=now, offset_days=offset)


@clock_router.post("/scheduler/run", response_model=SweepOut)
async def run_scheduler(ctx: Ctx, who: Office, ev: Ev) -> SweepOut:
    """Run the expiry sweep now instead of waiting for the next tick."""
    async with use_case(ctx, "run_expiry_sweep", who) as (conn, outcome):
        counts = await ev.sweep(conn)
        outcome.result = f"{counts['notices']} notices, {counts['expired']} expired"
    return SweepOut(**counts)
