"""Intake: registry's producers, products and applications as evaluation records them from
registry's events, and a withdrawal."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ocop_contracts import Event
from ocop_contracts.events import registry as registry_events
from ocop_evaluation import domain, publishing, store
from ocop_evaluation.usecases.common import HANOI, UseCases
from ocop_runtime.refusals import Unprocessable

# Where a submitted dossier is first evaluated. Under 1489/2025 the commune's pre-assessment is
# part of the dossier the registry forwards, so it enters the city round.
ENTRY_LEVEL = {
    "1048": domain.Level.DISTRICT,
    "148": domain.Level.DISTRICT,
    "1489": domain.Level.CITY,
}


async def enter(
    conn: asyncpg.Connection, entry: domain.Entry, accepted_at: datetime
) -> list[Event]:
    """Record ``entry`` in the open round of its year and level, or waiting for one to open.
    What to publish: its acceptance when it joined a round; nothing when it waits, or when the
    application already has an entry at that level (a redelivered event)."""
    placed = entry.in_round(await store.open_round_id(conn, entry.round_year, entry.level))
    if not await store.insert_entry(conn, placed) or placed.round_id is None:
        return []
    return [publishing.application_accepted(placed, accepted_at)]


class Intake(UseCases):
    async def record_producer(
        self,
        conn: asyncpg.Connection,
        event: registry_events.ProducerRegistered | registry_events.ProducerUpdated,
    ) -> None:
        """Keep the local copy of a registry producer current."""
        if isinstance(event, registry_events.ProducerUpdated):
            version, at = event.version, event.updated_at
        else:
            version, at = 1, event.registered_at
        await store.upsert_producer(
            conn,
            domain.ProducerCopy(
                producer_id=event.producer_id,
                legal_form=event.legal_form.value,
                name=event.name,
                commune_code=event.commune_code,
                version=version,
                registered_at=at,
                updated_at=at,
            ),
        )

    async def record_product(
        self,
        conn: asyncpg.Connection,
        event: registry_events.ProductRegistered | registry_events.ProductUpdated,
    ) -> None:
        await store.upsert_product(
            conn,
            domain.ProductCopy(
                product_id=event.product_id,
                producer_id=event.producer_id,
                name=event.name,
                public_code=event.public_code,
                classification=event.classification,
                product_set=event.product_set,
                commune_code=event.commune_code,
                district_code=event.district_code,
                version=getattr(event, "version", 1),
            ),
        )

    async def enter_application(
        self, conn: asyncpg.Connection, event: registry_events.ApplicationSubmitted
    ) -> None:
        """A submitted dossier joins the open round of its year at its entry level, or waits
        for that round to open."""
        level = ENTRY_LEVEL.get(event.regime)
        if level is None:
            raise Unprocessable(f"regime {event.regime!r} has no entry level here")
        entry = domain.Entry(
            application_id=event.application_id,
            product_id=event.product_id,
            producer_id=event.producer_id,
            kind=domain.EntryKind(event.kind.value),
            regime=event.regime,
            product_set=event.product_set,
            commune_code=event.commune_code,
            district_code=event.district_code,
            round_year=event.round_year,
            level=level,
            submitted_on=event.submitted_at.astimezone(HANOI).date(),
            round_id=None,
            status=domain.EntryStatus.WAITING,
            created_at=await self.now(conn),
        )
        await self._publish(conn, await enter(conn, entry, self.real_clock()))

    async def withdraw_application(
        self, conn: asyncpg.Connection, event: registry_events.ApplicationWithdrawn
    ) -> None:
        """A dossier withdrawn before evaluation scored it leaves its round."""
        entry = await store.get_entry(conn, event.application_id)
        if entry is not None and entry.status in domain.WITHDRAWABLE:
            await store.set_entry_status(
                conn, entry.application_id, entry.level, domain.EntryStatus.WITHDRAWN, None
            )
