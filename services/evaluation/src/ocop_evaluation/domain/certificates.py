"""Certificates: 36 months of validity, expiry notices, and at most one live certificate.

A product's certificates form one aggregate (``ProductCertificates``) because the rule that
matters, at most one live certificate per product, spans them. Every operation takes the
aggregate and returns the new aggregate with the events it produced; a refused operation raises
``RuleViolation`` and leaves nothing half done.

    live --(end passes, not replaced)--> expired
    live --(committee decision, >=1 ground)--> revoked
    live --(re-evaluation: any star / upgrade: a higher star)--> replaced
    expired, revoked and replaced are final.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias
from uuid import UUID

from ocop_evaluation.domain.common import CERTIFIED_STARS, Level, RuleViolation, check_star
from ocop_evaluation.domain.rulebooks import RulebookRef

VALIDITY_MONTHS = 36
# Days before the end at which the holder is told; the sources require at least 30 days' notice,
# the earlier two give a producer time to enter a re-evaluation round.
NOTICE_DAYS = (180, 90, 30)


def valid_until(decision_date: date, months: int = VALIDITY_MONTHS) -> date:
    """The last valid day of a certificate signed on ``decision_date``.

    A period of months ends the day before the same day of the month ``months`` later; when that
    month has no such day (29 February in a common year, the 31st of a short month), it ends on
    that month's last day: 2023-02-28 -> 2026-02-27, 2024-02-29 -> 2027-02-28.
    """
    if months < 1:
        raise ValueError(f"a validity period is a positive number of months, not {months}")
    index = decision_date.year * 12 + decision_date.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    if decision_date.day > last_day:
        return date(year, month, last_day)
    return date(year, month, decision_date.day) - timedelta(days=1)


def notices_due(
    valid_until: date,
    day: date,
    sent: Collection[int],
    thresholds: Iterable[int] = NOTICE_DAYS,
) -> tuple[int, ...]:
    """The expiry notices to send on ``day`` for a live certificate, given those already sent.

    A threshold is reached when at most that many days are left. Only the tightest threshold
    reached is ever due: after a pause of the scheduler a producer gets one notice saying 30 days,
    not three at once, and the wider ones it skipped are never sent late. Calling again with the
    returned thresholds added to ``sent`` yields nothing, so a scheduler may run any number of
    times a day.
    """
    levels = sorted(set(thresholds))
    if not levels or any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in levels):
        raise ValueError(f"notice thresholds must be non-negative whole days, not {levels}")
    left = (valid_until - day).days
    if left < 0:
        return ()
    reached = [t for t in levels if left <= t]
    if not reached:
        return ()
    tightest = reached[0]
    if any(s <= tightest for s in sent):
        return ()
    return (tightest,)


class CertificateState(StrEnum):
    LIVE = "live"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REPLACED = "replaced"


FINAL_STATES = frozenset(
    {CertificateState.EXPIRED, CertificateState.REVOKED, CertificateState.REPLACED}
)


class RevocationGround(StrEnum):
    """Grounds seen in revocation decisions (the article of 148 listing them was not found):
    Đồng Tháp's (not re-evaluated, failed the mandatory criteria on re-evaluation) and Hà
    Tĩnh's 2021 list (process not followed, food-safety breach, quality or design no longer as
    certified, no quality or traceability records, operation suspended)."""

    NOT_REEVALUATED = "not_reevaluated"
    FAILED_MANDATORY_CRITERIA = "failed_mandatory_criteria"
    FOOD_SAFETY_BREACH = "food_safety_breach"
    PROCESS_NOT_FOLLOWED = "process_not_followed"
    QUALITY_MISMATCH = "quality_mismatch"
    OPERATION_SUSPENDED = "operation_suspended"
    NO_QUALITY_RECORDS = "no_quality_records"  # no quality or traceability records [HT]
    # A re-evaluation scored below 3★ on points (a miss on a mandatory item is the ground above).
    FAILED_REEVALUATION = "failed_reevaluation"


class Replacement(StrEnum):
    REEVALUATION = "reevaluation"  # any star: higher, equal or lower
    UPGRADE = "upgrade"  # a higher star only


@dataclass(frozen=True, slots=True)
class Grant:
    """A recognition decision that grants a certificate."""

    certificate_id: UUID
    star: int
    level: Level
    decision_number: str
    decision_date: date
    rulebook: RulebookRef
    score: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Revocation:
    grounds: tuple[RevocationGround, ...]
    decision_number: str
    decision_date: date
    revoked_on: date


@dataclass(frozen=True, slots=True)
class Certificate:
    """One certificate. ``ended_on`` is the first day it no longer counts."""

    id: UUID
    product_id: UUID
    star: int
    level: Level
    decision_number: str
    decision_date: date
    valid_until: date
    rulebook: RulebookRef
    score: Decimal | None = None
    replaces: UUID | None = None
    state: CertificateState = CertificateState.LIVE
    ended_on: date | None = None
    replaced_by: UUID | None = None
    replacement: Replacement | None = None
    revocation: Revocation | None = None

    def notices_due(
        self, day: date, sent: Collection[int], thresholds: Iterable[int] = NOTICE_DAYS
    ) -> tuple[int, ...]:
        if self.state is not CertificateState.LIVE:
            return ()
        return notices_due(self.valid_until, day, sent, thresholds)


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """A certificate as issued: with its number, the application it was granted on, and the
    expiry notices already sent."""

    certificate: Certificate
    number: str
    application_id: UUID | None
    notices_sent: tuple[int, ...]
    issued_at: datetime


class RecommendationDecision(StrEnum):
    REVOKED = "revoked"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Inspection's recommendation to revoke a product's certificate, and the committee's
    decision on it (None while pending)."""

    id: UUID
    product_id: UUID
    certificate_id: UUID | None
    grounds: tuple[str, ...]
    findings: tuple[str, ...]
    recommended_at: datetime
    decided: RecommendationDecision | None = None


