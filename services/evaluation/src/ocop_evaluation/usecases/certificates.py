"""Certificates: the recognition decision, the expiry sweep, revocation (on the committee's own
motion or on inspection's recommendation), and a product's certificate history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from ocop_contracts import Event
from ocop_contracts.events import RevocationRecommended
from ocop_evaluation import domain, publishing, store
from ocop_evaluation.usecases.common import UseCases
from ocop_evaluation.usecases.intake import reroute
from ocop_runtime.refusals import Conflict, NotFound

Records = dict[UUID, domain.CertificateRecord]

# The entry's status after the decision; None: it keeps the status its round gave it.
_ENTRY_STATUS: dict[domain.Verdict, domain.EntryStatus | None] = {
    domain.Verdict.CERTIFIED: domain.EntryStatus.CERTIFIED,
    domain.Verdict.REPLACED: domain.EntryStatus.CERTIFIED,
    domain.Verdict.KEPT: domain.EntryStatus.KEPT,
    domain.Verdict.NOT_GRANTED: domain.EntryStatus.NOT_GRANTED,
    domain.Verdict.ENDED: None,
    domain.Verdict.UNCHANGED: None,
}


def certificate_number(sequence: int, decision_date: date) -> str:
    """A certificate's number: the year's sequence, the year and a fixed suffix. The format
    is modelled, not taken from a source (``data/formats.toml``; docs/RULEBOOKS.md)."""
    return domain.certificate_number(sequence, decision_date.year)


def _numbers(records: Records) -> dict[UUID, str]:
    return {cid: r.number for cid, r in records.items()}


def _issues(outcome: domain.Decided) -> int:
    """How many new certificates ``outcome`` grants (0 or 1)."""
    return sum(
        isinstance(
            e, domain.ProductCertified | domain.CertificateReevaluated | domain.CertificateUpgraded
        )
        for e in outcome.events
    )


def _changed(
    history: domain.ProductCertificates,
    records: Records,
    numbers: dict[UUID, str],
    application_id: UUID | None,
    at: datetime,
) -> list[domain.CertificateRecord]:
    """The certificate records ``history`` changes or adds, ready to save."""
    changed = []
    for c in history.certificates:
        old = records.get(c.id)
        if old is None:
            changed.append(domain.CertificateRecord(c, numbers[c.id], application_id, (), at))
        elif old.certificate != c:
            changed.append(replace(old, certificate=c))
    return changed


class Certificates(UseCases):
    async def _history(
        self, conn: asyncpg.Connection, product_id: UUID
    ) -> tuple[domain.ProductCertificates, Records]:
        """A product's certificates, locked, and their records by id."""
        records = await store.product_certificates(conn, product_id, for_update=True)
        history = domain.ProductCertificates(product_id, tuple(r.certificate for r in records))
        return history, {r.certificate.id: r for r in records}

    async def decide(
        self,
        conn: asyncpg.Connection,
        round_id: UUID,
        decision_number: str,
        decision_date: date,
        *,
        idempotent: bool = False,
    ) -> tuple[int, bool]:
        """Record the committee's recognition decision for a closed round: a certificate for
        every product the round certified (or nominated, carrying the lower star), and the end
        of the live certificate of every re-evaluation the round did not recognise. The number
        of products it changed, and whether it was recorded now: with ``idempotent`` (a resent
        command) the same decision recorded before is not a conflict.

        One product's outcome never blocks the others (``domain.decisions``): an upgrade not
        reached keeps its certificate, a late re-evaluation gets a new one from the decision
        date, and what a rule refused is recorded on that product's entry with the reason.

        A round holds hundreds of products, so the work is done in a fixed number of
        statements: one read of every history, one reservation of certificate numbers, one
        batch of certificates, one of statuses and one of events."""
        current = await self._round(conn, round_id)
        if idempotent and current.decision_number == decision_number:
            return 0, False
        if current.status is not domain.RoundStatus.CLOSED:
            raise Conflict("round", f"round {round_id} is {current.status}; decide a closed round")
        if not decision_number.strip():
            raise domain.RuleViolation("decision_number", "a decision needs its number")
        now = await self.now(conn)
        entries = await store.round_entries(conn, round_id)
        chosen = [e for e in entries if e.star_to_certify is not None]
        failed = [
            e
            for e in entries
            if e.kind is domain.EntryKind.RE_EVALUATION
            and e.status is domain.EntryStatus.NOT_RECOGNISED
            and e.result
        ]
        histories = await store.certificates_of_products(
            conn, list({e.product_id for e in chosen + failed})
        )
        decided: list[tuple[domain.Entry, domain.Decided, Records]] = []
        for e in chosen + failed:
            records = {r.certificate.id: r for r in histories.get(e.product_id, [])}
            history = domain.ProductCertificates(
                e.product_id, tuple(r.certificate for r in records.values())
            )
            outcome = self._decided(e, history, current.level, decision_number, decision_date)
            decided.append((e, outcome, records))
        issued = sum(_issues(o) for _, o, _ in decided)
        first = await store.reserve_certificate_numbers(conn, decision_date.year, issued)
        saved: list[domain.CertificateRecord] = []
        events: list[Event] = []
        statuses: dict[domain.EntryStatus, list[tuple[UUID, domain.Level]]] = {}
        results: list[tuple[UUID, domain.Level, dict[str, object]]] = []
        for e, outcome, records in decided:
            numbers = _numbers(records)
            for c in outcome.history.certificates:
                if c.id not in numbers:
                    numbers[c.id] = certificate_number(first, decision_date)
                    first += 1
            saved += _changed(outcome.history, records, numbers, e.application_id, now)
            events += [
                publishing.certificate_contract(
                    change, numbers=numbers, application_id=e.application_id, at=now
                )
                for change in outcome.events
            ]
            status = _ENTRY_STATUS[outcome.verdict]
            if status is not None and e.status is not domain.EntryStatus.NOT_RECOGNISED:
                statuses.setdefault(status, []).append((e.application_id, e.level))
                if status is not domain.EntryStatus.CERTIFIED:
                    events.append(publishing.decision_not_granted(e, outcome.reason, now))
            results.append((e.application_id, e.level, {"decision": outcome.summary}))
        await store.save_certificates(conn, saved)
        for status, keys in statuses.items():
            await store.set_entries_status(conn, keys, status)
        await store.add_entry_results(conn, results)
        await store.decide_round(conn, round_id, decision_number, decision_date)
        await self._publish(conn, events)
        return len(decided), True

    def _decided(
        self,
        e: domain.Entry,
        history: domain.ProductCertificates,
        level: domain.Level,
        decision_number: str,
        decision_date: date,
    ) -> domain.Decided:
        if e.status is domain.EntryStatus.NOT_RECOGNISED:
            assert e.result is not None
            ground = domain.failure_ground(e.result["score"], e.result.get("star"))
            return domain.failure_decided(history, ground, decision_number, decision_date)
        grant = e.grant(uuid4(), level, decision_number.strip(), decision_date)
        # The level whose power awards the star: the district's 3★, used by the city for a
        # dossier no district could act on, is checked against the district's rule.
        power = domain.Level((e.result or {}).get("power") or grant.level)
        permission = domain.may_award(power, grant.star, e.submitted_on)
        if not permission:
            return domain.Decided(
                history, [], domain.Verdict.NOT_GRANTED, permission.reason or "not allowed"
            )
        return domain.grant_decided(history, e.kind, grant)

    async def sweep(self, conn: asyncpg.Connection) -> dict[str, int]:
        """Expiry notices due today and certificates past their end. Idempotent: a notice is
        sent once per threshold, an expiry once."""
        now = await self.now(conn)
        today = now.date()
        # Dossiers stranded by the end of the district tier move on without waiting for a round.
        _, moved = await reroute(conn, now, self.real_clock())
        await self._publish(conn, moved)
        horizon = today + timedelta(days=max(domain.NOTICE_DAYS))
        counts = {"notices": 0, "expired": 0}
        for record in await store.certificates_ending_by(conn, horizon):
            certificate = record.certificate
            history, records = await self._history(conn, certificate.product_id)
            after, expired = domain.expire(history, today)
            events: list[Event] = [
                publishing.certificate_contract(
                    e, numbers={}, application_id=record.application_id, at=now
                )
                for e in expired
            ]
            sent = list(record.notices_sent)
            if not expired:
                for days in certificate.notices_due(today, sent):
                    events.append(publishing.expiring(certificate, days, now))
                    sent.append(days)
                    counts["notices"] += 1
            counts["expired"] += len(expired)
            await store.save_certificates(conn, _changed(after, records, {}, None, now))
            if sent != list(record.notices_sent):
                await store.set_notices_sent(conn, certificate.id, sent)
            await self._publish(conn, events)
        return counts

    async def revoke(
        self,
        conn: asyncpg.Connection,
        certificate_id: UUID,
        grounds: Sequence[str],
        decision_number: str,
        decision_date: date,
        revoked_on: date | None,
    ) -> None:
        record = await store.get_certificate(conn, certificate_id)
        if record is None:
            raise NotFound("certificate_id", f"certificate {certificate_id} does not exist")
        history, records = await self._history(conn, record.certificate.product_id)
        if history.live is None or history.live.id != certificate_id:
            raise Conflict("certificate", f"certificate {record.number} is not live")
        after, events = domain.revoke(history, grounds, decision_number, decision_date, revoked_on)
        now = await self.now(conn)
        await store.save_certificates(conn, _changed(after, records, {}, None, now))
        await self._publish(
            conn,
            [
                publishing.certificate_contract(e, numbers={}, application_id=None, at=now)
                for e in events
            ],
        )

    async def record_recommendation(
        self, conn: asyncpg.Connection, event: RevocationRecommended
    ) -> None:
        """Keep inspection's recommendation for the committee (once, however often it comes)."""
        await store.insert_recommendation(
            conn,
            domain.Recommendation(
                id=event.recommendation_id,
                product_id=event.product_id,
                certificate_id=event.certificate_id,
                grounds=tuple(event.grounds),
                findings=tuple(event.findings),
                recommended_at=event.recommended_at,
            ),
        )

    async def decide_recommendation(
        self,
        conn: asyncpg.Connection,
        recommendation_id: UUID,
        *,
        revoke: bool,
        decision_number: str,
        decision_date: date,
    ) -> domain.RecommendationDecision:
        rec = await store.get_recommendation(conn, recommendation_id, for_update=True)
        if rec is None:
            raise NotFound(
                "recommendation_id", f"recommendation {recommendation_id} does not exist"
            )
        if rec.decided is not None:
            raise Conflict("recommendation", f"already decided: {rec.decided}")
        if revoke:
            history, _ = await self._history(conn, rec.product_id)
            if history.live is None:
                raise Conflict("certificate", "the product holds no live certificate")
            await self.revoke(
                conn, history.live.id, rec.grounds, decision_number, decision_date, None
            )
        decided = (
            domain.RecommendationDecision.REVOKED
            if revoke
            else domain.RecommendationDecision.REJECTED
        )
        await store.set_recommendation(conn, recommendation_id, decided)
        return decided
