"""Promotion events: scheduling, changing, the steps of the status machine, and deciding the
producers' applications (HTTP and Kafka call the same use cases)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

import asyncpg

from ocop_runtime.refusals import Conflict, NotFound
from ocop_trade import domain, publishing, store
from ocop_trade.usecases.common import UseCases


@dataclass(frozen=True)
class Applied:
    """An application's decision, and whether this call made it (False: a resent one)."""

    decision: domain.Decision
    created: bool


def _same_event(a: domain.Promotion, b: domain.Promotion) -> bool:
    return replace(a, status=b.status, cancel_reason=b.cancel_reason) == b


class Promotions(UseCases):
    async def schedule(
        self, conn: asyncpg.Connection, promotion: domain.Promotion
    ) -> tuple[domain.Promotion, bool]:
        """Put an event on the calendar under the id the caller chose; the same request again
        changes nothing, another one under that id is a conflict."""
        checked = domain.schedule(promotion)
        existing = await store.get_promotion(conn, checked.id, for_update=True)
        if existing is not None:
            if _same_event(checked, existing):
                return existing, False
            raise Conflict("id", f"event {checked.id} exists with other details; choose another id")
        now = self.now()
        await store.save_promotion(conn, checked, now)
        await self._publish(conn, [publishing.promotion_scheduled(checked, now)])
        return checked, True

    async def amend(
        self, conn: asyncpg.Connection, event_id: UUID, changed: domain.Promotion
    ) -> domain.Promotion:
        current = await self._promotion(conn, event_id)
        _, stalls = await store.stalls_taken(conn, event_id)
        amended = domain.amend(current, changed, stalls)
        if amended == current:
            return current
        now = self.now()
        await store.save_promotion(conn, amended, now)
        # The event's new details, published like its scheduling (same id: a correction).
        await self._publish(conn, [publishing.promotion_scheduled(amended, now)])
        return amended

    async def step(
        self, conn: asyncpg.Connection, event_id: UUID, what: domain.Step, reason: str | None = None
    ) -> domain.Promotion:
        current = await self._promotion(conn, event_id)
        moved = domain.step(current, what, reason)
        now = self.now()
        participants, stalls = await store.stalls_taken(conn, event_id)
        totals = await store.event_totals(conn, event_id) if what is domain.Step.REPORT else None
        await store.save_promotion(conn, moved, now)
        await self._publish(
            conn,
            [
                publishing.promotion_stepped(
                    moved, what, now, participants=participants, stalls=stalls, totals=totals
                )
            ],
        )
        return moved

    async def apply(self, conn: asyncpg.Connection, application: domain.Application) -> Applied:
        """Decide an application. Both an acceptance and a refusal for a reason the producer
        can fix (eligibility, capacity) are recorded and published; the caller answers a
        refusal with its reasons. A malformed application, an unknown or closed event and a
        second participation of the producer are refused without a record."""
        existing = await store.get_participation(conn, application.participation_id)
        if existing is not None:
            if existing.application != application:
                raise Conflict(
                    "participation_id",
                    f"participation {application.participation_id} was filed with other details",
                )
            problems = tuple(
                domain.Problem(*r.split(": ", 1)) if ": " in r else domain.Problem("event_id", r)
                for r in existing.reasons
            )
            status = (
                domain.ParticipationStatus.REFUSED
                if existing.status is domain.ParticipationStatus.REFUSED
                else domain.ParticipationStatus.ACCEPTED
            )
            return Applied(domain.Decision(application, status, problems), False)
        event = await self._promotion(conn, application.event_id)
        if await store.accepted_participation(conn, event.id, application.producer_id):
            raise Conflict(
                "producer_id",
                f"producer {application.producer_id} already takes part in event {event.id}",
            )
        _, taken = await store.stalls_taken(conn, event.id)
        products = list(application.product_ids)
        decision = domain.decide(
            event,
            application,
            stalls_taken=taken,
            producer_of=await store.producers_of(conn, products),
            certificates=await store.certificates_of(conn, products),
        )
        now = self.now()
        await store.save_participation(
            conn,
            store.Participation(
                id=application.participation_id,
                event_id=event.id,
                producer_id=application.producer_id,
                product_ids=application.product_ids,
                other_goods=application.other_goods,
                stalls=application.stalls,
                status=decision.status,
                reasons=tuple(decision.reasons),
                decided_at=now,
            ),
        )
        await self._publish(conn, [publishing.participation_decided(decision, now)])
        return Applied(decision, True)

    async def withdraw(
        self, conn: asyncpg.Connection, participation_id: UUID, reason: str
    ) -> store.Participation:
        found = await store.get_participation(conn, participation_id, for_update=True)
        if found is None:
            raise NotFound("participation_id", f"participation {participation_id} does not exist")
        event = await self._promotion(conn, found.event_id)
        if event.status not in (
            domain.PromotionStatus.PLANNED,
            domain.PromotionStatus.REGISTRATION_OPEN,
        ):
            raise Conflict("event_id", f"the event is {event.status}: its participants are fixed")
        withdrawn = replace(found, status=domain.withdraw(found.status), decided_at=self.now())
        await store.save_participation(conn, withdrawn)
        await self._publish(
            conn,
            [publishing.participation_withdrawn(found.application, reason, withdrawn.decided_at)],
        )
        return withdrawn

    async def attention(self, conn: store.Conn, event: domain.Promotion) -> dict[UUID, list[UUID]]:
        """Accepted participations whose products no longer hold a live certificate on every
        day of an OCOP-only event (revoked or expired after acceptance), by participation."""
        taking = await store.accepted_participations(conn, event.id)
        products = list({p for t in taking for p in t.product_ids})
        certificates = await store.certificates_of(conn, products)
        out = {}
        for t in taking:
            lost = domain.uncovered_products(event, t.product_ids, certificates)
            if lost:
                out[t.id] = lost
        return out