@dataclass(frozen=True, slots=True)
class ProductCertificates:
    """Every certificate a product has held, oldest first."""

    product_id: UUID
    certificates: tuple[Certificate, ...] = ()

    @property
    def live(self) -> Certificate | None:
        return next((c for c in self.certificates if c.state is CertificateState.LIVE), None)

    def get(self, certificate_id: UUID) -> Certificate | None:
        return next((c for c in self.certificates if c.id == certificate_id), None)


@dataclass(frozen=True, slots=True)
class ProductCertified:
    """A product's first certificate, or its first after the previous one ended."""

    certificate: Certificate


@dataclass(frozen=True, slots=True)
class CertificateReevaluated:
    certificate: Certificate
    replaces: UUID


@dataclass(frozen=True, slots=True)
class CertificateUpgraded:
    certificate: Certificate
    replaces: UUID


@dataclass(frozen=True, slots=True)
class CertificateExpired:
    certificate_id: UUID
    product_id: UUID
    expired_on: date


@dataclass(frozen=True, slots=True)
class CertificateRevoked:
    certificate_id: UUID
    product_id: UUID
    revocation: Revocation


CertificateEvent: TypeAlias = (
    ProductCertified
    | CertificateReevaluated
    | CertificateUpgraded
    | CertificateExpired
    | CertificateRevoked
)
Result: TypeAlias = tuple[ProductCertificates, list[CertificateEvent]]


def _with(history: ProductCertificates, *changed: Certificate) -> ProductCertificates:
    by_id = {c.id: c for c in changed}
    kept = tuple(by_id.pop(c.id, c) for c in history.certificates)
    return replace(history, certificates=kept + tuple(by_id.values()))


def _latest_day(history: ProductCertificates) -> date | None:
    days = [c.decision_date for c in history.certificates]
    days += [c.ended_on for c in history.certificates if c.ended_on is not None]
    return max(days, default=None)


def _new_certificate(history: ProductCertificates, grant: Grant) -> Certificate:
    check_star(grant.star, "star", CERTIFIED_STARS)
    if not isinstance(grant.decision_number, str) or not grant.decision_number.strip():
        raise RuleViolation("decision_number", "a certificate needs its decision's number")
    if history.get(grant.certificate_id) is not None:
        raise RuleViolation(
            "certificate_id", f"certificate {grant.certificate_id} already exists for this product"
        )
    latest = _latest_day(history)
    # History is kept in decision order so that "the live certificate" and every ended_on stay
    # meaningful; a decision dated before what is already recorded cannot be slotted in.
    if latest is not None and grant.decision_date < latest:
        raise RuleViolation(
            "decision_date",
            f"{grant.decision_date.isoformat()} is before {latest.isoformat()}, the latest "
            "decision or end already recorded for this product",
        )
    return Certificate(
        id=grant.certificate_id,
        product_id=history.product_id,
        star=grant.star,
        level=Level(grant.level),
        decision_number=grant.decision_number.strip(),
        decision_date=grant.decision_date,
        valid_until=valid_until(grant.decision_date),
        rulebook=grant.rulebook,
        score=grant.score,
    )


