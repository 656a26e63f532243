"""Drawing a campaign's sample from the certified population.

By rule: every product certified in the years X-Y and/or produced in the listed units. By risk:
each candidate gets a risk score from its star, the time since its last inspection, how soon its
certificate ends, its earlier findings and the complaints about it; the draw is a weighted
sample without replacement (Efraimidis-Spirakis keys ``u ** (1 / weight)``) from a seeded
generator, so the same population, parameters and seed give the same sample. Every drawn product
carries the reasons it was drawn.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

from ocop_inspection.domain.common import require

NEAR_EXPIRY_DAYS = 180
STALE_INSPECTION_DAYS = 365
MAX_SAMPLE = 100_000


class Method(StrEnum):
    RULE = "rule"
    RISK = "risk"
    MANUAL = "manual"


@dataclass(frozen=True)
class Candidate:
    """A product holding a certificate on the day of the draw, with its risk facts."""

    product_id: UUID
    producer_id: UUID
    unit: str | None  # pre-2025 district, else the commune
    star: int
    certified_on: date  # decision date of the certificate it holds
    valid_until: date
    last_inspected: date | None = None
    earlier_findings: int = 0
    complaints: int = 0


@dataclass(frozen=True)
class Drawn:
    product_id: UUID
    producer_id: UUID
    unit: str | None
    risk: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RuleDraw:
    certified_from_year: int | None = None
    certified_to_year: int | None = None
    units: tuple[str, ...] = ()

    def check(self) -> None:
        low, high = self.certified_from_year, self.certified_to_year
        if low is not None and high is not None:
            require(low <= high, "certified_to_year", "must not be before certified_from_year")


@dataclass(frozen=True)
class RiskDraw:
    size: int
    seed: int
    units: tuple[str, ...] = ()

    def check(self) -> None:
        require(1 <= self.size <= MAX_SAMPLE, "size", f"must be between 1 and {MAX_SAMPLE}")


def risk_of(c: Candidate, as_of: date) -> tuple[int, tuple[str, ...]]:
    """The risk score of a candidate on ``as_of`` and the reasons that make it up."""
    score, reasons = 0, list[str]()
    if c.star == 3:
        score += 2
        reasons.append("3★, the lowest star")
    elif c.star == 4:
        score += 1
        reasons.append("4★")
    if c.last_inspected is None:
        score += 3
        reasons.append("never inspected")
    elif (as_of - c.last_inspected).days >= STALE_INSPECTION_DAYS:
        score += 2
        reasons.append(f"last inspected {(as_of - c.last_inspected).days} days ago")
    ends_in = (c.valid_until - as_of).days
    if 0 <= ends_in <= NEAR_EXPIRY_DAYS:
        score += 2
        reasons.append(f"certificate ends in {ends_in} days")
    if c.earlier_findings:
        score += min(c.earlier_findings, 3)
        reasons.append(f"{c.earlier_findings} earlier finding(s)")
    if c.complaints:
        score += 2 * min(c.complaints, 2)
        reasons.append(f"{c.complaints} complaint(s)")
    return score, tuple(reasons)


def _in_units(c: Candidate, units: Sequence[str]) -> bool:
    return not units or (c.unit is not None and c.unit in units)


def draw_by_rule(candidates: Sequence[Candidate], rule: RuleDraw, as_of: date) -> list[Drawn]:
    """Every candidate the rule covers, in a stable order (unit, producer, product)."""
    rule.check()
    chosen = []
    for c in candidates:
        year = c.certified_on.year
        if rule.certified_from_year is not None and year < rule.certified_from_year:
            continue
        if rule.certified_to_year is not None and year > rule.certified_to_year:
            continue
        if not _in_units(c, rule.units):
            continue
        reasons = [f"certified in {year}"]
        if rule.units:
            reasons.append(f"in unit {c.unit}")
        risk, _ = risk_of(c, as_of)
        chosen.append(Drawn(c.product_id, c.producer_id, c.unit, risk, tuple(reasons)))
    return sorted(chosen, key=lambda d: (d.unit or "", str(d.producer_id), str(d.product_id)))


def draw_by_risk(candidates: Sequence[Candidate], draw: RiskDraw, as_of: date) -> list[Drawn]:
    """A weighted draw of ``draw.size`` candidates (weight (1 + risk)²), reproducible by seed.
    The result is ordered by risk (highest first), then by the draw's keys."""
    draw.check()
    pool = sorted((c for c in candidates if _in_units(c, draw.units)), key=lambda c: c.product_id)
    rng = random.Random(draw.seed)
    keyed = []
    for c in pool:
        risk, reasons = risk_of(c, as_of)
        key = rng.random() ** (1.0 / (1 + risk) ** 2)
        keyed.append((key, c, risk, reasons))
    keyed.sort(key=lambda k: k[0], reverse=True)
    top = keyed[: draw.size]
    top.sort(key=lambda k: (-k[2], -k[0]))
    return [
        Drawn(c.product_id, c.producer_id, c.unit, risk, (f"risk {risk}", *reasons))
        for _, c, risk, reasons in top
    ]


def new_items(already: set[UUID], drawn: Sequence[Drawn]) -> list[Drawn]:
    """What a further draw adds to a sample (a product is in a sample once)."""
    return [d for d in drawn if d.product_id not in already]
