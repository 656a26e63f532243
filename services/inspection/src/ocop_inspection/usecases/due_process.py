"""Due process: notices to producers, their replies, and the recommendations sent after."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from ocop_inspection import domain, publishing, store
from ocop_inspection.usecases.common import UseCases
from ocop_runtime.refusals import Conflict, NotFound, RuleViolation


class DueProcess(UseCases):
    async def _notice(
        self, conn: asyncpg.Connection, notice_id: UUID, units: frozenset[str] | None = None
    ) -> domain.Notice:
        """The notice, locked; another unit's (``units``: the caller's, None: every unit) is
        answered as if it did not exist."""
        found = await store.get_notice(conn, notice_id, for_update=True)
        if found is None or not await store.producer_in_units(conn, found.producer_id, units):
            raise NotFound("notice_id", f"notice {notice_id} does not exist")
        return found

    async def issue_notice(
        self,
        conn: asyncpg.Connection,
        notice_id: UUID,
        finding_ids: Sequence[UUID],
        proposed: domain.Proposed,
        grounds: Sequence[str],
        reply_days: int,
    ) -> domain.Notice:
        """Notify the producer of the findings (all on one product) and of what may be
        recommended; an overdue remediation of those findings is escalated."""
        if await store.get_notice(conn, notice_id) is not None:
            raise Conflict("id", f"notice {notice_id} exists")
        found = await store.existing_findings(conn, list(finding_ids))
        missing = [f for f in finding_ids if f not in found]
        if missing:
            raise NotFound("finding_ids", f"finding {missing[0]} does not exist")
        products = {f.product_id for f in found.values()}
        if len(products) != 1:
            raise RuleViolation("finding_ids", "a notice concerns the findings of one product")
        first = next(iter(found.values()))
        notice = domain.notify(
            notice_id,
            first.producer_id,
            first.product_id,
            tuple(dict.fromkeys(finding_ids)),
            proposed,
            tuple(dict.fromkeys(grounds)),
            await self.today(conn),
            reply_days,
        )
        now = await self.now(conn)
        escalated = [
            domain.escalate(r)
            for r in await store.remediations_of_findings(conn, list(finding_ids))
            if r.status is domain.RemediationStatus.OVERDUE
        ]
        for r in escalated:
            await store.save_remediation(conn, r, now)
        await store.insert_notice(conn, notice, now)
        await self._publish(conn, [publishing.producer_notified(notice, now)])
        return notice

    async def record_reply(
        self,
        conn: asyncpg.Connection,
        notice_id: UUID,
        text: str,
        units: frozenset[str] | None = None,
    ) -> domain.Notice:
        """The producer's reply to a notice, as the inspector received it; ``units``: the units
        the caller may inspect (None: all)."""
        n = await self._notice(conn, notice_id, units)
        replied = domain.record_reply(n, text, await self.today(conn))
        await store.save_notice(conn, replied)
        await self._publish(conn, [publishing.producer_replied(replied, await self.now(conn))])
        return replied

    async def withdraw_notice(self, conn: asyncpg.Connection, notice_id: UUID) -> domain.Notice:
        gone = domain.withdraw(await self._notice(conn, notice_id))
        await store.save_notice(conn, gone)
        return gone

    async def recommend(self, conn: asyncpg.Connection, notice_id: UUID) -> store.Recommendation:
        """Send the notice's recommendation to evaluation once the reply period has ended,
        naming the certificate the product holds today."""
        n = await self._notice(conn, notice_id)
        today = await self.today(conn)
        rid = uuid4()
        done = domain.recommend(n, rid, today)
        findings = await store.existing_findings(conn, list(n.finding_ids))
        held = domain.certificate_on(
            (await store.certificates_of(conn, [n.product_id]))[n.product_id], today
        )
        if held is None and n.proposed is domain.Proposed.REVOCATION:
            raise Conflict("product_id", f"product {n.product_id} holds no certificate today")
        words = [publishing.finding_summary(findings[f]) for f in n.finding_ids if f in findings]
        now = await self.now(conn)
        rec = store.Recommendation(
            id=rid,
            kind=n.proposed.value,
            notice_id=n.id,
            producer_id=n.producer_id,
            product_id=n.product_id,
            certificate_id=held.certificate_id if held else None,
            grounds=n.grounds,
            findings=tuple(words),
            recommended_at=now,
        )
        await store.save_notice(conn, done)
        await store.insert_recommendation(conn, rec)
        await self._publish(
            conn, [publishing.recommended(done, rid, rec.certificate_id, words, now)]
        )
        return rec
