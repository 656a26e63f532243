"""Intake: registry's producers, products and applications as evaluation records them from
registry's events, and a withdrawal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import asyncpg

from ocop_contracts import Event
from ocop_contracts.events import registry as registry_events
from ocop_evaluation import domain, publishing, store
from ocop_evaluation.usecases.common import HANOI, UseCases
from ocop_runtime.refusals import Unprocessable

# Where a submitted dossier is first evaluated while districts exist; ``domain.entry_level``
# adds the end of the district tier (1 July 2025) and the commune step setting under 1489.
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
    await store.lock_intake(conn, entry.round_year, entry.level)
    placed = entry.in_round(await store.open_round_id(conn, entry.round_year, entry.level))
    inserted = await store.insert_entry(conn, placed) or await store.reopen_returned(conn, placed)
    if not inserted or placed.round_id is None:
        return []
    return [publishing.application_accepted(placed, accepted_at)]


async def reroute(
    conn: asyncpg.Connection, now: datetime, accepted_at: datetime
) -> tuple[int, list[Event]]:
    """Once the district tier has ended (1 July 2025), the dossiers still waiting for a district
    round move to the city level, each keeping a note at the district level: how many moved,
    and what to publish (their acceptance into an open city round)."""
    if domain.districts_exist(now.date()):
        return 0, []
    moved = await store.waiting_entries(conn, domain.Level.DISTRICT)
    events: list[Event] = []
    for e in moved:
        await store.move_entry(
            conn, e, domain.EntryStatus.REROUTED, domain.rerouted_note(now.date())
        )
        onward = replace(e, level=domain.Level.CITY, round_id=None, result=None, created_at=now)
        events += await enter(conn, onward, accepted_at)
    return len(moved), events


def _producer_copy(
    event: registry_events.ProducerRegistered | registry_events.ProducerUpdated,
) -> domain.ProducerCopy:
    if isinstance(event, registry_events.ProducerUpdated):
        version, at = event.version, event.updated_at
    else:
        version, at = 1, event.registered_at
    return domain.ProducerCopy(
        producer_id=event.producer_id,
        legal_form=event.legal_form.value,
        name=event.name,
        commune_code=event.commune_code,
        version=version,
        registered_at=at,
        updated_at=at,
        registration_number=event.registration_number,
    )


def _product_copy(
    event: registry_events.ProductRegistered | registry_events.ProductUpdated,
) -> domain.ProductCopy:
    return domain.ProductCopy(
        product_id=event.product_id,
        producer_id=event.producer_id,
        name=event.name,
        public_code=event.public_code,
        classification=event.classification,
        product_set=event.product_set,
        commune_code=event.commune_code,
        district_code=event.district_code,
        version=getattr(event, "version", 1),
    )


class Intake(UseCases):
    async def record_producers(
        self,
        conn: asyncpg.Connection,
        events: Sequence[registry_events.ProducerRegistered | registry_events.ProducerUpdated],
    ) -> None:
        """Keep the local copies of registry producers current (the newest version wins)."""
        await store.upsert_producers(conn, [_producer_copy(e) for e in events])

    async def record_products(
        self,
        conn: asyncpg.Connection,
        events: Sequence[registry_events.ProductRegistered | registry_events.ProductUpdated],
    ) -> None:
        """Keep the local copies of registry products current (the newest version wins)."""
        await store.upsert_products(conn, [_product_copy(e) for e in events])

    async def enter_application(
        self, conn: asyncpg.Connection, event: registry_events.ApplicationSubmitted
    ) -> None:
        """A submitted dossier joins the open round of its year at its entry level, or waits
        for that round to open."""
        now = await self.now(conn)
        level = domain.entry_level(event.regime, now.date(), self.rules)
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
            created_at=now,
        )
        await self._publish(conn, await enter(conn, entry, self.real_clock()))

    async def commune_assessed(
        self, conn: asyncpg.Connection, event: registry_events.CommuneAssessed
    ) -> None:
        """Under 1489 with the commune step required, the commune's request sends the dossier
        waiting at the commune level to the city (its local-content points stay on the commune
        entry); a commune that returned it takes it out. With the pre-assessment inside the
        dossier the entry is at the city already, and a repeat finds nothing waiting: nothing
        changes."""
        entry = await store.entry_at(conn, event.application_id, domain.Level.COMMUNE)
        if entry is None or entry.status is not domain.EntryStatus.WAITING:
            return
        note: dict[str, object] = {
            "commune": {
                "local_points": event.local_points,
                "report_sha256": event.report_sha256,
                "request_to_city": event.request_to_city,
                "assessed_at": event.assessed_at.isoformat(),
            }
        }
        if not event.request_to_city:
            note["reasons"] = event.reasons
            await store.move_entry(conn, entry, domain.EntryStatus.RETURNED, note)
            return
        note |= {"outcome": domain.OutcomeKind.FORWARD.value, "to_level": "city"}
        await store.move_entry(conn, entry, domain.EntryStatus.FORWARDED, note)
        onward = replace(
            entry,
            level=domain.Level.CITY,
            round_id=None,
            result=None,
            created_at=await self.now(conn),
        )
        await self._publish(conn, await enter(conn, onward, self.real_clock()))

    async def withdraw_application(
        self, conn: asyncpg.Connection, event: registry_events.ApplicationWithdrawn
    ) -> None:
        """A dossier withdrawn before evaluation scored it leaves its round."""
        entry = await store.get_entry(conn, event.application_id)
        if entry is not None and entry.status in domain.WITHDRAWABLE:
            await store.set_entry_status(
                conn, entry.application_id, entry.level, domain.EntryStatus.WITHDRAWN, None
            )
