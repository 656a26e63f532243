"""Evaluation use cases. Each runs in the caller's transaction (an HTTP request's, or the
consumer's with its inbox row), so state, outbox and audit commit together."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from ocop_contracts import Event
from ocop_contracts.events import evaluation as contract
from ocop_contracts.events import registry as registry_events
from ocop_evaluation import domain, publishing, store
from ocop_runtime.outbox import stage_events
from ocop_runtime.refusals import Conflict, Forbidden, NotFound, Unprocessable

SERVICE = "evaluation"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# Where a submitted dossier is first evaluated. Under 1489/2025 the commune's pre-assessment is
# part of the dossier the registry forwards, so it enters the city round.
ENTRY_LEVEL = {
    "1048": domain.Level.DISTRICT,
    "148": domain.Level.DISTRICT,
    "1489": domain.Level.CITY,
}
MIN_COUNCIL = 3


def summarise(
    result: domain.CouncilResult,
    outcome: domain.Outcome,
    flags: Sequence[domain.IntegrityFlag],
) -> tuple[dict[str, float], dict[str, Any], str]:
    """What a closed round keeps of one product's result: average points per part, the
    summary stored on the entry, and the entry's new status."""
    parts = {
        part.value: float(
            sum(
                (result.criterion_averages[c.id] for c in result.sheet.criteria if c.part is part),
                Decimal(0),
            )
        )
        for part in domain.Part
    }
    summary = {
        "score": str(result.score),
        "star": result.star,
        "outcome": outcome.kind.value,
        "outcome_star": outcome.star,
        "to_level": outcome.to_level.value if outcome.to_level else None,
        "rulebook": result.rulebook.id,
        "rulebook_version": result.rulebook.version,
        "flags": [f.kind.value for f in flags],
    }
    status = {
        domain.OutcomeKind.NOT_RECOGNISED: "not_recognised",
        domain.OutcomeKind.FORWARD: "forwarded",
    }.get(outcome.kind, "scored")
    return parts, summary, status


def hanoi_now() -> datetime:
    return datetime.now(HANOI)


def _certificate(row: asyncpg.Record) -> domain.Certificate:
    revocation = json.loads(row["revocation"]) if row["revocation"] else None
    return domain.Certificate(
        id=row["id"],
        product_id=row["product_id"],
        star=row["star"],
        level=domain.Level(row["level"]),
        decision_number=row["decision_number"],
        decision_date=row["decision_date"],
        valid_until=row["valid_until"],
        rulebook=domain.RulebookRef(row["rulebook"], row["rulebook_version"]),
        score=Decimal(row["score"]) if row["score"] is not None else None,
        replaces=row["replaces"],
        state=domain.CertificateState(row["state"]),
        ended_on=row["ended_on"],
        replaced_by=row["replaced_by"],
        replacement=domain.Replacement(row["replacement"]) if row["replacement"] else None,
        revocation=domain.Revocation(
            grounds=tuple(domain.RevocationGround(g) for g in revocation["grounds"]),
            decision_number=revocation["decision_number"],
            decision_date=date.fromisoformat(revocation["decision_date"]),
            revoked_on=date.fromisoformat(revocation["revoked_on"]),
        )
        if revocation
        else None,
    )


def _row(
    c: domain.Certificate,
    number: str,
    application_id: UUID | None,
    sent: Sequence[int],
    at: datetime,
) -> dict[str, Any]:
    r = c.revocation
    return {
        "id": c.id,
        "number": number,
        "product_id": c.product_id,
        "application_id": application_id,
        "star": c.star,
        "level": c.level.value,
        "score": c.score,
        "decision_number": c.decision_number,
        "decision_date": c.decision_date,
        "valid_until": c.valid_until,
        "rulebook": c.rulebook.id,
        "rulebook_version": c.rulebook.version,
        "replaces": c.replaces,
        "state": c.state.value,
        "ended_on": c.ended_on,
        "replaced_by": c.replaced_by,
        "replacement": c.replacement.value if c.replacement else None,
        "revocation": {
            "grounds": [g.value for g in r.grounds],
            "decision_number": r.decision_number,
            "decision_date": r.decision_date.isoformat(),
            "revoked_on": r.revoked_on.isoformat(),
        }
        if r
        else None,
        "notices_sent": list(sent),
        "issued_at": at,
    }


@dataclass
class Round:
    id: UUID
    year: int
    level: str
    status: str


