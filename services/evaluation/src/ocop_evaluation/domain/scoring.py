"""A council's result: members' score sheets -> the council's score -> band -> star.

The council's score is the average of the members' totals. The band follows from the score
alone; the star is the band lowered until every mandatory criterion for it is met. A product
"has" a criterion when the council's average on it is above zero, that is when at least one
member found any evidence for it: the sources say a mandatory criterion must be "met" without
saying how a council decides that, and a single member's zero must not veto what the others saw.
A rulebook may instead ask for a minimum average per star (``Criterion.requirements``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ocop_evaluation.domain.common import (
    BAND_FLOORS,
    CERTIFIED_STARS,
    MAX_SCORE,
    Points,
    RuleViolation,
    band,
    points,
)
from ocop_evaluation.domain.rulebooks import RulebookRef, ScoreSheet


@dataclass(frozen=True, slots=True)
class MemberScores:
    """One council member's score sheet: points per criterion id."""

    member_id: str
    points: Mapping[str, Points]


@dataclass(frozen=True, slots=True)
class CouncilResult:
    """What the council decided, with everything needed to explain it.

    ``ceiling`` is the highest star whose mandatory criteria (its own and every lower star's)
    are all met; ``star`` is ``min(band, ceiling)`` when that is 3★ or more, else None (not
    recognised). ``missing`` lists, per star, the criteria that first fall short at that star
    (a criterion short of 3★ is listed under 3★ only).
    """

    sheet: ScoreSheet
    member_totals: Mapping[str, Decimal]
    member_points: Mapping[str, Mapping[str, Decimal]]
    criterion_averages: Mapping[str, Decimal]
    score: Decimal
    band: int
    ceiling: int
    star: int | None
    missing: Mapping[int, tuple[str, ...]]
    reasons: tuple[str, ...]

    @property
    def rulebook(self) -> RulebookRef:
        return self.sheet.rulebook

    @property
    def recognised(self) -> bool:
        return self.star is not None


def score_council(sheet: ScoreSheet, sheets: Sequence[MemberScores]) -> CouncilResult:
    """Score one product from its council members' sheets.

    Every member must score every criterion of ``sheet`` (a bonus criterion may be left out,
    which counts as zero): a forgotten line would otherwise count as a zero that can cost the
    product a star.
    """
    if not sheets:
        raise RuleViolation("sheets", "a council result needs at least one member's score sheet")
    member_points: dict[str, dict[str, Decimal]] = {}
    for member in sheets:
        member_id = member.member_id
        if not isinstance(member_id, str) or not member_id.strip():
            raise RuleViolation("sheets", "every score sheet must name its council member")
        if member_id in member_points:
            raise RuleViolation(
                f"sheets.{member_id}", "this member handed in more than one score sheet"
            )
        member_points[member_id] = _checked(sheet, member)

    count = Decimal(len(member_points))
    totals = {m: sum(p.values(), Decimal(0)) for m, p in member_points.items()}
    averages = {
        c.id: sum((p[c.id] for p in member_points.values()), Decimal(0)) / count
        for c in sheet.criteria
    }
    # Only a bonus can lift a total past 100; the scale stays out of 100 so that bands and
    # published scores mean the same under every rulebook.
    score = min(sum(totals.values(), Decimal(0)) / count, MAX_SCORE)
    banded = band(score)

    missing: dict[int, tuple[str, ...]] = {}
    for star in CERTIFIED_STARS:
        # Listed under the first star it fails, so each shortfall is explained once.
        lacking = tuple(
            c.id
            for c in sheet.criteria
            if not c.is_met_for(star, averages[c.id]) and c.is_met_for(star - 1, averages[c.id])
        )
        if lacking:
            missing[star] = lacking
    ceiling = min(missing) - 1 if missing else max(CERTIFIED_STARS)
    earned = min(banded, ceiling)
    certified: int | None = earned if earned in CERTIFIED_STARS else None

    return CouncilResult(
        sheet=sheet,
        member_totals=totals,
        member_points=member_points,
        criterion_averages=averages,
        score=score,
        band=banded,
        ceiling=ceiling,
        star=certified,
        missing=missing,
        reasons=_reasons(sheet, averages, score, banded, missing),
    )


@dataclass(frozen=True, slots=True)
class SheetScore:
    """One member's sheet on its own: its total, as a council score out of 100, and band."""

    total: Decimal
    score: Decimal
    band: int


def score_one_sheet(sheet: ScoreSheet, member: MemberScores) -> SheetScore:
    """Check one member's sheet as :func:`score_council` checks each sheet (every criterion
    scored, none above its maximum) and score it alone: what a council of that one member
    would score, without working out shortfalls and reasons that only a result needs."""
    if not isinstance(member.member_id, str) or not member.member_id.strip():
        raise RuleViolation("sheets", "every score sheet must name its council member")
    total = sum(_checked(sheet, member).values(), Decimal(0))
    score = min(total, MAX_SCORE)
    return SheetScore(total=total, score=score, band=band(score))


def _checked(sheet: ScoreSheet, member: MemberScores) -> dict[str, Decimal]:
    at = f"sheets.{member.member_id}"
    if not isinstance(member.points, Mapping):
        raise RuleViolation(at, "points must map criterion ids to points")
    checked: dict[str, Decimal] = {}
    for criterion_id, value in member.points.items():
        criterion = sheet.criterion(criterion_id) if isinstance(criterion_id, str) else None
        if criterion is None:
            shown = str(criterion_id)[:20]
            raise RuleViolation(
                f"{at}.{shown}",
                f"{shown!r} is not a criterion of the {sheet.product_set} sheet under "
                f"rulebook {sheet.rulebook}",
            )
        given = points(value, f"{at}.{criterion_id}")
        if given > criterion.max_points:
            raise RuleViolation(
                f"{at}.{criterion_id}",
                f"{given} points is more than the maximum of {criterion.max_points} for "
                f"{criterion.label}",
            )
        checked[criterion_id] = given
    unscored = [c.id for c in sheet.criteria if c.id not in checked and not c.bonus]
    if unscored:
        raise RuleViolation(
            at, f"criteria {', '.join(unscored)} are not scored; score 0 for one with no evidence"
        )
    return {c.id: checked.get(c.id, Decimal(0)) for c in sheet.criteria}


def _reasons(
    sheet: ScoreSheet,
    averages: Mapping[str, Decimal],
    score: Decimal,
    banded: int,
    missing: Mapping[int, tuple[str, ...]],
) -> tuple[str, ...]:
    reasons = []
    floor = dict(BAND_FLOORS)[min(CERTIFIED_STARS)]
    if banded < min(CERTIFIED_STARS):
        reasons.append(f"the council's score {score} is below {floor}, the floor of 3★")
    for star, ids in sorted(missing.items()):
        # A criterion needed only for a star above the band changed nothing.
        if star > banded:
            continue
        for criterion_id in ids:
            criterion = sheet.criterion(criterion_id)
            assert criterion is not None
            minimum = criterion.minimum_for(star)
            if not minimum:
                reasons.append(
                    f"{criterion.label} is mandatory from {star}★ and no member gave it any points"
                )
            else:
                reasons.append(
                    f"{criterion.label} needs an average of at least {minimum} points for "
                    f"{star}★; the council's is {averages[criterion_id]}"
                )
    return tuple(reasons)
