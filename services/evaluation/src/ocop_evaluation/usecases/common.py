"""What every evaluation use case shares: the service's name, Hanoi's days, the evaluation
clock, the outbox, and loading a round."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from ocop_contracts import Event
from ocop_evaluation import domain, store
from ocop_runtime.outbox import stage_events
from ocop_runtime.refusals import Conflict, NotFound

SERVICE = "evaluation"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def hanoi_now() -> datetime:
    return datetime.now(HANOI)


@dataclass
class UseCases:
    """The clock and the settings every group of use cases runs with. The clock can be moved
    forward (``advance_clock``) outside production, so that tests and demonstrations can see
    certificates expire; every replica reads the same offset from the database."""

    real_clock: Callable[[], datetime] = field(default=hanoi_now)
    clock_may_move: bool = True
    deviation_margin: Decimal = domain.DEFAULT_DEVIATION_MARGIN
    divergence_share: Decimal = domain.DEFAULT_DIVERGENCE_SHARE
    rules: domain.RuleChoices = field(default_factory=domain.RuleChoices)

    async def now(self, conn: store.Conn) -> datetime:
        return self.now_at(await store.clock_offset(conn))

    def now_at(self, clock_offset: int) -> datetime:
        """The service's time with the clock's offset already read (see :meth:`now`)."""
        return self.real_clock() + timedelta(days=clock_offset)

    async def advance_clock(self, conn: asyncpg.Connection, days: int) -> datetime:
        if not self.clock_may_move:
            raise Conflict("clock", "the clock cannot be moved in production")
        await store.advance_clock(conn, days)
        return await self.now(conn)

    async def _publish(self, conn: asyncpg.Connection, events: Sequence[Event]) -> None:
        if events:
            await stage_events(conn, list(events), service=SERVICE)

    async def _round(self, conn: store.Conn, round_id: UUID, *, lock: bool = True) -> domain.Round:
        found = await store.get_round(conn, round_id, for_update=lock)
        if found is None:
            raise NotFound("round_id", f"round {round_id} does not exist")
        return found
