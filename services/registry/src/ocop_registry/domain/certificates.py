"""A product's certificates as evaluation reports them: the registry only projects them.

Status on a day follows from the certificate's dates and what evaluation decided, so the
public lookup can answer for any past day (``as_of``) from the same records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from uuid import UUID

# Evaluation sends expiry notices at 180, 90 and 30 days; the lookup calls a certificate
# "expiring" in its last 90 days, when a buyer or a listing should start asking.
EXPIRING_WITHIN_DAYS = 90


class CertificateStatus(StrEnum):
    NOT_CERTIFIED = "not_certified"
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"


LIVE = frozenset({CertificateStatus.VALID, CertificateStatus.EXPIRING})


@dataclass(frozen=True, slots=True)
class Certificate:
    id: UUID
    number: str
    product_id: UUID
    star: int
    level: str
    decision_number: str
    decision_date: date
    valid_from: date
    valid_until: date  # last valid day
    rulebook: str
    score: float | None = None
    replaces_id: UUID | None = None
    revoked_on: date | None = None
    revocation_grounds: tuple[str, ...] = ()
    expired_on: date | None = None

    def status_on(
        self, day: date, expiring_within_days: int = EXPIRING_WITHIN_DAYS
    ) -> CertificateStatus:
        if day < self.valid_from:
            return CertificateStatus.NOT_CERTIFIED
        if self.revoked_on is not None and self.revoked_on <= day:
            return CertificateStatus.REVOKED
        if day > self.valid_until or (self.expired_on is not None and self.expired_on <= day):
            return CertificateStatus.EXPIRED
        if self.valid_until - day < timedelta(days=expiring_within_days):
            return CertificateStatus.EXPIRING
        return CertificateStatus.VALID


def certificate_on(certificates: Iterable[Certificate], day: date) -> Certificate | None:
    """The certificate that speaks for the product on ``day``: the latest one issued from that
    day or before (a re-evaluation's new certificate supersedes the one it replaces)."""
    candidates = [c for c in certificates if c.valid_from <= day]
    if not candidates:
        return None
    replaced = {c.replaces_id for c in candidates if c.replaces_id is not None}
    current = [c for c in candidates if c.id not in replaced] or candidates
    return max(current, key=lambda c: (c.valid_from, c.decision_date))


def status_on(certificates: Iterable[Certificate], day: date) -> CertificateStatus:
    current = certificate_on(certificates, day)
    return current.status_on(day) if current else CertificateStatus.NOT_CERTIFIED


def live_certificate(certificates: Iterable[Certificate], day: date) -> Certificate | None:
    current = certificate_on(certificates, day)
    return current if current and current.status_on(day) in LIVE else None
