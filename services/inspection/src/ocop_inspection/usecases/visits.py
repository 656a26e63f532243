"""Visits and findings, and the remediation they ask for (with the overdue sweep)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg

from ocop_inspection import domain, publishing, store
from ocop_inspection.usecases.common import UseCases
from ocop_runtime.refusals import Conflict, Forbidden, NotFound


def remediation_id(finding_id: UUID) -> UUID:
    """A finding's remediation has an id derived from it: a resent finding asks nothing twice."""
    return uuid5(NAMESPACE_URL, f"ocop:inspection:remediation:{finding_id}")


class Visits(UseCases):
    async def record_visit(
        self, conn: asyncpg.Connection, visit: domain.Visit, units: frozenset[str] | None = None
    ) -> bool:
        """Record a visit; False when the same visit was already recorded (a resend).
        ``units``: the units the caller may inspect (None: all)."""
        existing = await store.get_visit(conn, visit.id)
        if existing is not None:
            if (existing.producer_id, existing.visited_on, existing.campaign_id) == (
                visit.producer_id,
                visit.visited_on,
                visit.campaign_id,
            ) and set(existing.product_ids) == set(visit.product_ids):
                return False
            raise Conflict("visit_id", f"visit {visit.id} was recorded with other details")
        producer = await store.get_producer(conn, visit.producer_id)
        if producer is None:
            raise NotFound(
                "producer_id", f"producer {visit.producer_id} is not known to inspection"
            )
        if not await store.producer_in_units(conn, visit.producer_id, units):
            raise Forbidden("producer_id", f"producer {visit.producer_id} is outside your units")
        unit = producer.district_code or producer.commune_code
        in_sample: bool | None = None
        if visit.campaign_id is not None:
            campaign = await self._campaign_for_visit(conn, visit.campaign_id, visit.visited_on)
            in_sample = await store.in_sample(conn, campaign.id, visit.producer_id)
        products = {p.product_id for p in await store.products_of(conn, visit.producer_id)}
        checked = domain.check_visit(
            visit, today=await self.today(conn), products_of_producer=products, in_sample=in_sample
        )
        now = await self.now(conn)
        checked = replace(checked, unit=unit, recorded_at=now)
        await store.insert_visit(conn, checked)
        await self._publish(conn, [publishing.visit_completed(checked, now)])
        return True

    async def _campaign_for_visit(
        self, conn: asyncpg.Connection, campaign_id: UUID, day: date
    ) -> domain.Campaign:
        c = await store.get_campaign(conn, campaign_id, for_update=True)
        if c is None:
            raise NotFound("campaign_id", f"campaign {campaign_id} does not exist")
        running = domain.may_visit(c, day)
        if running.status is not c.status:
            await store.update_campaign(conn, running)
        return running

    async def record_findings(
        self,
        conn: asyncpg.Connection,
        visit_id: UUID,
        drafts: Sequence[domain.FindingDraft],
        units: frozenset[str] | None = None,
    ) -> tuple[int, list[domain.Finding]]:
        """Record a visit's findings (and the remediation each asks for): how many were new,
        and every finding of ``drafts`` as stored. A finding id already recorded with the same
        content is skipped; with other content it is a conflict. ``units``: the units the
        caller may inspect (None: all)."""
        visit = await store.get_visit(conn, visit_id)
        # Another unit's visit is answered as if it did not exist, as its reads are.
        if visit is None or not await store.producer_in_units(conn, visit.producer_id, units):
            raise NotFound("visit_id", f"visit {visit_id} does not exist")
        findings = [d.on(visit) for d in drafts]
        existing = await store.existing_findings(conn, [f.id for f in findings])
        new = []
        for i, f in enumerate(findings):
            old = existing.get(f.id)
            if old is None:
                new.append(f)
            elif replace(old, recorded_at=None) != replace(f, recorded_at=None):
                raise Conflict(
                    f"findings.{i}.finding_id", f"finding {f.id} exists with other details"
                )
        if not new:
            return 0, [existing[f.id] for f in findings]
        certificates = await store.certificates_of(conn, list({f.product_id for f in new}))
        domain.check_findings(visit, new, certificates)
        now = await self.now(conn)
        new = [replace(f, recorded_at=now) for f in new]
        remediations = [
            domain.require_remediation(
                remediation_id(f.id),
                f.id,
                f.producer_id,
                f.product_id,
                f.campaign_id,
                visit.visited_on,
                f.remediation_deadline,
            )
            for f in new
            if f.outcome is domain.Outcome.REMEDIATION and f.remediation_deadline is not None
        ]
        await store.insert_findings(conn, new)
        await store.insert_remediations(conn, remediations, now)
        await self._publish(
            conn,
            [publishing.finding_recorded(f, now) for f in new]
            + [publishing.remediation_required(r, now) for r in remediations],
        )
        stored = {f.id: f for f in new}
        return len(new), [stored.get(f.id) or existing[f.id] for f in findings]

    # ------------------------------------------------------------ remediation

    async def _remediation(
        self, conn: asyncpg.Connection, rid: UUID, units: frozenset[str] | None = None
    ) -> domain.Remediation:
        """The remediation, locked; another unit's (``units``: the caller's, None: every unit)
        is answered as if it did not exist."""
        found = await store.get_remediation(conn, rid, for_update=True)
        if found is None or not await store.producer_in_units(conn, found.producer_id, units):
            raise NotFound("remediation_id", f"remediation {rid} does not exist")
        return found

    async def complete_remediation(
        self,
        conn: asyncpg.Connection,
        rid: UUID,
        completed_on: date,
        units: frozenset[str] | None = None,
    ) -> domain.Remediation:
        r = await self._remediation(conn, rid, units)
        done = domain.complete(r, completed_on, await self.today(conn))
        now = await self.now(conn)
        await store.save_remediation(conn, done, now)
        await self._publish(conn, [publishing.remediation_completed(done, now)])
        return done

    async def extend_remediation(
        self,
        conn: asyncpg.Connection,
        rid: UUID,
        deadline: date,
        units: frozenset[str] | None = None,
    ) -> domain.Remediation:
        r = await self._remediation(conn, rid, units)
        extended = domain.extend(r, deadline, await self.today(conn))
        now = await self.now(conn)
        await store.save_remediation(conn, extended, now)
        await self._publish(conn, [publishing.remediation_required(extended, now)])
        return extended

    async def sweep_overdue(self, conn: asyncpg.Connection) -> int:
        """Mark the remediations past their deadline overdue on the inspection clock, once
        each; several replicas may sweep at the same time (rows are claimed SKIP LOCKED)."""
        today = await self.today(conn)
        now = await self.now(conn)
        overdue = [domain.mark_overdue(r, today) for r in await store.claim_overdue(conn, today)]
        for r in overdue:
            await store.save_remediation(conn, r, now)
        await self._publish(conn, [publishing.remediation_overdue(r, now) for r in overdue])
        return len(overdue)
