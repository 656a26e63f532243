"""A campaign's sample: drawing it by rule or by risk, adding a producer by hand, listing it,
and the record of every draw (method, seed, parameters) that reproduces it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
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
from ocop_inspection.usecases import DrawResult, inspector_units
from ocop_runtime.audit import http_problem
from ocop_runtime.paging import ListPage, page_of
from ocop_runtime.refusals import RuleViolation

samples_router = APIRouter(tags=["samples"])


class DrawIn(BaseModel):
    """``rule``: every product certified in the years (and/or the units) named; ``risk``: a
    weighted draw of ``size`` products by risk, reproducible from ``seed``."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["rule", "risk"]
    certified_from_year: int | None = Field(default=None, ge=2018, le=2100)
    certified_to_year: int | None = Field(default=None, ge=2018, le=2100)
    units: list[Annotated[str, Field(pattern=UNIT)]] = Field(default_factory=list, max_length=200)
    size: int | None = Field(default=None, ge=1, le=100_000)
    seed: int | None = Field(default=None, ge=0, le=2**62)
    as_of: date | None = Field(
        default=None, description="Certified on this day (default: the campaign's first day)."
    )


class DrawnOut(BaseModel):
    product_id: UUID
    producer_id: UUID
    unit: str | None
    risk: int
    reasons: list[str]


class DrawOut(BaseModel):
    draw_id: UUID
    method: str
    seed: int | None
    parameters: dict[str, Any]
    population: int
    drawn: int
    drawn_at: datetime
    sample_products: int
    sample_producers: int
    items: list[DrawnOut]

    @classmethod
    def of(cls, r: DrawResult) -> DrawOut:
        return cls(
            draw_id=r.draw.id,
            method=r.draw.method.value,
            seed=r.draw.seed,
            parameters=r.draw.parameters,
            population=r.draw.population,
            drawn=r.draw.drawn,
            drawn_at=r.draw.drawn_at,
            sample_products=r.sample_products,
            sample_producers=r.sample_producers,
            items=[
                DrawnOut(
                    product_id=i.product_id,
                    producer_id=i.producer_id,
                    unit=i.unit,
                    risk=i.risk,
                    reasons=list(i.reasons),
                )
                for i in r.items
            ],
        )


def _rule(body: DrawIn) -> domain.RuleDraw | domain.RiskDraw:
    if body.method == "rule":
        for name in ("size", "seed"):
            if getattr(body, name) is not None:
                raise http_problem(RuleViolation(name, "is for a risk draw only"))
        return domain.RuleDraw(body.certified_from_year, body.certified_to_year, tuple(body.units))
    for name in ("size", "seed"):
        if getattr(body, name) is None:
            raise http_problem(RuleViolation(name, "is required for a risk draw"))
    for name in ("certified_from_year", "certified_to_year"):
        if getattr(body, name) is not None:
            raise http_problem(RuleViolation(name, "is for a rule draw only"))
    assert body.size is not None and body.seed is not None
    return domain.RiskDraw(body.size, body.seed, tuple(body.units))


@samples_router.post("/campaigns/{campaign_id}/sample", response_model=DrawOut)
async def draw_sample(campaign_id: UUID, body: DrawIn, ctx: Ctx, who: Office, ins: Ins) -> DrawOut:
    """Draw (more of) the campaign's sample from the products certified on ``as_of``; the
    draw and every product's reasons are recorded."""
    rule = _rule(body)
    async with use_case(ctx, "draw_sample", who, campaign_id) as (conn, _):
        result = await ins.draw_sample(conn, campaign_id, rule, body.as_of)
    return DrawOut.of(result)


class AddProducerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    producer_id: UUID
    reason: str = Field(min_length=1, max_length=1000)


@samples_router.post("/campaigns/{campaign_id}/sample/producers", response_model=DrawOut)
async def add_producer(
    campaign_id: UUID, body: AddProducerIn, ctx: Ctx, who: Office, ins: Ins
) -> DrawOut:
    """Add a producer (and its certified products) to the sample by hand, with the reason."""
    async with use_case(ctx, "add_producer_to_sample", who, campaign_id) as (conn, _):
        result = await ins.add_producer(conn, campaign_id, body.producer_id, body.reason)
    return DrawOut.of(result)


class SampleItemOut(BaseModel):
    product_id: UUID
    producer_id: UUID
    unit: str | None
    method: str
    risk: int
    reasons: list[str]
    draw_id: UUID


class SamplePage(ListPage[SampleItemOut]):
    """The products drawn into the campaign's sample, a page at a time."""


@samples_router.get("/campaigns/{campaign_id}/sample", response_model=SamplePage)
async def list_sample(
    campaign_id: UUID,
    ctx: Ctx,
    who: Field_,
    producer_id: UUID | None = None,
    unit: Annotated[str | None, Q(pattern=UNIT)] = None,
    method: Literal["rule", "risk", "manual"] | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    sort: Annotated[str, sort_param(store.SAMPLE_SORTS)] = "-risk",
) -> SamplePage:
    if await store.get_campaign(ctx.pool, campaign_id) is None:
        raise not_found("campaign_id", f"campaign {campaign_id} does not exist")
    items, total, nxt = await page_of(
        store.SAMPLE_SORTS,
        sort,
        cursor,
        limit,
        lambda k: store.list_sample(
            ctx.pool,
            campaign_id,
            store.SampleFilter(producer_id, unit, method, units=inspector_units(who)),
            k,
        ),
    )
    return SamplePage(
        items=[SampleItemOut(**{**i.__dict__, "reasons": list(i.reasons)}) for i in items],
        total=total,
        next_cursor=nxt,
    )


class DrawRecordOut(BaseModel):
    id: UUID
    method: str
    seed: int | None
    parameters: dict[str, Any]
    population: int
    drawn: int
    drawn_at: datetime


@samples_router.get("/campaigns/{campaign_id}/draws", response_model=list[DrawRecordOut])
async def list_draws(campaign_id: UUID, ctx: Ctx, who: Field_) -> list[DrawRecordOut]:
    """Every draw of the sample, oldest first, with what reproduces it."""
    if await store.get_campaign(ctx.pool, campaign_id) is None:
        raise not_found("campaign_id", f"campaign {campaign_id} does not exist")
    return [
        DrawRecordOut(
            id=d.id,
            method=d.method.value,
            seed=d.seed,
            parameters=d.parameters,
            population=d.population,
            drawn=d.drawn,
            drawn_at=d.drawn_at,
        )
        for d in await store.draws_of(ctx.pool, campaign_id)
    ]
