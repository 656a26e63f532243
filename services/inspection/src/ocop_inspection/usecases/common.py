"""What every inspection use case shares: the service's name, Hanoi's days, the inspection
clock and the outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ocop_contracts import Event
from ocop_inspection import store
from ocop_runtime.auth import Principal, Role
from ocop_runtime.outbox import stage_events
from ocop_runtime.refusals import Conflict

SERVICE = "inspection"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def hanoi_now() -> datetime:
    return datetime.now(HANOI)


@dataclass
class UseCases:
    """The clock every use case runs with. ``real_clock`` is injectable (tests pass a fixed
    one); outside production the clock can also be moved forward (``advance_clock``), every
    replica reading the same offset from the database, so that deadlines and reply periods can
    be seen to pass."""

    real_clock: Callable[[], datetime] = field(default=hanoi_now)
    clock_may_move: bool = True

    async def now(self, conn: store.Conn) -> datetime:
        return self.real_clock() + timedelta(days=await store.clock_offset(conn))

    async def today(self, conn: store.Conn) -> date:
        return (await self.now(conn)).astimezone(HANOI).date()

    async def advance_clock(self, conn: asyncpg.Connection, days: int) -> datetime:
        if not self.clock_may_move:
            raise Conflict("clock", "the clock cannot be moved in production")
        await store.advance_clock(conn, days)
        return await self.now(conn)

    async def _publish(self, conn: asyncpg.Connection, events: Sequence[Event]) -> None:
        if events:
            await stage_events(conn, list(events), service=SERVICE)


def inspector_units(who: Principal) -> frozenset[str] | None:
    """The units an inspector may inspect (None: every unit, for the city office or a token
    naming none)."""
    return None if who.has(Role.CITY_OFFICE) or not who.units else who.units
