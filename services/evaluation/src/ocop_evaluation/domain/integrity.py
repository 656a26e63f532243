"""Checks on a council's work that a reviewer should look at; they flag, they never decide.

The thresholds are settings, not rules from the sources: a margin of 15 points from the other
members and a spread of more than half a criterion's maximum are starting points to tune.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import median

from ocop_evaluation.domain.common import Points, points
from ocop_evaluation.domain.scoring import CouncilResult

DEFAULT_DEVIATION_MARGIN = Decimal(15)
DEFAULT_DIVERGENCE_SHARE = Decimal("0.5")


class FlagKind(StrEnum):
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    DEVIATING_MEMBER = "deviating_member"
    DIVERGENT_CRITERION = "divergent_criterion"


@dataclass(frozen=True, slots=True)
class CouncilMember:
    """A member, the unit (organisation) they belong to, and the producers they declared
    ties to (a relative, an employer, a share, a consultancy)."""

    member_id: str
    unit_id: str
    ties: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class IntegrityFlag:
    kind: FlagKind
    detail: str
    member_id: str | None = None
    criterion_id: str | None = None


def _setting(value: Points, name: str) -> Decimal:
    # A bad threshold is a configuration mistake, not something a user sent.
    try:
        return points(value, name)
    except ValueError as wrong:
        raise ValueError(f"{name} must be a non-negative number: {wrong}") from None


def conflicts_of_interest(
    members: Iterable[CouncilMember],
    producer_units: Collection[str],
    producer: str | None = None,
) -> tuple[IntegrityFlag, ...]:
    """Members with a conflict of interest: a tie they declared to ``producer`` (an actual
    conflict, at every level), or membership of one of ``producer_units``.

    ``producer_units`` are the units that count as the producer's own where the caller applies
    that rule: a district council's members are district officials by design, so the caller
    passes the producer's commune and district only for the councils the setting names (city
    councils by default), and none elsewhere.
    """
    flags = []
    for m in members:
        if producer is not None and producer in m.ties:
            detail = f"member {m.member_id} declared a tie to producer {producer}"
        elif m.unit_id and m.unit_id in producer_units:
            detail = f"member {m.member_id} belongs to {m.unit_id}, the producer's own unit"
        else:
            continue
        flags.append(IntegrityFlag(FlagKind.CONFLICT_OF_INTEREST, detail, member_id=m.member_id))
    return tuple(flags)


def deviating_members(
    result: CouncilResult, margin: Points = DEFAULT_DEVIATION_MARGIN
) -> tuple[IntegrityFlag, ...]:
    """Members whose total is more than ``margin`` points from the median of the others'.

    The median of the *others* keeps one extreme sheet from dragging the reference it is
    compared with; a council of one has no others and is never flagged.
    """
    limit = _setting(margin, "margin")
    totals = result.member_totals
    flags = []
    for member_id, total in totals.items():
        others = [t for m, t in totals.items() if m != member_id]
        if not others:
            continue
        reference = median(others)
        if abs(total - reference) > limit:
            flags.append(
                IntegrityFlag(
                    FlagKind.DEVIATING_MEMBER,
                    f"member {member_id} gave {total} points, {abs(total - reference)} from "
                    f"the other members' median of {reference} (margin {limit})",
                    member_id=member_id,
                )
            )
    return tuple(flags)


def divergent_criteria(
    result: CouncilResult, share: Points = DEFAULT_DIVERGENCE_SHARE
) -> tuple[IntegrityFlag, ...]:
    """Criteria on which the members' points spread over more than ``share`` of the maximum."""
    fraction = _setting(share, "share")
    sheets = list(result.member_points.values())
    if len(sheets) < 2:
        return ()
    flags = []
    for criterion in result.sheet.criteria:
        given = [s[criterion.id] for s in sheets]
        spread = max(given) - min(given)
        if criterion.max_points > 0 and spread > fraction * criterion.max_points:
            flags.append(
                IntegrityFlag(
                    FlagKind.DIVERGENT_CRITERION,
                    f"members gave {criterion.label} between {min(given)} and {max(given)} of "
                    f"{criterion.max_points} points",
                    criterion_id=criterion.id,
                )
            )
    return tuple(flags)


def integrity_flags(
    result: CouncilResult,
    members: Iterable[CouncilMember],
    producer_units: Collection[str],
    *,
    margin: Points = DEFAULT_DEVIATION_MARGIN,
    share: Points = DEFAULT_DIVERGENCE_SHARE,
    producer: str | None = None,
) -> tuple[IntegrityFlag, ...]:
    return (
        conflicts_of_interest(members, producer_units, producer)
        + deviating_members(result, margin)
        + divergent_criteria(result, share)
    )
