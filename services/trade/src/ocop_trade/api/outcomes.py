"""The outcome ledger and the reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, status
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_runtime.audit import http_problem
from ocop_runtime.paging import Keyset, ListPage, page_of, refused_on_query
from ocop_runtime.refusals import RuleViolation
from ocop_trade import domain, store
from ocop_trade.api.common import Ctx, Cursor, Day, Limit, Officer, QueryDay, T, not_found, use_case

outcomes_router = APIRouter(tags=["outcomes and reports"])

VND = Annotated[int, Field(ge=0, le=10**15)]


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="The same id again corrects the figures.")
    event_id: UUID | None = Field(default=None, description="The event, or")
    outlet_id: UUID | None = Field(default=None, description="the outlet (exactly one).")
    producer_id: UUID
    product_id: UUID | None = None
    period_start: Day
    period_end: Day
    sales_vnd: VND = 0
    quantity: int = Field(default=0, ge=0, le=10**12)
    contracts_signed: int = Field(default=0, ge=0, le=10**6)
    contracts_value_vnd: VND = 0
    buyers_met: int = Field(default=0, ge=0, le=10**7)


class OutcomeOut(BaseModel):
    id: UUID
    event_id: UUID | None
    outlet_id: UUID | None
    producer_id: UUID
    product_id: UUID | None
    period_start: Day
    period_end: Day
    sales_vnd: int
    quantity: int
    contracts_signed: int
    contracts_value_vnd: int
    buyers_met: int

    @classmethod
    def of(cls, o: domain.Outcome) -> OutcomeOut:
        return cls(
            id=o.id,
            event_id=o.event_id,
            outlet_id=o.outlet_id,
            producer_id=o.producer_id,
            product_id=o.product_id,
            period_start=o.period_start,
            period_end=o.period_end,
            sales_vnd=o.sales_vnd,
            quantity=o.quantity,
            contracts_signed=o.contracts_signed,
            contracts_value_vnd=o.contracts_value_vnd,
            buyers_met=o.buyers_met,
        )


@outcomes_router.post("/outcomes", status_code=status.HTTP_201_CREATED, response_model=OutcomeOut)
async def record_outcome(body: OutcomeIn, ctx: Ctx, who: Officer, t: T) -> OutcomeOut:
    """Record what an event (for a producer that took part) or an outlet (for a producer whose
    goods it lists) brought, over a period."""
    fields = body.model_dump(exclude={"id"})
    outcome = domain.Outcome(id=body.id or uuid4(), **fields)
    async with use_case(ctx, "record_outcome", who, outcome.id) as (conn, result):
        recorded, created = await t.record_outcome(conn, outcome)
        result.result = "created" if created else "repeat"
    return OutcomeOut.of(recorded)


class OutcomePage(ListPage[OutcomeOut]):
    """Outcomes matching the filters, a page at a time."""


@outcomes_router.get("/outcomes", response_model=OutcomePage)
async def list_outcomes(
    ctx: Ctx,
    who: Officer,
    event_id: UUID | None = None,
    outlet_id: UUID | None = None,
    producer_id: UUID | None = None,
    product_id: UUID | None = None,
    from_date: Annotated[QueryDay, Q(description="Periods ending on or after this day.")] = None,
    to_date: Annotated[QueryDay, Q(description="Periods starting on or before this day.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[
        str, Q(max_length=40, description=", ".join(store.OUTCOME_SORTS))
    ] = "period_start",
) -> OutcomePage:
    f = store.OutcomeFilter(
        event_id=event_id,
        outlet_id=outlet_id,
        producer_id=producer_id,
        product_id=product_id,
        from_date=from_date,
        to_date=to_date,
    )
    found, total, next_cursor = await page_of(
        store.OUTCOME_SORTS, sort, cursor, limit, lambda k: store.list_outcomes(ctx.pool, f, k)
    )
    return OutcomePage(
        items=[OutcomeOut.of(r.outcome) for r in found], total=total, next_cursor=next_cursor
    )


@outcomes_router.get("/outcomes/{outcome_id}", response_model=OutcomeOut)
async def get_outcome(outcome_id: UUID, ctx: Ctx, who: Officer) -> OutcomeOut:
    found = await store.get_outcome(ctx.pool, outcome_id)
    if found is None:
        raise not_found("outcome_id", f"outcome {outcome_id} does not exist")
    return OutcomeOut.of(found.outcome)


# ---------------------------------------------------------------- reports


class Figures(BaseModel):
    grp: str = Field(description="The event kind, or the unit (pre-2025 district when known).")
    events: int
    capacity: int
    stalls_taken: int
    producers: int
    products: int
    sales_vnd: int
    contracts_signed: int
    contracts_value_vnd: int
    buyers_met: int


class PromotionReport(BaseModel):
    from_date: date
    to_date: date
    by_kind: list[Figures]
    by_unit: list[Figures]


def _range(from_date: date, to_date: date) -> None:
    if to_date < from_date:
        raise http_problem(
            RuleViolation(
                "to_date", f"{to_date} is before from_date {from_date}: dates out of order"
            ),
            "query",
        )


@outcomes_router.get("/reports/promotions", response_model=PromotionReport)
async def promotion_report(
    ctx: Ctx,
    who: Officer,
    from_date: Annotated[date, Q(ge=date(2000, 1, 1), le=date(2100, 12, 31))],
    to_date: Annotated[date, Q(ge=date(2000, 1, 1), le=date(2100, 12, 31))],
) -> PromotionReport:
    """Events overlapping the range (not cancelled), per kind and per unit: how many, their
    capacity and stalls taken, the producers and products taking part, sales, contracts and
    buyers met."""
    _range(from_date, to_date)
    found = await store.reports.promotions(ctx.pool, from_date, to_date)
    return PromotionReport(
        from_date=from_date,
        to_date=to_date,
        by_kind=[Figures(**r) for r in found["by_kind"]],
        by_unit=[Figures(**r) for r in found["by_unit"]],
    )


class Goods(BaseModel):
    by_star: dict[str, int] = Field(description="OCOP goods on sale by star.")
    by_basis: dict[str, int] = Field(description="Goods on sale by basis.")


class OutletGoods(Goods):
    outlet_id: UUID
    name: str
    unit_code: str
    district_code: str | None


class OutletReport(BaseModel):
    on: date
    open: int = Field(description="Outlets open that day.")
    units: int = Field(description="Units they stand in (pre-2025 districts where known).")
    districts: int = Field(description="Pre-2025 districts among them.")
    opened_between: int | None = Field(
        description="Outlets opened from from_date to to_date, when given."
    )
    by_location_type: dict[str, int]
    by_star: dict[str, int]
    by_basis: dict[str, int]
    outlets: list[OutletGoods] = Field(description="One page of the outlets open that day.")
    next_cursor: str | None


@outcomes_router.get("/reports/outlets", response_model=OutletReport)
async def outlet_report(
    ctx: Ctx,
    who: Officer,
    t: T,
    on: QueryDay = None,
    from_date: QueryDay = None,
    to_date: QueryDay = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> OutletReport:
    """Points of sale open on ``on`` (default today), the units they cover, those opened in a
    range, and the goods on sale by star and basis, over all and per outlet (paged)."""
    day = on or t.today()
    if from_date is not None and to_date is not None:
        _range(from_date, to_date)
    summary: dict[str, Any] = await store.reports.outlets_summary(ctx.pool, day, from_date, to_date)
    with refused_on_query():
        keyset = Keyset.of(store.OUTLET_SORTS, "opened_on", cursor, limit)
        shown, page = await store.list_outlets(ctx.pool, store.OutletFilter(open_on=day), keyset)
    goods = await store.reports.listed_goods(ctx.pool, [o.id for o in shown], day)
    empty: dict[str, dict[str, int]] = {"by_star": {}, "by_basis": {}}
    return OutletReport(
        on=day,
        **summary,
        outlets=[
            OutletGoods(
                outlet_id=o.id,
                name=o.name,
                unit_code=o.unit_code,
                district_code=o.district_code,
                **goods.get(o.id, empty),
            )
            for o in shown
        ],
        next_cursor=keyset.next_cursor(page),
    )
