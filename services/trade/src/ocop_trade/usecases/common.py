"""What every trade use case shares: the service's name, Hanoi's days, the outbox, and loading
what a command names (404 when it does not exist)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from ocop_contracts import Event
from ocop_runtime.outbox import stage_events
from ocop_runtime.refusals import NotFound
from ocop_trade import domain, store

SERVICE = "trade"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class UseCases:
    """The clock every group of use cases runs with (tests may pass another)."""

    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in Hanoi."""
        return self.clock().astimezone(HANOI).date()

    async def _publish(self, conn: asyncpg.Connection, events: Sequence[Event | None]) -> None:
        staged = [e for e in events if e is not None]
        if staged:
            await stage_events(conn, staged, service=SERVICE)

    async def _promotion(
        self, conn: store.Conn, event_id: UUID, *, lock: bool = True, field: str = "event_id"
    ) -> domain.Promotion:
        found = await store.get_promotion(conn, event_id, for_update=lock)
        if found is None:
            raise NotFound(field, f"event {event_id} does not exist")
        return found

    async def _outlet(
        self, conn: store.Conn, outlet_id: UUID, *, lock: bool = True
    ) -> domain.Outlet:
        found = await store.get_outlet(conn, outlet_id, for_update=lock)
        if found is None:
            raise NotFound("outlet_id", f"outlet {outlet_id} does not exist")
        return found

    async def _listing(self, conn: store.Conn, listing_id: UUID) -> domain.Listing:
        found = await store.get_listing(conn, listing_id, for_update=True)
        if found is None:
            raise NotFound("listing_id", f"listing {listing_id} does not exist")
        return found
