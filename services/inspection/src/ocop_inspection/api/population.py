"""The certified population inspection samples from (its copies of registry's products and
evaluation's certificates), complaints, the inspection clock and the overdue sweep."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Response
from fastapi import Query as Q
from pydantic import BaseModel, ConfigDict, Field

from ocop_inspection import store
from ocop_inspection.api.common import UNIT, Ctx, Field_, Ins, Office, not_found, use_case

population_router = APIRouter(tags=["population"])


class CertificateOut(BaseModel):
    certificate_id: UUID
    star: int
    decision_date: date
    valid_from: date
    valid_until: date
    state: str
    ended_on: date | None


class ProductOut(BaseModel):
    product_id: UUID
    producer_id: UUID
    name: str
    public_code: str
    product_set: str
    unit: str
    certificates: list[CertificateOut]


@population_router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(product_id: UUID, ctx: Ctx, who: Field_) -> ProductOut:
    """Inspection's copy of a product and of its certificates."""
    p = await store.get_product(ctx.pool, product_id)
    if p is None:
        raise not_found("product_id", f"product {product_id} is not known to inspection")
    held = (await store.certificates_of(ctx.pool, [product_id]))[product_id]
    return ProductOut(
        product_id=p.product_id,
        producer_id=p.producer_id,
        name=p.name,
        public_code=p.public_code,
        product_set=p.product_set,
        unit=p.unit,
        certificates=[
            CertificateOut(**{k: v for k, v in c.__dict__.items() if k != "product_id"})
            for c in sorted(held, key=lambda c: c.valid_from)
        ],
    )


class PopulationOut(BaseModel):
    as_of: date
    unit: str | None
    certified_products: int


@population_router.get("/population", response_model=PopulationOut)
async def population(
    ctx: Ctx,
    who: Field_,
    ins: Ins,
    as_of: date | None = None,
    unit: Annotated[str | None, Q(pattern=UNIT)] = None,
) -> PopulationOut:
    """How many products held a certificate on ``as_of`` (default today), in ``unit``."""
    day = as_of or await ins.today(ctx.pool)
    return PopulationOut(
        as_of=day, unit=unit, certified_products=await store.count_certified(ctx.pool, day, unit)
    )


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None
    product_id: UUID
    received_on: date
    reference: str = Field(min_length=1, max_length=200, description="The complaint's file.")


class ComplaintOut(BaseModel):
    id: UUID
    product_id: UUID
    received_on: date
    reference: str


@population_router.post("/complaints", response_model=ComplaintOut, status_code=201)
async def record_complaint(
    body: ComplaintIn, response: Response, ctx: Ctx, who: Field_, ins: Ins
) -> ComplaintOut:
    """A complaint about a product (by reference); it raises the product's sampling risk."""
    cid = body.id or uuid4()
    async with use_case(ctx, "record_complaint", who, cid) as (conn, outcome):
        created = await ins.record_complaint(
            conn, cid, body.product_id, body.received_on, body.reference
        )
        outcome.result = "created" if created else "repeat"
    if not created:
        response.status_code = 200
    return ComplaintOut(
        id=cid, product_id=body.product_id, received_on=body.received_on, reference=body.reference
    )


class ClockOut(BaseModel):
    now: datetime
    offset_days: int


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_days: int = Field(ge=1, le=3650)


@population_router.get("/clock", response_model=ClockOut)
async def read_clock(ctx: Ctx, who: Office, ins: Ins) -> ClockOut:
    return ClockOut(now=await ins.now(ctx.pool), offset_days=await store.clock_offset(ctx.pool))


@population_router.post("/clock", response_model=ClockOut)
async def advance_clock(body: ClockIn, ctx: Ctx, who: Office, ins: Ins) -> ClockOut:
    """Move the inspection clock forward (not in production): demonstrations and tests."""
    async with use_case(ctx, "advance_clock", who) as (conn, _):
        now = await ins.advance_clock(conn, body.advance_days)
        offset = await store.clock_offset(conn)
    return ClockOut(now=now, offset_days=offset)


class SweepOut(BaseModel):
    overdue: int


@population_router.post("/scheduler/run", response_model=SweepOut)
async def run_scheduler(ctx: Ctx, who: Office, ins: Ins) -> SweepOut:
    """Run the overdue sweep now instead of waiting for the next tick."""
    async with use_case(ctx, "run_overdue_sweep", who) as (conn, outcome):
        overdue = await ins.sweep_overdue(conn)
        outcome.result = f"{overdue} overdue"
    return SweepOut(overdue=overdue)
