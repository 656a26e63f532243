"""Rounds: opening and listing them, the council, entries, returning an application, score
sheets, the integrity review, closing, and the recognition decision."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_evaluation import domain, store
from ocop_evaluation.api.common import (
    Council,
    Ctx,
    Cursor,
    Ev,
    LevelName,
    Member,
    Office,
    evaluation_of,
    use_case,
)
from ocop_runtime.app import ServiceContext, context_of
from ocop_runtime.audit import audited_statement
from ocop_runtime.paging import ListPage, page_of

rounds_router = APIRouter(prefix="/rounds", tags=["rounds"])


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

    @classmethod
    def of(cls, r: domain.Round, entries: int = 0) -> RoundOut:
        return cls(
            id=r.id,
            year=r.year,
            level=r.level.value,
            name=r.name,
            status=r.status.value,
            opened_at=r.opened_at,
            closed_at=r.closed_at,
            decision_number=r.decision_number,
            decision_date=r.decision_date,
            entries=entries,
        )


@rounds_router.post("", status_code=status.HTTP_201_CREATED, response_model=RoundOut)
async def open_round(body: RoundIn, ctx: Ctx, who: Office, ev: Ev) -> RoundOut:
    """Open a round; submitted applications waiting for this year and level join it."""
    async with use_case(ctx, "open_round", who) as (conn, outcome):
        opened = await ev.open_round(conn, body.year, domain.Level(body.level), body.name)
        outcome.aggregate_id = opened.round.id
        stored = await store.get_round(conn, opened.round.id)
    assert stored is not None
    return RoundOut.of(stored, entries=opened.joined)


class RoundPage(ListPage[RoundOut]):
    """Rounds matching the filters, a page at a time."""


@rounds_router.get("", response_model=RoundPage)
async def list_rounds(
    ctx: Ctx,
    who: Council,
    year: Annotated[int | None, Q(ge=2019, le=2100)] = None,
    level: LevelName | None = None,
    status_: Annotated[Literal["open", "closed", "decided"] | None, Q(alias="status")] = None,
    limit: Annotated[int, Q(ge=1, le=200)] = 50,
    cursor: Cursor = None,
    sort: Annotated[str, Q(description=", ".join(store.ROUND_SORTS))] = "-opened_at",
) -> RoundPage:
    """Rounds, newest first unless ``sort`` says otherwise."""
    filters = store.RoundFilter(
        year=year,
        level=domain.Level(level) if level else None,
        status=domain.RoundStatus(status_) if status_ else None,
    )
    found, total, next_cursor = await page_of(
        store.ROUND_SORTS, sort, cursor, limit, lambda k: store.list_rounds(ctx.pool, filters, k)
    )
    return RoundPage(
        items=[RoundOut.of(r, entries) for r, entries in found],
        total=total,
        next_cursor=next_cursor,
    )


async def _round_or_404(ctx: ServiceContext, round_id: UUID) -> domain.Round:
    found = await store.get_round(ctx.pool, round_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"round {round_id} does not exist")
    return found


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(min_length=1, max_length=200, description="The member's token subject.")
    name: str = Field(min_length=1, max_length=200)
    role: Literal["chair", "member"] = "member"
    unit_code: str | None = Field(
        default=None, max_length=10, description="Unit of origin (conflict-of-interest checks)."
    )
    ties: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Producers the member declared ties to; a product of one is flagged as a "
        "conflict of interest at every level.",
    )


class CouncilIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[MemberIn] = Field(min_length=1, max_length=30)


@rounds_router.put("/{round_id}/council", response_model=list[MemberIn])
async def set_council(
    round_id: UUID, body: CouncilIn, ctx: Ctx, who: Office, ev: Ev
) -> list[MemberIn]:
    """Name the round's council: at least three members, one chair."""
    seats = [
        domain.CouncilSeat(
            m.member_id,
            m.name,
            domain.CouncilRole(m.role),
            m.unit_code,
            tuple(str(t) for t in m.ties),
        )
        for m in body.members
    ]
    async with use_case(ctx, "set_council", who, round_id) as (conn, _):
        await ev.set_council(conn, round_id, seats)
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
    level: str | None = Field(default=None, description="The level of this entry.")

    @classmethod
    def of(cls, e: domain.Entry) -> EntryOut:
        return cls(
            application_id=e.application_id,
            product_id=e.product_id,
            kind=e.kind.value,
            regime=e.regime,
            product_set=e.product_set,
            commune_code=e.commune_code,
            submitted_on=e.submitted_on,
            status=e.status.value,
            result=e.result,
            level=e.level.value,
        )


class EntryPage(ListPage[EntryOut]):
    """Entries matching the filters, a page at a time."""


@rounds_router.get("/{round_id}/entries", response_model=EntryPage)
async def round_entries(
    round_id: UUID,
    ctx: Ctx,
    who: Council,
    status_: Annotated[
        domain.EntryStatus | None,
        Q(
            alias="status",
            description="Only entries in this status (default: those still in the round, "
            "neither withdrawn nor returned)",
        ),
    ] = None,
    product_id: UUID | None = None,
    limit: Annotated[int, Q(ge=1, le=500)] = 100,
    cursor: Cursor = None,
    sort: Annotated[str, Q(description=", ".join(store.ENTRY_SORTS))] = "created_at",
) -> EntryPage:
    """The products of a round and their results, in the order they joined unless ``sort``
    says otherwise; ``total`` counts them all."""
    await _round_or_404(ctx, round_id)
    filters = store.EntryFilter(
        round_id=round_id,
        status=status_,
        product_id=product_id,
    )
    items, total, next_cursor = await page_of(
        store.ENTRY_SORTS, sort, cursor, limit, lambda k: store.list_entries(ctx.pool, filters, k)
    )
    return EntryPage(items=[EntryOut.of(e) for e in items], total=total, next_cursor=next_cursor)


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
        entry = await store.get_entry(conn, application_id, round_id)
    assert entry is not None
    return EntryOut.of(entry)


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
    round_id: UUID, application_id: UUID, body: SheetIn, who: Member, request: Request
) -> SheetOut:
    """Hand in (or amend, until the round closes) your score sheet for one product."""
    # The busiest route of a round: its context and use cases come from the request, not from
    # two more dependencies to resolve (docs/PERFORMANCE.md, "Score sheet").
    ev, pool = evaluation_of(request), context_of(request).pool
    # The reads, then the sheet and its audit row in one statement: two round trips.
    async with audited_statement(pool, "submit_score_sheet", who, application_id) as (
        conn,
        audit,
    ):
        alone = await ev.submit_sheet(
            conn, round_id, application_id, who.subject, body.points, audit=audit
        )
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
    return RoundOut.of(await _round_or_404(ctx, round_id))


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
    return RoundOut.of(await _round_or_404(ctx, round_id))
