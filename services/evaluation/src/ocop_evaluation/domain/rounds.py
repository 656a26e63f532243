"""Rounds, their councils and their entries: the states they pass through and what a closed
round keeps of each product's result.

    round:  open --(closed: every sheet in, flags resolved or overridden)--> closed
            closed --(recognition decision)--> decided
    entry:  waiting --(a round of its year and level opens)--> entered
            waiting, entered --(the producer withdraws it)--> withdrawn
            waiting --(its level no longer exists: the district tier ended)--> rerouted
            entered --(returned with reasons)--> returned
            entered --(its round closes)--> scored | not_recognised | forwarded
            scored --(decision)--> certified | kept | not_granted
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from ocop_evaluation.domain.certificates import Grant
from ocop_evaluation.domain.common import Level, Part, RuleViolation
from ocop_evaluation.domain.integrity import CouncilMember, IntegrityFlag
from ocop_evaluation.domain.levels import Outcome, OutcomeKind
from ocop_evaluation.domain.rulebooks import RulebookRef
from ocop_evaluation.domain.scoring import CouncilResult

MIN_COUNCIL = 3


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    DECIDED = "decided"


class EntryStatus(StrEnum):
    WAITING = "waiting"  # no round of its year and level is open yet
    ENTERED = "entered"
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"
    SCORED = "scored"
    NOT_RECOGNISED = "not_recognised"
    FORWARDED = "forwarded"
    CERTIFIED = "certified"
    # What a decision did to a scored entry that it could not certify (see ``decisions``).
    REROUTED = "rerouted"  # its level was abolished before a round took it; moved up
    KEPT = "kept"  # the current certificate stands (an upgrade not reached)
    NOT_GRANTED = "not_granted"  # a rule refused this product's certificate


# Entries that have left their round: its review, closing and decision pass them over.
LEFT_ROUND = frozenset({EntryStatus.WITHDRAWN, EntryStatus.RETURNED})
# Entries a withdrawal still takes back: evaluation has not scored them.
WITHDRAWABLE = frozenset({EntryStatus.WAITING, EntryStatus.ENTERED})


class EntryKind(StrEnum):
    FIRST_TIME = "first_time"
    RE_EVALUATION = "re_evaluation"
    UPGRADE = "upgrade"


class CouncilRole(StrEnum):
    CHAIR = "chair"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Round:
    id: UUID
    year: int
    level: Level
    name: str
    status: RoundStatus
    opened_at: datetime
    closed_at: datetime | None = None
    override: str | None = None  # why it closed over unresolved integrity flags
    decision_number: str | None = None
    decision_date: date | None = None

    def same_opening(self, year: int, level: Level) -> bool:
        """Whether opening a round of ``year`` and ``level`` under this id repeats this one."""
        return (self.year, self.level) == (year, level)


@dataclass(frozen=True, slots=True)
class Entry:
    """An application at one level: in a round, or waiting for one to open."""

    application_id: UUID
    product_id: UUID
    producer_id: UUID
    kind: EntryKind
    regime: str
    product_set: str
    commune_code: str
    district_code: str | None
    round_year: int
    level: Level
    submitted_on: date
    round_id: UUID | None
    status: EntryStatus
    created_at: datetime
    # The summary of a closed round's result (see ``summarise``), or the reasons it was returned.
    result: dict[str, Any] | None = None

    @property
    def units(self) -> list[str]:
        """The units a council member from which has a conflict of interest."""
        return [u for u in (self.commune_code, self.district_code) if u]

    @property
    def star_to_certify(self) -> int | None:
        """The star a closed round awarded and a decision certifies; None when there is none."""
        if self.status is not EntryStatus.SCORED or not self.result:
            return None
        star = self.result["outcome_star"]
        return None if star is None else int(star)

    def grant(
        self, certificate_id: UUID, level: Level, decision_number: str, decision_date: date
    ) -> Grant:
        """The certificate a recognition decision at ``level`` grants this entry, from the
        summary its round kept."""
        star = self.star_to_certify
        if star is None or self.result is None:
            raise RuleViolation(
                "application_id", f"application {self.application_id} has no star to certify"
            )
        level = Level(self.result.get("certify_level") or level)
        return Grant(
            certificate_id=certificate_id,
            star=star,
            level=level,
            decision_number=decision_number,
            decision_date=decision_date,
            rulebook=RulebookRef(self.result["rulebook"], int(self.result["rulebook_version"])),
            score=Decimal(self.result["score"]),
        )

    def in_round(self, round_id: UUID | None) -> Entry:
        """This entry in the open round ``round_id``, or waiting when there is none."""
        status = EntryStatus.ENTERED if round_id is not None else EntryStatus.WAITING
        return replace(self, round_id=round_id, status=status)

    def onward(self, outcome: Outcome, at: datetime) -> Entry:
        """The entry a forwarded dossier, or one nominated for 5★, makes at the next level
        (placed by ``in_round``); a nomination there is an upgrade of the star certified here."""
        assert outcome.to_level is not None
        kind = EntryKind.UPGRADE if outcome.kind is OutcomeKind.NOMINATE else self.kind
        return replace(
            self, kind=kind, level=outcome.to_level, round_id=None, result=None, created_at=at
        )


@dataclass(frozen=True, slots=True)
class CouncilSeat:
    member_id: str  # the member's token subject
    name: str
    role: CouncilRole = CouncilRole.MEMBER
    unit_code: str | None = None  # unit of origin, for conflict-of-interest checks
    ties: tuple[str, ...] = ()  # producers the member declared ties to

    @property
    def member(self) -> CouncilMember:
        return CouncilMember(self.member_id, self.unit_code or "", frozenset(self.ties))


def check_council(seats: Sequence[CouncilSeat]) -> None:
    ids = [s.member_id for s in seats]
    if len(set(ids)) != len(ids):
        raise RuleViolation("members", "a member is listed twice")
    if len(seats) < MIN_COUNCIL:
        raise RuleViolation("members", f"a council needs at least {MIN_COUNCIL} members")
    if sum(s.role is CouncilRole.CHAIR for s in seats) != 1:
        raise RuleViolation("members", "a council has exactly one chair")


def summarise(
    result: CouncilResult,
    outcome: Outcome,
    flags: Sequence[IntegrityFlag],
) -> tuple[dict[str, float], dict[str, Any], EntryStatus]:
    """What a closed round keeps of one product's result: average points per part, the
    summary stored on the entry, and the entry's new status."""
    parts = {
        part.value: float(
            sum(
                (result.criterion_averages[c.id] for c in result.sheet.criteria if c.part is part),
                Decimal(0),
            )
        )
        for part in Part
    }
    summary = {
        "score": str(result.score),
        "star": result.star,
        "outcome": outcome.kind.value,
        "outcome_star": outcome.star,
        "to_level": outcome.to_level.value if outcome.to_level else None,
        # The level a certificate is issued at and whose power awards it (see Outcome.power).
        "certify_level": outcome.level.value,
        "power": outcome.authority.value,
        "rulebook": result.rulebook.id,
        "rulebook_version": result.rulebook.version,
        "flags": [f.kind.value for f in flags],
    }
    status = {
        OutcomeKind.NOT_RECOGNISED: EntryStatus.NOT_RECOGNISED,
        OutcomeKind.FORWARD: EntryStatus.FORWARDED,
    }.get(outcome.kind, EntryStatus.SCORED)
    return parts, summary, status
