"""Rounds: opening one, its council, score sheets, the integrity review, returning an
application, and closing it with each product's result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from ocop_contracts import Event
from ocop_evaluation import domain, publishing, store
from ocop_evaluation.usecases.common import UseCases
from ocop_evaluation.usecases.intake import enter, reroute
from ocop_runtime.refusals import Conflict, Forbidden, NotFound

Results = dict[UUID, tuple[domain.CouncilResult, tuple[domain.IntegrityFlag, ...]]]


@dataclass(frozen=True, slots=True)
class Opened:
    round: domain.Round
    joined: int  # waiting applications that entered it
    created: bool  # False: the round was opened before under the same id (a resent command)


class Rounds(UseCases):
    async def open_round(
        self,
        conn: asyncpg.Connection,
        year: int,
        level: domain.Level,
        name: str,
        round_id: UUID | None = None,
    ) -> Opened:
        """Open a round; submitted applications waiting for its year and level join it. A
        sender-chosen ``round_id`` that names this round already changes nothing; one that
        names another round is a conflict."""
        if round_id is not None:
            existing = await store.get_round(conn, round_id)
            if existing is not None:
                if not existing.same_opening(year, level):
                    raise Conflict("round_id", "is a different round already")
                return Opened(existing, 0, created=False)
        now = await self.now(conn)
        rulebook = domain.rulebook_on(now.date())
        if rulebook.level(level) is None:
            raise domain.RuleViolation(
                "level", f"there are no {level.value} councils under {rulebook.ref} in force today"
            )
        if level is domain.Level.DISTRICT and not domain.districts_exist(now.date()):
            raise domain.RuleViolation(
                "level",
                f"Hanoi's districts ceased to exist on {domain.DISTRICTS_END.isoformat()}; "
                "their dossiers go to the city level",
            )
        # Dossiers stranded at a level that no longer exists join the city's rounds.
        await self.reroute_stranded(conn)
        await store.lock_intake(conn, year, level)
        if await store.open_round_id(conn, year, level) is not None:
            raise Conflict("level", f"a {level.value} round of {year} is already open")
        opened = domain.Round(
            id=round_id or uuid4(),
            year=year,
            level=level,
            name=name,
            status=domain.RoundStatus.OPEN,
            opened_at=now,
        )
        await store.insert_round(conn, opened)
        attached = await store.attach_waiting(conn, opened.id, year, level)
        await self._publish(
            conn, [publishing.application_accepted(e, self.real_clock()) for e in attached]
        )
        return Opened(opened, len(attached), created=True)

    async def reroute_stranded(self, conn: asyncpg.Connection) -> int:
        """Once the district tier has ended, move the dossiers still waiting for a district
        round to the city level (``intake.reroute``); how many moved."""
        moved, events = await reroute(conn, await self.now(conn), self.real_clock())
        await self._publish(conn, events)
        return moved

    async def set_council(
        self, conn: asyncpg.Connection, round_id: UUID, seats: Sequence[domain.CouncilSeat]
    ) -> None:
        current = await self._round(conn, round_id)
        if current.status is not domain.RoundStatus.OPEN:
            raise Conflict("round", f"round {round_id} is {current.status}; its council is fixed")
        domain.check_council(seats)
        await store.replace_council(conn, round_id, seats)

    async def submit_sheet(
        self,
        conn: asyncpg.Connection,
        round_id: UUID,
        application_id: UUID,
        member_id: str,
        points: dict[str, Decimal],
        audit: Sequence[object] | None = None,
    ) -> domain.SheetScore:
        """Record (or amend, until the round closes) one member's sheet for one product.

        With ``audit`` (an audit row's values, ``ocop_runtime.audit.audited_statement``) ``conn``
        is in no transaction: the sheet and its audit row are written in one statement that
        re-checks that the round is still open; two round trips in all."""
        # The round, the council seat, the entry and the clock in one round trip.
        found = await store.sheet_context(conn, round_id, application_id, member_id)
        if found is None:
            raise NotFound("round_id", f"round {round_id} does not exist")
        current, entry = found.round, found.entry
        if current.status is not domain.RoundStatus.OPEN:
            raise Conflict("round", f"round {round_id} is {current.status}; sheets are final")
        if not found.member:
            raise Forbidden("member", "only a member of this round's council hands in sheets")
        if entry is None or entry.status is domain.EntryStatus.WITHDRAWN:
            raise domain.RuleViolation(
                "application_id", f"application {application_id} is not a product of this round"
            )
        sheet = domain.score_sheet(entry.product_set, entry.submitted_on)
        # Scoring the sheet alone checks every criterion and maximum, as closing will.
        alone = domain.score_one_sheet(sheet, domain.MemberScores(member_id, points))
        at = self.now_at(found.clock_offset)
        if audit is None:
            await store.upsert_sheet(conn, round_id, application_id, member_id, points, at)
        elif not await store.save_sheet(
            conn, round_id, application_id, member_id, points, at, audit
        ):
            raise Conflict("round", f"round {round_id} has closed; sheets are final")
        return alone

    async def results(self, conn: store.Conn, round_id: UUID) -> tuple[Results, list[str]]:
        """Each complete product's council result and integrity flags, and what is missing."""
        _, out, missing = await self._review(conn, round_id)
        return out, missing

    async def _review(
        self, conn: store.Conn, round_id: UUID
    ) -> tuple[dict[UUID, domain.Entry], Results, list[str]]:
        entries = await store.round_entries(conn, round_id)
        seats = await store.council(conn, round_id)
        sheets = await store.round_sheets(conn, round_id)
        council = [s.member for s in seats]
        out: Results = {}
        missing: list[str] = []
        for e in entries:
            handed = {s.member_id for s in sheets.get(e.application_id, [])}
            lacking = [s.member_id for s in seats if s.member_id not in handed]
            if lacking or not seats:
                missing.append(
                    f"{e.application_id}: no sheet from {', '.join(lacking) or 'a council'}"
                )
                continue
            sheet = domain.score_sheet(e.product_set, e.submitted_on)
            result = domain.score_council(sheet, sheets[e.application_id])
            flags = domain.integrity_flags(
                result,
                council,
                e.units if self.rules.unit_conflicts_at(e.level) else (),
                margin=self.deviation_margin,
                share=self.divergence_share,
                producer=str(e.producer_id),
            )
            out[e.application_id] = (result, flags)
        return {e.application_id: e for e in entries}, out, missing

    async def return_application(
        self, conn: asyncpg.Connection, round_id: UUID, application_id: UUID, reasons: list[str]
    ) -> None:
        """Send an application back to its producer with reasons (an incomplete dossier, say);
        it leaves the round and the registry lets the producer correct and resubmit it."""
        current = await self._round(conn, round_id)
        if current.status is not domain.RoundStatus.OPEN:
            raise Conflict("round", f"round {round_id} is {current.status}")
        entry = await store.get_entry(conn, application_id, round_id)
        if entry is None or entry.status is not domain.EntryStatus.ENTERED:
            raise domain.RuleViolation(
                "application_id", f"application {application_id} is not waiting in this round"
            )
        await store.delete_sheets(conn, round_id, application_id)
        # The key stays free for a corrected resubmission (a new application id).
        await store.set_entry_status(
            conn, application_id, current.level, domain.EntryStatus.RETURNED, {"reasons": reasons}
        )
        await self._publish(
            conn, [publishing.application_returned(entry, reasons, await self.now(conn))]
        )

    async def close_round(
        self,
        conn: asyncpg.Connection,
        round_id: UUID,
        override: str | None,
        *,
        idempotent: bool = False,
    ) -> tuple[int, bool]:
        """Close the round and publish each product's result; forwarded and nominated dossiers
        enter the next level's round. The number of products, and whether it closed now: with
        ``idempotent`` (a resent command) a round closed before is not a conflict."""
        current = await self._round(conn, round_id)
        if current.status is not domain.RoundStatus.OPEN:
            if idempotent:
                return 0, False
            raise Conflict("round", f"round {round_id} is already {current.status}")
        entries, results, missing = await self._review(conn, round_id)
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
        events: list[Event] = []
        level = current.level
        forwarded = await store.forwarded_applications(conn, list(results), level)
        for application_id, (result, flags) in results.items():
            outcome = domain.outcome_for(
                result,
                level,
                came_from_below=application_id in forwarded,
                short_of_city=self.rules.forwarded_short_of_city,
            )
            e = entries[application_id]
            parts, summary, status = domain.summarise(result, outcome, flags)
            await store.set_entry_status(conn, application_id, level, status, summary)
            if outcome.kind is domain.OutcomeKind.NOMINATE and outcome.to_level is not None:
                events.append(publishing.product_nominated(e, round_id, result, outcome, now))
            if outcome.to_level is not None:
                events += await enter(conn, e.onward(outcome, now), self.real_clock())
            events.append(
                publishing.product_scored(e, round_id, level, result, outcome, flags, parts, now)
            )
            if status is domain.EntryStatus.NOT_RECOGNISED:
                events.append(publishing.product_not_recognised(e, result, outcome, now))
        await store.close_round(conn, round_id, now, override.strip() if override else None)
        await self._publish(conn, events)
        return len(results), True
