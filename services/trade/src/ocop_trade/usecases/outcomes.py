"""The outcome ledger: recording (and correcting) what an event or an outlet brought."""

from __future__ import annotations

import asyncpg

from ocop_runtime.refusals import Conflict, RuleViolation
from ocop_trade import domain, publishing, store
from ocop_trade.usecases.common import UseCases


class Outcomes(UseCases):
    async def record_outcome(
        self, conn: asyncpg.Connection, outcome: domain.Outcome
    ) -> tuple[domain.Outcome, bool]:
        """Record ``outcome``; the same figures again change nothing, other figures under the
        same id correct it (for the same event or outlet and producer)."""
        existing = await store.get_outcome(conn, outcome.id)
        if existing is not None:
            if existing.outcome == outcome:
                return outcome, False
            kept = existing.outcome
            if (kept.event_id, kept.outlet_id, kept.producer_id) != (
                outcome.event_id,
                outcome.outlet_id,
                outcome.producer_id,
            ):
                raise Conflict(
                    "outcome_id",
                    f"outcome {outcome.id} belongs to another event, outlet or producer",
                )
        if outcome.event_id is not None and outcome.outlet_id is None:
            event = await self._promotion(conn, outcome.event_id, lock=False)
            taking = await store.accepted_participation(conn, event.id, outcome.producer_id)
            checked = domain.for_event(
                outcome,
                event,
                domain.Taking(taking.producer_id, taking.product_ids) if taking else None,
            )
        elif outcome.outlet_id is not None and outcome.event_id is None:
            outlet = await self._outlet(conn, outcome.outlet_id, lock=False)
            listings = await store.listings_of_outlet(conn, outlet.id, current=False)
            checked = domain.for_outlet(outcome, outlet, listings)
        else:
            raise RuleViolation(
                "event_id", "name either the event or the outlet, not both or neither"
            )
        now = self.now()
        await store.save_outcome(conn, checked, now)
        await self._publish(conn, [publishing.outcome_recorded(checked, now)])
        return checked, True
