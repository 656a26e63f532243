"""What a recognition decision does to one product, without ever refusing the whole round.

A committee's decision covers every product of a closed round. One product's situation (an
upgrade that did not reach a higher star, a re-evaluation decided after the certificate it
re-evaluates had ended, a certificate recorded meanwhile) is that product's outcome, recorded
with its reason; it never stops the decision for the others.

    scored, re-evaluation   live certificate      -> replaced (any star)
                            ended (or ends first) -> a new certificate from the decision date
    scored, upgrade         live, higher star     -> replaced
                            live, not higher      -> kept: the current certificate stands
                            ended                 -> a new certificate from the decision date
    scored, first time      nothing live          -> certified
                            live                  -> kept (re-evaluate or upgrade it instead)
    not recognised, re-evaluation, live           -> the live certificate ends (revoked, with
                                                     the ground the result gives)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ocop_evaluation.domain.certificates import (
    CertificateEvent,
    Grant,
    ProductCertificates,
    RevocationGround,
    certify,
    expire,
    reevaluate,
    revoke,
    upgrade,
)
from ocop_evaluation.domain.common import CERTIFIED_STARS, RuleViolation, band
from ocop_evaluation.domain.rounds import EntryKind


class Verdict(StrEnum):
    CERTIFIED = "certified"  # a new certificate, with nothing live to replace
    REPLACED = "replaced"  # a re-evaluation or an upgrade replaced the live certificate
    KEPT = "kept"  # nothing new granted: the current certificate stands
    ENDED = "ended"  # a failed re-evaluation ended the live certificate
    UNCHANGED = "unchanged"  # a failed re-evaluation found nothing live to end
    NOT_GRANTED = "not_granted"  # a rule refused this product's certificate; see the reason


@dataclass(frozen=True, slots=True)
class Decided:
    """One product's part of a decision: its certificates after it, what to publish, and why."""

    history: ProductCertificates
    events: list[CertificateEvent] = field(default_factory=list)
    verdict: Verdict = Verdict.UNCHANGED
    reason: str = ""

    @property
    def summary(self) -> dict[str, Any]:
        """What the entry keeps of the decision."""
        return {"verdict": self.verdict.value, "reason": self.reason}


def grant_decided(history: ProductCertificates, kind: EntryKind, grant: Grant) -> Decided:
    """The certificate a decision grants a scored product, as far as its history allows."""
    try:
        return _grant(history, kind, grant)
    except RuleViolation as refused:
        return Decided(history, [], Verdict.NOT_GRANTED, f"{refused.field}: {refused.reason}")


def _grant(history: ProductCertificates, kind: EntryKind, grant: Grant) -> Decided:
    events: list[CertificateEvent] = []
    live = history.live
    if live is not None and grant.decision_date > live.valid_until:
        # The certificate ended before this decision, whether or not the sweep has said so.
        history, events = expire(history, grant.decision_date)
        live = None
    day = grant.decision_date.isoformat()
    if live is None:
        history, issued = certify(history, grant)
        reason = {
            EntryKind.FIRST_TIME: f"{grant.star}★ certified from {day}",
            EntryKind.RE_EVALUATION: f"the certificate re-evaluated had ended: a new "
            f"{grant.star}★ certificate from {day}",
            EntryKind.UPGRADE: f"the certificate to upgrade had ended: a new {grant.star}★ "
            f"certificate from {day}",
        }[kind]
        return Decided(history, [*events, *issued], Verdict.CERTIFIED, reason)
    if kind is EntryKind.FIRST_TIME:
        return Decided(
            history,
            events,
            Verdict.KEPT,
            f"the product already holds live certificate {live.id} ({live.star}★, "
            f"{live.level}); a first-time result does not replace it",
        )
    if kind is EntryKind.UPGRADE and grant.star <= live.star:
        return Decided(
            history,
            events,
            Verdict.KEPT,
            f"upgrade not reached: {grant.star}★ is not above the current {live.star}★; "
            f"certificate {live.id} stands until {live.valid_until.isoformat()}",
        )
    act = upgrade if kind is EntryKind.UPGRADE else reevaluate
    history, replaced = act(history, grant)
    return Decided(
        history,
        [*events, *replaced],
        Verdict.REPLACED,
        f"{grant.star}★ replaces the {live.star}★ certificate {live.id} from {day}",
    )


def failure_ground(score: Decimal | str | float, star: int | None) -> RevocationGround:
    """Why a failed re-evaluation ends the certificate: a score in a certified band that missed
    a mandatory item failed the mandatory criteria (Đồng Tháp's cases); otherwise too few points."""
    banded = band(Decimal(str(score)))
    if banded in CERTIFIED_STARS and (star is None or star < banded):
        return RevocationGround.FAILED_MANDATORY_CRITERIA
    return RevocationGround.FAILED_REEVALUATION


def failure_decided(
    history: ProductCertificates,
    ground: RevocationGround,
    decision_number: str,
    decision_date: date,
) -> Decided:
    """A re-evaluation the council did not recognise ends the live certificate by the same
    decision (revoked on ``ground``); a certificate already ended needs nothing."""
    live = history.live
    if live is None:
        return Decided(history, [], Verdict.UNCHANGED, "no live certificate to end")
    if decision_date > live.valid_until:
        after, events = expire(history, decision_date)
        return Decided(
            after, list(events), Verdict.ENDED, f"certificate {live.id} had already lapsed"
        )
    try:
        after, events = revoke(history, [ground], decision_number, decision_date)
    except RuleViolation as refused:
        return Decided(history, [], Verdict.NOT_GRANTED, f"{refused.field}: {refused.reason}")
    return Decided(
        after,
        list(events),
        Verdict.ENDED,
        f"re-evaluation failed ({ground.value}): certificate {live.id} ({live.star}★) ends on "
        f"{decision_date.isoformat()}",
    )
