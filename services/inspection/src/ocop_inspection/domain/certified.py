"""The certified population as inspection knows it: certificates copied from evaluation's
events, and whether a product held one on a given day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID


@dataclass(frozen=True)
class CertificateCopy:
    certificate_id: UUID
    product_id: UUID
    star: int
    decision_date: date
    valid_from: date
    valid_until: date
    state: str = "live"  # live, replaced, expired, revoked
    ended_on: date | None = None  # first day it no longer held

    def holds_on(self, day: date) -> bool:
        if not (self.valid_from <= day <= self.valid_until):
            return False
        return self.ended_on is None or day < self.ended_on


def certificate_on(certificates: Iterable[CertificateCopy], day: date) -> CertificateCopy | None:
    """The certificate a product held on ``day`` (the latest issued, if two overlap)."""
    holding = [c for c in certificates if c.holds_on(day)]
    return max(holding, key=lambda c: (c.valid_from, c.decision_date), default=None)
