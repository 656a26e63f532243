"""What every evaluation rule shares: the error users see, levels, points and star bands."""

from __future__ import annotations

import math
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from ocop_runtime.refusals import RuleViolation

__all__ = ["RuleViolation"]  # the error users see, raised by every rule

Points: TypeAlias = Decimal | int | float


class Level(StrEnum):
    """Tier of the administration whose council or committee acts on a dossier."""

    COMMUNE = "commune"  # pre-assessment under 1489/2025
    DISTRICT = "district"  # abolished with the two-tier model in July 2025
    CITY = "city"  # Hanoi is the province-level unit
    CENTRAL = "central"


class Part(StrEnum):
    """The three parts of every score sheet."""

    A = "A"  # product and community strength
    B = "B"  # marketing
    C = "C"  # quality


STARS = (1, 2, 3, 4, 5)
CERTIFIED_STARS = (3, 4, 5)
MAX_SCORE = Decimal(100)

# Lower edge of each band, the same under every regime so far: 5★ [90,100], 4★ [70,90),
# 3★ [50,70), 2★ [30,50), 1★ below 30. Half-open so that 69.99 is 3★ and 70 is 4★.
BAND_FLOORS: tuple[tuple[int, Decimal], ...] = (
    (5, Decimal(90)),
    (4, Decimal(70)),
    (3, Decimal(50)),
    (2, Decimal(30)),
    (1, Decimal(0)),
)


def points(value: object, field: str) -> Decimal:
    """``value`` as an exact non-negative Decimal.

    Floats go through their shortest repr so that 29.99 stays 29.99 and a band edge is not
    missed by a binary rounding error.
    """
    if type(value) is Decimal and value.is_finite() and value >= 0:
        return value  # what every sheet through the API holds: nothing to convert or refuse
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise RuleViolation(field, f"points must be a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleViolation(field, f"points must be a finite number, not {value}")
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        raise RuleViolation(field, f"points must be a finite number, not {value}")
    if exact < 0:
        raise RuleViolation(field, f"points cannot be negative ({value})")
    return exact


def band(score: Points) -> int:
    """The star band of a council score out of 100."""
    exact = points(score, "score")
    if exact > MAX_SCORE:
        raise RuleViolation("score", f"a score is out of 100, not {score}")
    return next(star for star, floor in BAND_FLOORS if exact >= floor)


def check_star(star: int, field: str = "star", allowed: tuple[int, ...] = STARS) -> int:
    if isinstance(star, bool) or not isinstance(star, int) or star not in allowed:
        shown = ", ".join(f"{s}★" for s in allowed)
        raise RuleViolation(field, f"{star!r} is not a star here; expected one of {shown}")
    return star


def check_level(level: str, field: str = "level") -> Level:
    try:
        return Level(level)
    except ValueError:
        known = ", ".join(v.value for v in Level)
        raise RuleViolation(field, f"{str(level)[:40]!r} is not a level; known: {known}") from None