@dataclass
class Evaluation:
    """The evaluation service's use cases with their clock. The clock can be moved forward
    (``advance_clock``) outside production, so that tests and demonstrations can see
    certificates expire; every replica reads the same offset from the database."""

    real_clock: Callable[[], datetime] = field(default=hanoi_now)
    clock_may_move: bool = True
    deviation_margin: Decimal = domain.DEFAULT_DEVIATION_MARGIN
    divergence_share: Decimal = domain.DEFAULT_DIVERGENCE_SHARE

    async def now(self, conn: asyncpg.Connection | asyncpg.Pool) -> datetime:
        return self.real_clock() + timedelta(days=await store.clock_offset(conn))

    async def advance_clock(self, conn: asyncpg.Connection, days: int) -> datetime:
        if not self.clock_may_move:
            raise Conflict("clock", "the clock cannot be moved in production")
        await store.advance_clock(conn, days)
        return await self.now(conn)

    async def _publish(self, conn: asyncpg.Connection, events: Sequence[Event]) -> None:
        if events:
            await stage_events(conn, list(events), service=SERVICE)

    # ------------------------------------------------------------ registry's facts

    async def record_product(
        self,
        conn: asyncpg.Connection,
        event: registry_events.ProductRegistered | registry_events.ProductUpdated,
    ) -> None:
        await store.upsert_product(
            conn,
            {
                "product_id": event.product_id,
                "producer_id": event.producer_id,
                "name": event.name,
                "public_code": event.public_code,
                "classification": event.classification,
                "product_set": event.product_set,
                "commune_code": event.commune_code,
                "district_code": event.district_code,
                "version": getattr(event, "version", 1),
            },
        )

    async def enter_application(
        self, conn: asyncpg.Connection, event: registry_events.ApplicationSubmitted
    ) -> None:
        """A submitted dossier joins the open round of its year at its entry level, or waits
        for that round to open."""
        level = ENTRY_LEVEL.get(event.regime)
        if level is None:
            raise Unprocessable(f"regime {event.regime!r} has no entry level here")
        round_id = await store.open_round(conn, event.round_year, level.value)
        inserted = await store.insert_entry(
            conn,
            {
                "application_id": event.application_id,
                "product_id": event.product_id,
                "producer_id": event.producer_id,
                "kind": event.kind.value,
                "regime": event.regime,
                "product_set": event.product_set,
                "commune_code": event.commune_code,
                "district_code": event.district_code,
                "round_year": event.round_year,
                "level": level.value,
                "submitted_on": event.submitted_at.astimezone(HANOI).date(),
                "round_id": round_id,
                "status": "entered" if round_id else "waiting",
                "created_at": await self.now(conn),
            },
        )
        if inserted and round_id is not None:
            await self._publish(
                conn, [self._accepted(event.application_id, event.product_id, round_id, level)]
            )

    def _accepted(
        self, application_id: UUID, product_id: UUID, round_id: UUID, level: domain.Level
    ) -> Event:
        return contract.ApplicationAccepted(
            application_id=application_id,
            product_id=product_id,
            round_id=round_id,
            level=contract.Level(level.value),
            accepted_at=self.real_clock(),
        )

    async def withdraw_application(
        self, conn: asyncpg.Connection, event: registry_events.ApplicationWithdrawn
    ) -> None:
        entry = await store.get_entry(conn, event.application_id)
        if entry is not None and entry["status"] in ("waiting", "entered"):
            await store.set_entry_status(
                conn, event.application_id, entry["level"], "withdrawn", None
            )

    # ------------------------------------------------------------ rounds and councils

    async def open_round(
        self,
        conn: asyncpg.Connection,
        year: int,
        level: domain.Level,
        name: str,
        round_id: UUID | None = None,
    ) -> tuple[UUID, int]:
        now = await self.now(conn)
        rulebook = domain.rulebook_on(now.date())
        if rulebook.level(level) is None:
            raise domain.RuleViolation(
                "level", f"there are no {level.value} councils under {rulebook.ref} in force today"
            )
        if await store.open_round(conn, year, level.value) is not None:
            raise Conflict("level", f"a {level.value} round of {year} is already open")
        round_id = round_id or uuid4()
        await store.insert_round(conn, round_id, year, level.value, name, now)
        attached = await store.attach_waiting(conn, round_id, year, level.value)
        await self._publish(
            conn,
            [
                self._accepted(r["application_id"], r["product_id"], round_id, level)
                for r in attached
            ],
        )
        return round_id, len(attached)

    async def _round(self, conn: asyncpg.Connection, round_id: UUID, *, lock: bool = True) -> Round:
        row = await store.get_round(conn, round_id, for_update=lock)
        if row is None:
            raise NotFound("round_id", f"round {round_id} does not exist")
        return Round(row["id"], row["year"], row["level"], row["status"])

    async def set_council(
        self, conn: asyncpg.Connection, round_id: UUID, members: list[dict[str, Any]]
    ) -> None:
        current = await self._round(conn, round_id)
        if current.status != "open":
            raise Conflict("round", f"round {round_id} is {current.status}; its council is fixed")
        ids = [m["member_id"] for m in members]
        if len(set(ids)) != len(ids):
            raise domain.RuleViolation("members", "a member is listed twice")
        if len(members) < MIN_COUNCIL:
            raise domain.RuleViolation("members", f"a council needs at least {MIN_COUNCIL} members")
        if sum(m["role"] == "chair" for m in members) != 1:
            raise domain.RuleViolation("members", "a council has exactly one chair")
        await store.replace_council(conn, round_id, members)

    async def submit_sheet(
        self,
        conn: asyncpg.Connection,
        round_id: UUID,
        application_id: UUID,
        member_id: str,
        points: dict[str, Decimal],
    ) -> domain.CouncilResult:
        """Record (or amend, until the round closes) one member's sheet for one product."""
        current = await self._round(conn, round_id, lock=False)
        if current.status != "open":
            raise Conflict("round", f"round {round_id} is {current.status}; sheets are final")
        if member_id not in {m["member_id"] for m in await store.council(conn, round_id)}:
            raise Forbidden("member", "only a member of this round's council hands in sheets")
        entry = await store.get_entry(conn, application_id, round_id)
        if entry is None or entry["status"] == "withdrawn":
            raise domain.RuleViolation(
                "application_id", f"application {application_id} is not a product of this round"
            )
        sheet = domain.score_sheet(entry["product_set"], entry["submitted_on"])
        # Scoring the sheet alone checks every criterion and maximum, as closing will.
        alone = domain.score_council(sheet, [domain.MemberScores(member_id, points)])
        await store.upsert_sheet(
            conn,
            round_id,
            application_id,
            member_id,
            {k: str(v) for k, v in points.items()},
            await self.now(conn),
        )
        return alone

    async def results(
        self, conn: asyncpg.Connection | asyncpg.Pool, round_id: UUID
    ) -> tuple[
        dict[UUID, tuple[domain.CouncilResult, tuple[domain.IntegrityFlag, ...]]], list[str]
    ]:
        """Each complete product's council result and integrity flags, and what is missing."""
        entries = await store.round_entries(conn, round_id)
        members = await store.council(conn, round_id)
        sheets: dict[UUID, list[domain.MemberScores]] = {}
        for s in await store.round_sheets(conn, round_id):
            points = {k: Decimal(v) for k, v in json.loads(s["points"]).items()}
            sheets.setdefault(s["application_id"], []).append(
                domain.MemberScores(s["member_id"], points)
            )
        council = [domain.CouncilMember(m["member_id"], m["unit_code"] or "") for m in members]
        out: dict[UUID, tuple[domain.CouncilResult, tuple[domain.IntegrityFlag, ...]]] = {}
        missing: list[str] = []
        for e in entries:
            handed = {s.member_id for s in sheets.get(e["application_id"], [])}
            lacking = [m["member_id"] for m in members if m["member_id"] not in handed]
            if lacking or not members:
                missing.append(
                    f"{e['application_id']}: no sheet from {', '.join(lacking) or 'a council'}"
                )
                continue
            sheet = domain.score_sheet(e["product_set"], e["submitted_on"])
            result = domain.score_council(sheet, sheets[e["application_id"]])
            units = [u for u in (e["commune_code"], e["district_code"]) if u]
            flags = domain.integrity_flags(
                result,
                council,
                units,
                margin=self.deviation_margin,
                share=self.divergence_share,
            )
            out[e["application_id"]] = (result, flags)
        return out, missing

    async def return_application(
        self, conn: asyncpg.Connection, round_id: UUID, application_id: UUID, reasons: list[str]
    ) -> None:
        """Send an application back to its producer with reasons (an incomplete dossier, say);
        it leaves the round and the registry lets the producer correct and resubmit it."""
        current = await self._round(conn, round_id)
        if current.status != "open":
            raise Conflict("round", f"round {round_id} is {current.status}")
        entry = await store.get_entry(conn, application_id, round_id)
        if entry is None or entry["status"] != "entered":
            raise domain.RuleViolation(
                "application_id", f"application {application_id} is not waiting in this round"
            )
        await conn.execute(
            "DELETE FROM score_sheets WHERE round_id = $1 AND application_id = $2",
            round_id,
            application_id,
        )
        # The key stays free for a corrected resubmission (a new application id).
        await store.set_entry_status(
            conn, application_id, current.level, "returned", {"reasons": reasons}
        )
        await self._publish(
            conn,
            [
                contract.ApplicationReturned(
                    application_id=application_id,
                    product_id=entry["product_id"],
                    reasons=reasons,
                    returned_at=await self.now(conn),
                )
            ],
        )

    async def _enter_next_level(
        self,
        conn: asyncpg.Connection,
        entry: asyncpg.Record,
        outcome: domain.Outcome,
        now: datetime,
    ) -> list[Event]:
        """A forwarded dossier, or one nominated for 5★, joins the next level's open round
        (or waits for it); a nomination there is an upgrade of the star certified here."""
        assert outcome.to_level is not None
        level = outcome.to_level
        round_id = await store.open_round(conn, entry["round_year"], level.value)
        kind = "upgrade" if outcome.kind is domain.OutcomeKind.NOMINATE else entry["kind"]
        inserted = await store.insert_entry(
            conn,
            {
                **{
                    k: entry[k]
                    for k in (
                        "application_id",
                        "product_id",
                        "producer_id",
                        "regime",
                        "product_set",
                        "commune_code",
                        "district_code",
                        "round_year",
                        "submitted_on",
                    )
                },
                "kind": kind,
                "level": level.value,
                "round_id": round_id,
                "status": "entered" if round_id else "waiting",
                "created_at": now,
            },
        )
        if not inserted or round_id is None:
            return []
        return [self._accepted(entry["application_id"], entry["product_id"], round_id, level)]

    async def close_round(
        self, conn: asyncpg.Connection, round_id: UUID, override: str | None
    ) -> int:
        current = await self._round(conn, round_id)
        if current.status != "open":
            raise Conflict("round", f"round {round_id} is already {current.status}")
        results, missing = await self.results(conn, round_id)
        if missing:
            raise domain.RuleViolation(
                "sheets", f"{len(missing)} product(s) lack sheets: " + "; ".join(missing[:5])
            )
        flagged = [
            f"{aid}: {f.kind.value} ({f.detail})"
            for aid, (_, flags) in results.items()
            for f in flags
        ]
        if flagged and not (override and override.strip()):
            raise Conflict(
                "flags",
                f"{len(flagged)} integrity flag(s) unresolved; resolve them or close with an "
                "override reason: " + "; ".join(flagged[:5]),
            )
        now = await self.now(conn)
        entries = {e["application_id"]: e for e in await store.round_entries(conn, round_id)}
        events: list[Event] = []
        level = domain.Level(current.level)
        for application_id, (result, flags) in results.items():
            outcome = domain.outcome_of(result, level)
            e = entries[application_id]
            parts, summary, status = summarise(result, outcome, flags)
            await store.set_entry_status(conn, application_id, current.level, status, summary)
            if outcome.kind is domain.OutcomeKind.NOMINATE and outcome.to_level is not None:
                events.append(
                    contract.ProductNominated(
                        application_id=application_id,
                        product_id=e["product_id"],
                        round_id=round_id,
                        score=float(result.score),
                        carried_star=outcome.star or 4,
                        to_level=contract.Level(outcome.to_level.value),
                        nominated_at=now,
                    )
                )
            if outcome.to_level is not None:
                events += await self._enter_next_level(conn, e, outcome, now)
            events.append(
                contract.ProductScored(
                    application_id=application_id,
                    product_id=e["product_id"],
                    round_id=round_id,
                    level=contract.Level(level.value),
                    score=float(result.score),
                    parts=parts,
                    band=result.band,
                    star=result.star,
                    outcome=outcome.kind.value,
                    outcome_star=outcome.star,
                    forwarded_to=contract.Level(outcome.to_level.value)
                    if outcome.to_level
                    else None,
                    rulebook=result.rulebook.id,
                    rulebook_version=result.rulebook.version,
                    flags=[f"{f.kind.value}: {f.detail}" for f in flags],
                    reasons=list(result.reasons),
                    scored_at=now,
                )
            )
            if status == "not_recognised":
                events.append(
                    contract.ProductNotRecognised(
                        application_id=application_id,
                        product_id=e["product_id"],
                        score=float(result.score),
                        reasons=[outcome.reason, *result.reasons],
                        decided_at=now,
                    )
                )
        await store.close_round(conn, round_id, now, override.strip() if override else None)
        await self._publish(conn, events)
        return len(results)

    # ------------------------------------------------------------ decisions and certificates

    async def _history(
        self, conn: asyncpg.Connection, product_id: UUID
    ) -> tuple[domain.ProductCertificates, dict[UUID, asyncpg.Record]]:
        rows = await store.product_certificates(conn, product_id, for_update=True)
        history = domain.ProductCertificates(product_id, tuple(_certificate(r) for r in rows))
        return history, {r["id"]: r for r in rows}

    def _changed(
        self,
        history: domain.ProductCertificates,
        rows: dict[UUID, asyncpg.Record],
        numbers: dict[UUID, str],
        application_id: UUID | None,
        at: datetime,
    ) -> list[dict[str, Any]]:
        """The certificate rows ``history`` changes or adds, ready to save."""
        changed = []
        for c in history.certificates:
            old = rows.get(c.id)
            if old is not None and _certificate(old) == c:
                continue
            changed.append(
                _row(
                    c,
                    numbers[c.id] if old is None else old["number"],
                    old["application_id"] if old else application_id,
                    old["notices_sent"] if old else [],
                    old["issued_at"] if old else at,
                )
            )
        return changed

    async def _save(
        self,
        conn: asyncpg.Connection,
        history: domain.ProductCertificates,
        rows: dict[UUID, asyncpg.Record],
        numbers: dict[UUID, str],
        application_id: UUID | None,
        at: datetime,
    ) -> None:
        await store.save_certificates(
            conn, self._changed(history, rows, numbers, application_id, at)
        )

    async def decide(
        self, conn: asyncpg.Connection, round_id: UUID, decision_number: str, decision_date: date
    ) -> int:
        """Record the committee's recognition decision for a closed round: a certificate for
        every product the round certified (or nominated, carrying the lower star).

        A round holds hundreds of products, so the work is done in a fixed number of
        statements: one read of every history, one reservation of certificate numbers, one
        batch of certificates, one of statuses and one of events."""
        current = await self._round(conn, round_id)
        if current.status != "closed":
            raise Conflict("round", f"round {round_id} is {current.status}; decide a closed round")
        now = await self.now(conn)
        level = domain.Level(current.level)
        chosen = []
        for e in await store.round_entries(conn, round_id):
            result = json.loads(e["result"]) if e["result"] else None
            if e["status"] == "scored" and result and result["outcome_star"] is not None:
                chosen.append((e, result))
        histories = await store.certificates_of_products(conn, [e["product_id"] for e, _ in chosen])
        first = await store.reserve_certificate_numbers(conn, decision_date.year, len(chosen))
        saved: list[dict[str, Any]] = []
        events: list[Event] = []
        for offset, (e, result) in enumerate(chosen):
            star = int(result["outcome_star"])
            permission = domain.may_award(level, star, e["submitted_on"])
            if not permission:
                raise domain.RuleViolation("star", permission.reason or "not allowed")
            rows = {r["id"]: r for r in histories.get(e["product_id"], [])}
            history = domain.ProductCertificates(
                e["product_id"], tuple(_certificate(r) for r in rows.values())
            )
            grant = domain.Grant(
                certificate_id=uuid4(),
                star=star,
                level=level,
                decision_number=decision_number,
                decision_date=decision_date,
                rulebook=domain.RulebookRef(result["rulebook"], int(result["rulebook_version"])),
                score=Decimal(result["score"]),
            )
            act = {"re_evaluation": domain.reevaluate, "upgrade": domain.upgrade}.get(
                e["kind"], domain.certify
            )
            if act is domain.certify and history.live is not None and history.live.level is level:
                raise Conflict(
                    "certificate",
                    f"product {e['product_id']} already holds live certificate "
                    f"{rows[history.live.id]['number']} at the {level.value} level",
                )
            history, changes = act(history, grant)
            numbers = {cid: r["number"] for cid, r in rows.items()}
            numbers[grant.certificate_id] = f"{first + offset:05d}/{decision_date.year}/GCN-OCOP-HN"
            saved += self._changed(history, rows, numbers, e["application_id"], now)
            events += [
                publishing.certificate_contract(
                    change, numbers=numbers, application_id=e["application_id"], at=now
                )
                for change in changes
            ]
        await store.save_certificates(conn, saved)
        await store.set_entries_status(
            conn, [(e["application_id"], e["level"]) for e, _ in chosen], "certified"
        )
        await store.decide_round(conn, round_id, decision_number, decision_date)
        await self._publish(conn, events)
        return len(chosen)

    async def sweep(self, conn: asyncpg.Connection) -> dict[str, int]:
        """Expiry notices due today and certificates past their end. Idempotent: a notice is
        sent once per threshold, an expiry once."""
        now = await self.now(conn)
        today = now.date()
        horizon = today + timedelta(days=max(domain.NOTICE_DAYS))
        counts = {"notices": 0, "expired": 0}
        for row in await store.certificates_ending_by(conn, horizon):
            certificate = _certificate(row)
            history, rows = await self._history(conn, certificate.product_id)
            after, expired = domain.expire(history, today)
            events: list[Event] = [
                publishing.certificate_contract(
                    e, numbers={}, application_id=row["application_id"], at=now
                )
                for e in expired
            ]
            sent = list(row["notices_sent"])
            if not expired:
                for days in certificate.notices_due(today, sent):
                    events.append(publishing.expiring(certificate, days, now))
                    sent.append(days)
                    counts["notices"] += 1
            counts["expired"] += len(expired)
            await self._save(conn, after, rows, {}, None, now)
            if sent != list(row["notices_sent"]):
                await conn.execute(
                    "UPDATE certificates SET notices_sent = $2 WHERE id = $1", row["id"], sent
                )
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
        row = await store.get_certificate(conn, certificate_id)
        if row is None:
            raise NotFound("certificate_id", f"certificate {certificate_id} does not exist")
        history, rows = await self._history(conn, row["product_id"])
        if history.live is None or history.live.id != certificate_id:
            raise Conflict("certificate", f"certificate {row['number']} is not live")
        after, events = domain.revoke(history, grounds, decision_number, decision_date, revoked_on)
        now = await self.now(conn)
        await self._save(conn, after, rows, {}, None, now)
        await self._publish(
            conn,
            [
                publishing.certificate_contract(e, numbers={}, application_id=None, at=now)
                for e in events
            ],
        )

    async def record_recommendation(self, conn: asyncpg.Connection, event: Any) -> None:
        await store.insert_recommendation(
            conn,
            {
                "id": event.recommendation_id,
                "product_id": event.product_id,
                "certificate_id": event.certificate_id,
                "grounds": list(event.grounds),
                "findings": list(event.findings),
                "recommended_at": event.recommended_at,
            },
        )

    async def decide_recommendation(
        self,
        conn: asyncpg.Connection,
        recommendation_id: UUID,
        *,
        revoke: bool,
        decision_number: str,
        decision_date: date,
    ) -> str:
        rec = await store.get_recommendation(conn, recommendation_id, for_update=True)
        if rec is None:
            raise NotFound(
                "recommendation_id", f"recommendation {recommendation_id} does not exist"
            )
        if rec["decided"] is not None:
            raise Conflict("recommendation", f"already decided: {rec['decided']}")
        if revoke:
            history, _ = await self._history(conn, rec["product_id"])
            if history.live is None:
                raise Conflict("certificate", "the product holds no live certificate")
            await self.revoke(
                conn, history.live.id, rec["grounds"], decision_number, decision_date, None
            )
        outcome = "revoked" if revoke else "rejected"
        await store.set_recommendation(conn, recommendation_id, outcome)
        return outcome


async def record_producer(
    conn: asyncpg.Connection,
    *,
    producer_id: UUID,
    legal_form: str,
    name: str | None,
    commune_code: str,
    version: int,
    at: datetime,
) -> None:
    """Keep the local copy of a registry producer current."""
    await store.upsert_producer(
        conn,
        producer_id=producer_id,
        legal_form=legal_form,
        name=name,
        commune_code=commune_code,
        version=version,
        at=at,
    )
