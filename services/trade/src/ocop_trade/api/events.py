"""Promotion events and participations: scheduling, changing, the status steps, applications
and their decisions, withdrawal, and the lists."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, status
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_runtime.paging import ListPage, page_of
from ocop_trade import domain, store
from ocop_trade.api.common import (
    UNIT,
    Ctx,
    Cursor,
    Day,
    Limit,
    Officer,
    QueryDay,
    T,
    Text,
    Unit,
    not_found,
    refused,
    use_case,
)

events_router = APIRouter(tags=["promotion events"])

Kind = Literal[
    "fair",
    "regional_culture_week",
    "product_week",
    "livestream_festival",
    "online_market",
    "supply_demand_forum",
    "trade_link_workshop",
    "tet_space",
]
Status = Literal["planned", "registration_open", "running", "closed", "reported", "cancelled"]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="Choose it to make a resend harmless.")
    kind: Kind
    name: Text
    organiser: Text = Field(examples=["Sở Công Thương Hà Nội"])
    venue: Text = Field(description="The place, or the channel of an online event.")
    unit_code: str | None = Field(default=None, pattern=UNIT)
    district_code: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    starts_on: Day
    ends_on: Day
    capacity: int = Field(ge=1, le=100_000, description="Stalls, or slots of an online event.")
    admits_other_goods: bool = Field(
        default=False,
        description="True: other local specialties besides OCOP products with a live certificate.",
    )

    def domain(self, event_id: UUID) -> domain.Promotion:
        return domain.Promotion(
            id=event_id,
            kind=domain.PromotionKind(self.kind),
            name=self.name,
            organiser=self.organiser,
            venue=self.venue,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            capacity=self.capacity,
            admits_other_goods=self.admits_other_goods,
            unit_code=self.unit_code,
            district_code=self.district_code,
        )


class Attention(BaseModel):
    participation_id: UUID
    product_ids: list[UUID] = Field(description="Products without a live certificate any more.")


class EventOut(BaseModel):
    id: UUID
    kind: str
    name: str
    organiser: str
    venue: str
    unit_code: str | None
    district_code: str | None
    starts_on: Day
    ends_on: Day
    capacity: int
    admits_other_goods: bool
    status: str
    cancel_reason: str | None
    participants: int | None = None
    stalls_taken: int | None = None
    attention: list[Attention] = Field(
        default_factory=list,
        description="Accepted producers whose products lost their certificate since (OCOP-only"
        " events): what the event reports.",
    )

    @classmethod
    def of(cls, p: domain.Promotion) -> EventOut:
        return cls(
            id=p.id,
            kind=p.kind.value,
            name=p.name,
            organiser=p.organiser,
            venue=p.venue,
            unit_code=p.unit_code,
            district_code=p.district_code,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            capacity=p.capacity,
            admits_other_goods=p.admits_other_goods,
            status=p.status.value,
            cancel_reason=p.cancel_reason,
        )


async def _detail(ctx: Ctx, t: T, p: domain.Promotion) -> EventOut:
    out = EventOut.of(p)
    out.participants, out.stalls_taken = await store.stalls_taken(ctx.pool, p.id)
    out.attention = [
        Attention(participation_id=k, product_ids=v)
        for k, v in (await t.attention(ctx.pool, p)).items()
    ]
    return out


@events_router.post("/events", status_code=status.HTTP_201_CREATED, response_model=EventOut)
async def schedule_event(body: EventIn, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """Put a promotion event on the calendar (``planned``)."""
    event_id = body.id or uuid4()
    async with use_case(ctx, "schedule_event", who, event_id) as (conn, outcome):
        scheduled, created = await t.schedule(conn, body.domain(event_id))
        outcome.result = "created" if created else "repeat"
    return EventOut.of(scheduled)


class EventPage(ListPage[EventOut]):
    """Events matching the filters, a page at a time."""


@events_router.get("/events", response_model=EventPage)
async def list_events(
    ctx: Ctx,
    who: Officer,
    kind: Kind | None = None,
    status: Status | None = None,
    from_date: Annotated[QueryDay, Q(description="Events ending on or after this day.")] = None,
    to_date: Annotated[QueryDay, Q(description="Events starting on or before this day.")] = None,
    unit: Unit = None,
    producer_id: Annotated[UUID | None, Q(description="Events it takes part in.")] = None,
    product_id: Annotated[UUID | None, Q(description="Events it is brought to.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[
        str, Q(max_length=40, description=", ".join(store.PROMOTION_SORTS))
    ] = "starts_on",
) -> EventPage:
    """Promotion events, earliest first unless ``sort`` says otherwise."""
    f = store.PromotionFilter(
        kind=domain.PromotionKind(kind) if kind else None,
        status=domain.PromotionStatus(status) if status else None,
        from_date=from_date,
        to_date=to_date,
        unit=unit,
        producer_id=producer_id,
        product_id=product_id,
    )
    events, total, next_cursor = await page_of(
        store.PROMOTION_SORTS, sort, cursor, limit, lambda k: store.list_promotions(ctx.pool, f, k)
    )
    return EventPage(items=[EventOut.of(e) for e in events], total=total, next_cursor=next_cursor)


@events_router.get("/events/{event_id}", response_model=EventOut)
async def get_event(event_id: UUID, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """An event with its participants, stalls taken, and what needs attention."""
    found = await store.get_promotion(ctx.pool, event_id)
    if found is None:
        raise not_found("event_id", f"event {event_id} does not exist")
    return await _detail(ctx, t, found)


class EventChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    name: Text
    organiser: Text
    venue: Text
    unit_code: str | None = Field(default=None, pattern=UNIT)
    district_code: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    starts_on: Day
    ends_on: Day
    capacity: int = Field(ge=1, le=100_000)
    admits_other_goods: bool = False


@events_router.put("/events/{event_id}", response_model=EventOut)
async def change_event(event_id: UUID, body: EventChange, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """New details of an event that has not run yet (the capacity cannot drop below the stalls
    already given)."""
    async with use_case(ctx, "change_event", who, event_id) as (conn, _):
        changed = await t.amend(conn, event_id, EventIn(**body.model_dump()).domain(event_id))
    return EventOut.of(changed)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


async def _step(
    ctx: Ctx, who: Officer, t: T, event_id: UUID, what: domain.Step, reason: str | None = None
) -> EventOut:
    async with use_case(ctx, f"event_{what.value}", who, event_id) as (conn, _):
        moved = await t.step(conn, event_id, what, reason)
    return EventOut.of(moved)


@events_router.post("/events/{event_id}/registration", response_model=EventOut)
async def open_registration(event_id: UUID, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """planned → registration_open: producers may apply."""
    return await _step(ctx, who, t, event_id, domain.Step.OPEN_REGISTRATION)


@events_router.post("/events/{event_id}/start", response_model=EventOut)
async def start_event(event_id: UUID, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """→ running: registration is over."""
    return await _step(ctx, who, t, event_id, domain.Step.START)


@events_router.post("/events/{event_id}/closure", response_model=EventOut)
async def close_event(event_id: UUID, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """running → closed: outcomes can be recorded."""
    return await _step(ctx, who, t, event_id, domain.Step.CLOSE)


@events_router.post("/events/{event_id}/report", response_model=EventOut)
async def report_event(event_id: UUID, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """closed → reported: publishes the totals of the outcomes recorded."""
    return await _step(ctx, who, t, event_id, domain.Step.REPORT)


@events_router.post("/events/{event_id}/cancellation", response_model=EventOut)
async def cancel_event(event_id: UUID, body: Reason, ctx: Ctx, who: Officer, t: T) -> EventOut:
    """planned or registration_open → cancelled."""
    return await _step(ctx, who, t, event_id, domain.Step.CANCEL, body.reason)


# ---------------------------------------------------------------- participations


class ParticipationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participation_id: UUID | None = Field(
        default=None, description="Choose it to make a resend harmless."
    )
    producer_id: UUID
    product_ids: list[UUID] = Field(default_factory=list, max_length=50)
    other_goods: list[Text] = Field(default_factory=list, max_length=50)
    stalls: int = Field(default=1, ge=1, le=1000)


class ParticipationOut(BaseModel):
    id: UUID
    event_id: UUID
    producer_id: UUID
    product_ids: list[UUID]
    other_goods: list[str]
    stalls: int
    status: str
    reasons: list[str]

    @classmethod
    def of(cls, p: store.Participation) -> ParticipationOut:
        return cls(
            id=p.id,
            event_id=p.event_id,
            producer_id=p.producer_id,
            product_ids=list(p.product_ids),
            other_goods=list(p.other_goods),
            stalls=p.stalls,
            status=p.status.value,
            reasons=list(p.reasons),
        )


@events_router.post(
    "/events/{event_id}/participations",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipationOut,
)
async def apply_to_event(
    event_id: UUID, body: ParticipationIn, ctx: Ctx, who: Officer, t: T
) -> ParticipationOut:
    """A producer applies with the products it brings. Accepted: 201. Refused for a reason the
    producer can fix (a product without a live certificate on the event's dates at an
    OCOP-only event, capacity exceeded): 422 with every reason, and the refusal is kept
    (``GET /participations/{id}``) and published."""
    application = domain.Application(
        participation_id=body.participation_id or uuid4(),
        event_id=event_id,
        producer_id=body.producer_id,
        product_ids=tuple(body.product_ids),
        other_goods=tuple(body.other_goods),
        stalls=body.stalls,
    )
    async with use_case(ctx, "apply_to_event", who, application.participation_id) as (
        conn,
        outcome,
    ):
        applied = await t.apply(conn, application)
        outcome.result = (
            "refused"
            if not applied.decision.accepted
            else "created"
            if applied.created
            else "repeat"
        )
        stored = await store.get_participation(conn, application.participation_id)
    if not applied.decision.accepted:
        raise refused(applied.decision.problems)
    assert stored is not None
    return ParticipationOut.of(stored)


class ParticipationPage(ListPage[ParticipationOut]):
    """Participations matching the filters, a page at a time."""


@events_router.get("/participations", response_model=ParticipationPage)
async def list_participations(
    ctx: Ctx,
    who: Officer,
    event_id: UUID | None = None,
    producer_id: UUID | None = None,
    product_id: UUID | None = None,
    status: Literal["accepted", "refused", "withdrawn"] | None = None,
    kind: Kind | None = None,
    from_date: QueryDay = None,
    to_date: QueryDay = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[
        str, Q(max_length=40, description=", ".join(store.PARTICIPATION_SORTS))
    ] = "decided_at",
) -> ParticipationPage:
    """Applications and their decisions; ``from_date``/``to_date`` select by the event's dates."""
    f = store.ParticipationFilter(
        event_id=event_id,
        producer_id=producer_id,
        product_id=product_id,
        status=domain.ParticipationStatus(status) if status else None,
        kind=domain.PromotionKind(kind) if kind else None,
        from_date=from_date,
        to_date=to_date,
    )
    found, total, next_cursor = await page_of(
        store.PARTICIPATION_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_participations(ctx.pool, f, k),
    )
    return ParticipationPage(
        items=[ParticipationOut.of(p) for p in found], total=total, next_cursor=next_cursor
    )


@events_router.get("/participations/{participation_id}", response_model=ParticipationOut)
async def get_participation(participation_id: UUID, ctx: Ctx, who: Officer) -> ParticipationOut:
    found = await store.get_participation(ctx.pool, participation_id)
    if found is None:
        raise not_found("participation_id", f"participation {participation_id} does not exist")
    return ParticipationOut.of(found)


@events_router.post(
    "/participations/{participation_id}/withdrawal", response_model=ParticipationOut
)
async def withdraw_participation(
    participation_id: UUID, body: Reason, ctx: Ctx, who: Officer, t: T
) -> ParticipationOut:
    """Give up an accepted participation before the event runs, freeing its stalls."""
    async with use_case(ctx, "withdraw_participation", who, participation_id) as (conn, _):
        withdrawn = await t.withdraw(conn, participation_id, body.reason)
    return ParticipationOut.of(withdrawn)
