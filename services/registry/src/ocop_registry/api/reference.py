"""Reference data: the administrative units valid on a day, and the classification in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ocop_registry import domain, store
from ocop_registry.api.common import Anyone, Ctx, Reg, problem
from ocop_registry.domain import classification

reference_router = APIRouter(tags=["reference data"])


class UnitOut(BaseModel):
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None


class UnitPage(BaseModel):
    items: list[UnitOut]
    next_cursor: str | None


@reference_router.get("/units", response_model=UnitPage)
async def list_units(
    ctx: Ctx,
    who: Anyone,
    reg: Reg,
    on: Annotated[
        date | None, Query(description="Units valid on this day (default: today)")
    ] = None,
    level: Annotated[str | None, Query(pattern="^(district|commune)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{3,5}$")] = None,
) -> UnitPage:
    """Hanoi's administrative units valid on a day: before 1 July 2025 the 30 districts and
    their communes, from then the 126 communes and wards."""
    rows = await store.list_units(
        ctx.pool, on=on or reg.clock().date(), level=level, limit=limit, after=cursor
    )
    items = [UnitOut(**dict(r)) for r in rows]
    return UnitPage(items=items, next_cursor=items[-1].code if len(items) == limit else None)


class ProductSetOut(BaseModel):
    code: str
    name_vi: str
    name_en: str
    sector_code: str
    group_code: str
    samples_required: bool
    statistics_sector: str


class ClassificationOut(BaseModel):
    regime: str
    scheme: str
    product_sets: list[ProductSetOut]


@reference_router.get("/classification", response_model=ClassificationOut)
async def get_classification(
    reg: Reg,
    who: Anyone,
    on: Annotated[
        date | None, Query(description="The rules in force on this day (default today)")
    ] = None,
) -> ClassificationOut:
    """The product sets a product can be registered under on a day."""
    day = on or reg.clock().date()
    try:
        regime = classification.regime_on(day)
    except domain.RuleViolation as exc:
        raise problem(422, "on", exc.reason, "query") from exc
    scheme = classification.scheme_of(regime)
    return ClassificationOut(
        regime=regime.value,
        scheme=scheme.value,
        product_sets=[
            ProductSetOut(
                code=s.code,
                name_vi=s.name_vi,
                name_en=s.name_en,
                sector_code=s.sector_code,
                group_code=s.group_code,
                samples_required=s.samples_required,
                statistics_sector=classification.statistics_sector(s),
            )
            for s in classification.product_sets(scheme)
        ],
    )
