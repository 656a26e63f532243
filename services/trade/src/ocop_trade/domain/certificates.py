"""Trade's copy of a product's certificates, and the one question it answers: does the product
hold a live OCOP certificate on a day, or on every day of a period?

A certificate covers the days ``valid_from`` .. ``valid_until``; once it ends (expired, revoked,
replaced, or another end evaluation reports) it covers no day from ``ended_on`` on. A period is
covered when every one of its days is covered by some certificate, so a re-evaluation in the
middle of a fair keeps the product eligible."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from uuid import UUID


class CertificateState(StrEnum):
    LIVE = "live"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REPLACED = "replaced"
    ENDED = "ended"  # another end that evaluation reports (e.g. a failed re-evaluation)


# Why a listing stands suspended, by the state its last certificate ended in.
SUSPENSION_REASONS = {
    CertificateState.EXPIRED: "certificate_expired",
    CertificateState.REVOKED: "certificate_revoked",
    CertificateState.ENDED: "certificate_ended",
    CertificateState.REPLACED: "certificate_ended",
}
NO_LIVE_CERTIFICATE = "no_live_certificate"


@dataclass(frozen=True)
class CertificateCopy:
    certificate_id: UUID
    product_id: UUID
    star: int
    valid_from: date
    valid_until: date
    state: CertificateState = CertificateState.LIVE
    ended_on: date | None = None
    end_reason: str | None = None

    @property
    def last_day(self) -> date:
        """The last day the certificate covers."""
        if self.ended_on is not None:
            return min(self.valid_until, self.ended_on - timedelta(days=1))
        return self.valid_until

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.last_day

    @property
    def live(self) -> bool:
        return self.state is CertificateState.LIVE

    def ended(
        self, state: CertificateState, on: date, reason: str | None = None
    ) -> CertificateCopy:
        """This certificate ended on ``on`` (the first day it no longer covers). An earlier end
        already recorded stands."""
        first_uncovered = on if self.ended_on is None else min(self.ended_on, on)
        return replace(self, state=state, ended_on=first_uncovered, end_reason=reason)


def covered(certificates: Iterable[CertificateCopy], start: date, end: date) -> bool:
    """Every day of ``start`` .. ``end`` is covered by some certificate."""
    day = start
    spans = sorted((c.valid_from, c.last_day) for c in certificates if c.last_day >= c.valid_from)
    for first, last in spans:
        if first > day:
            return False
        if last >= day:
            day = last + timedelta(days=1)
            if day > end:
                return True
    return day > end


def live_certificate(
    certificates: Iterable[CertificateCopy], on: date | None = None
) -> CertificateCopy | None:
    """The product's live certificate (covering ``on``, when given): the highest star, then
    the latest to end, when several are live."""
    live = [c for c in certificates if c.live and (on is None or c.covers(on))]
    return max(live, key=lambda c: (c.star, c.valid_until), default=None)


def why_not_live(certificates: Iterable[CertificateCopy]) -> str:
    """The suspension reason when a product holds no live certificate: the end of its most
    recent one."""
    ended = [c for c in certificates if not c.live]
    if not ended:
        return NO_LIVE_CERTIFICATE
    last = max(ended, key=lambda c: (c.ended_on or c.valid_until, c.valid_from))
    return SUSPENSION_REASONS.get(last.state, NO_LIVE_CERTIFICATE)
