"""The evaluation clock (moved forward for demonstrations and tests) and the expiry sweep."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ocop_evaluation import store
from ocop_evaluation.api.common import Ctx, Ev, Office, use_case

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