def expire(history: ProductCertificates, day: date) -> Result:
    """Expire the live certificate if its last valid day is before ``day``.

    Nothing to expire is not an error: the scheduler that calls this may run again.
    """
    live = history.live
    if live is None or day <= live.valid_until:
        return history, []
    ended = live.valid_until + timedelta(days=1)
    expired = replace(live, state=CertificateState.EXPIRED, ended_on=ended)
    return _with(history, expired), [CertificateExpired(live.id, history.product_id, ended)]


def certify(history: ProductCertificates, grant: Grant) -> Result:
    """Grant a product its first certificate, or a new one after the previous one ended."""
    events: list[CertificateEvent] = []
    live = history.live
    if live is not None:
        if grant.decision_date <= live.valid_until:
            raise RuleViolation(
                "certificate",
                f"the product already holds live certificate {live.id} ({live.star}★, valid "
                f"until {live.valid_until.isoformat()}); re-evaluate or upgrade it instead",
            )
        # The old certificate lapsed before this decision even if no scheduler has said so yet.
        history, events = expire(history, grant.decision_date)
    new = _new_certificate(history, grant)
    return _with(history, new), [*events, ProductCertified(new)]


def _replace(history: ProductCertificates, grant: Grant, kind: Replacement) -> Result:
    live = history.live
    if live is None:
        raise RuleViolation(
            "certificate", f"the product holds no live certificate for a {kind} to replace"
        )
    if grant.decision_date > live.valid_until:
        raise RuleViolation(
            "decision_date",
            f"certificate {live.id} ended on {live.valid_until.isoformat()}, before this "
            "decision; a product whose certificate has lapsed is certified anew",
        )
    if kind is Replacement.UPGRADE and grant.star <= live.star:
        raise RuleViolation(
            "star",
            f"an upgrade must give more than the current {live.star}★, not {grant.star}★; "
            "a re-evaluation may keep or lower the star",
        )
    new = replace(_new_certificate(history, grant), replaces=live.id)
    old = replace(
        live,
        state=CertificateState.REPLACED,
        ended_on=grant.decision_date,
        replaced_by=new.id,
        replacement=kind,
    )
    event: CertificateEvent = (
        CertificateUpgraded(new, live.id)
        if kind is Replacement.UPGRADE
        else CertificateReevaluated(new, live.id)
    )
    return _with(history, old, new), [event]


def reevaluate(history: ProductCertificates, grant: Grant) -> Result:
    """Replace the live certificate after re-evaluation; the star may go up, stay or go down."""
    return _replace(history, grant, Replacement.REEVALUATION)


def upgrade(history: ProductCertificates, grant: Grant) -> Result:
    """Replace the live certificate by a higher star (an upgrade round or the central council)."""
    return _replace(history, grant, Replacement.UPGRADE)


def revoke(
    history: ProductCertificates,
    grounds: Iterable[RevocationGround | str],
    decision_number: str,
    decision_date: date,
    revoked_on: date | None = None,
) -> Result:
    """Revoke the live certificate by a committee decision, on at least one ground."""
    live = history.live
    if live is None:
        raise RuleViolation("certificate", "the product holds no live certificate to revoke")
    parsed: list[RevocationGround] = []
    # A lone ground sent as a string would otherwise be read letter by letter.
    for ground in [grounds] if isinstance(grounds, str) else grounds:
        try:
            value = RevocationGround(ground)
        except ValueError:
            known = ", ".join(g.value for g in RevocationGround)
            raise RuleViolation(
                "grounds", f"{str(ground)[:40]!r} is not a revocation ground; known: {known}"
            ) from None
        if value not in parsed:
            parsed.append(value)
    if not parsed:
        raise RuleViolation("grounds", "a revocation needs at least one ground")
    if not isinstance(decision_number, str) or not decision_number.strip():
        raise RuleViolation("decision_number", "a revocation needs its decision's number")
    effective = revoked_on or decision_date
    for field, day in (("decision_date", decision_date), ("revoked_on", effective)):
        if day < live.decision_date:
            raise RuleViolation(
                field,
                f"{day.isoformat()} is before {live.decision_date.isoformat()}, when certificate "
                f"{live.id} was granted",
            )
    revocation = Revocation(tuple(parsed), decision_number.strip(), decision_date, effective)
    revoked = replace(
        live, state=CertificateState.REVOKED, ended_on=effective, revocation=revocation
    )
    return _with(history, revoked), [CertificateRevoked(live.id, history.product_id, revocation)]
