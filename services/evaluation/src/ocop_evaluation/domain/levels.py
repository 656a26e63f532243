"""Which level may award which star, and what a score means at a level, by regime.

The level rules are part of each rulebook's data (``[levels.*]``). The day that picks the
rulebook is the same day that picks the score sheet: pass the dossier's submission date and a
dossier is carried through under the procedure it was filed under (Hanoi's city decision of June
2023 still certified 3★ products of the 2022 round, filed under 1048).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from ocop_evaluation.domain.choices import ForwardedShortOfCity
from ocop_evaluation.domain.common import (
    BAND_FLOORS,
    CERTIFIED_STARS,
    Level,
    Points,
    RuleViolation,
    band,
    check_level,
    check_star,
    points,
)
from ocop_evaluation.domain.rulebooks import (
    DATA,
    LevelRule,
    Rulebook,
    RulebookRef,
    load_rulebooks,
)
from ocop_evaluation.domain.scoring import CouncilResult


class OutcomeKind(StrEnum):
    CERTIFY = "certify"
    FORWARD = "forward"
    NOMINATE = "nominate"  # sent up for a higher star while this level certifies a lower one
    KEEP_LOWER_STAR = "keep_lower_star"  # the top level said no; the lower level's star stands
    NOT_RECOGNISED = "not_recognised"


@dataclass(frozen=True, slots=True)
class Permission:
    allowed: bool
    rulebook: RulebookRef
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happens to a dossier at a level.

    ``star`` is the star certified at this level: the earned star for CERTIFY, the carried star
    (4★) for NOMINATE, None otherwise. ``to_level`` is where a forwarded or nominated dossier goes.
    """

    kind: OutcomeKind
    level: Level
    rulebook: RulebookRef
    score: Decimal
    earned: int
    star: int | None
    to_level: Level | None
    reason: str
    # The level whose certifying power a CERTIFY uses, when not ``level`` itself (the district's
    # 3★, used by the city for a dossier no district could act on, say).
    power: Level | None = None

    @property
    def authority(self) -> Level:
        return self.power or self.level


def _stars(stars: frozenset[int]) -> str:
    return " and ".join(f"{s}★" for s in sorted(stars))


def _role(rule: LevelRule) -> str:
    if rule.forwards_to is not None:
        return f"scores dossiers and forwards them to the {rule.forwards_to} level"
    return "awards no star"


def may_award_under(rulebook: Rulebook, level: Level, star: int) -> Permission:
    """May ``level`` award ``star`` under ``rulebook``? When not, ``reason`` says why."""
    check_star(star)
    ref = rulebook.ref
    under = f"under {rulebook.title} (in force from {rulebook.in_force_from.isoformat()})"
    if star not in CERTIFIED_STARS:
        return Permission(False, ref, f"{star}★ is never certified; only 3★ and above are")
    rule = rulebook.level(check_level(level))
    if rule is None:
        present = ", ".join(lv.value for lv in rulebook.levels)
        return Permission(
            False, ref, f"there is no {level} level {under}; the levels are {present}"
        )
    if star in rule.certifies:
        return Permission(True, ref)
    if not rule.certifies:
        return Permission(False, ref, f"{under} the {level} level {_role(rule)}")
    return Permission(
        False, ref, f"{under} the {level} level certifies only {_stars(rule.certifies)}"
    )


def may_award(level: Level, star: int, day: date, directory: Path = DATA) -> Permission:
    """May ``level`` award ``star`` under the rulebook in force on ``day``?"""
    return may_award_under(load_rulebooks(directory).on(day), level, star)


def outcome_under(rulebook: Rulebook, level: Level, score: Points, ceiling: int = 5) -> Outcome:
    """What happens to ``score`` at ``level`` under ``rulebook``.

    ``ceiling`` is the highest star whose mandatory criteria are met (``CouncilResult.ceiling``);
    leave it at 5 to judge the score alone.
    """
    exact = points(score, "score")
    banded = band(exact)
    check_star(ceiling, "ceiling", (2, *CERTIFIED_STARS))
    rule = rulebook.level(check_level(level))
    ref = rulebook.ref
    if rule is None:
        raise RuleViolation(
            "level",
            f"there is no {level} level under {rulebook.title} (in force from "
            f"{rulebook.in_force_from.isoformat()})",
        )
    earned = min(banded, ceiling)
    floors = dict(BAND_FLOORS)

    def outcome(kind: OutcomeKind, star: int | None, to: Level | None, reason: str) -> Outcome:
        return Outcome(kind, rule.level, ref, exact, earned, star, to, reason)

    if rule.nominates_from_star is not None and earned >= rule.nominates_from_star:
        carried = rule.carried_star
        return outcome(
            OutcomeKind.NOMINATE,
            carried,
            rule.nominates_to,
            f"{exact} points (at least {floors[rule.nominates_from_star]}) with the mandatory "
            f"criteria met: nominated to the {rule.nominates_to} level for "
            f"{rule.nominates_from_star}★, certified {carried}★ here meanwhile",
        )
    if rule.forwards_from_star is not None and earned >= rule.forwards_from_star:
        return outcome(
            OutcomeKind.FORWARD,
            None,
            rule.forwards_to,
            f"{exact} points (at least {floors[rule.forwards_from_star]}): forwarded to the "
            f"{rule.forwards_to} level",
        )
    if earned in rule.certifies:
        return outcome(OutcomeKind.CERTIFY, earned, None, f"{exact} points: {earned}★")
    why = _short_of(exact, banded, ceiling, min(rule.certifies, default=min(CERTIFIED_STARS)))
    if rule.failure_keeps_lower_star:
        return outcome(
            OutcomeKind.KEEP_LOWER_STAR,
            None,
            None,
            f"{why}; not awarded {_stars(rule.certifies)} at the {level} level, so the star "
            "certified at the level below stands",
        )
    if earned in CERTIFIED_STARS:
        why = (
            f"{exact} points earn {earned}★, which the {level} level does not certify under "
            f"{rulebook.title} (it certifies {_stars(rule.certifies) or 'no star'})"
        )
    return outcome(OutcomeKind.NOT_RECOGNISED, None, None, why)


def _short_of(score: Decimal, banded: int, ceiling: int, target: int) -> str:
    """Why a score did not reach ``target``: too few points, or a mandatory criterion."""
    if banded < target:
        floor = dict(BAND_FLOORS)[target]
        return f"{score} points are below {floor}, the floor of {target}★"
    return f"{score} points reach {banded}★ but a mandatory criterion for {ceiling + 1}★ is not met"


def outcome_at(
    level: Level, day: date, score: Points, ceiling: int = 5, directory: Path = DATA
) -> Outcome:
    """What happens to ``score`` at ``level`` under the rulebook in force on ``day``."""
    return outcome_under(load_rulebooks(directory).on(day), level, score, ceiling)


def outcome_of(result: CouncilResult, level: Level, directory: Path = DATA) -> Outcome:
    """What happens to a council's result at ``level``, under the rulebook it was scored on."""
    rulebook = load_rulebooks(directory).get(result.rulebook.id, result.rulebook.version)
    return outcome_under(rulebook, level, result.score, result.ceiling)


def outcome_for(
    result: CouncilResult,
    level: Level,
    *,
    came_from_below: bool,
    short_of_city: ForwardedShortOfCity = ForwardedShortOfCity.DISTRICT_STAR,
    directory: Path = DATA,
) -> Outcome:
    """What happens to a council's result at ``level``, knowing how the dossier got there.

    ``came_from_below``: the level that forwards to this one scored the dossier and sent it up.
    When that level certifies stars of its own (the 148 district's 3★):

    - a dossier that did not pass it (the district tier ended first) is judged here with that
      level's stars added to this level's;
    - a forwarded dossier this level finds worth only that level's star gets what
      ``short_of_city`` says (see ``choices``).
    """
    rulebook = load_rulebooks(directory).get(result.rulebook.id, result.rulebook.version)
    rule = rulebook.level(check_level(level))
    below = next((r for r in rulebook.levels.values() if r.forwards_to == level), None)
    if rule is None or below is None or not below.certifies:
        return outcome_under(rulebook, level, result.score, result.ceiling)
    if not came_from_below:
        merged = replace(rule, certifies=rule.certifies | below.certifies)
        book = replace(rulebook, levels={**rulebook.levels, level: merged})
        found = outcome_under(book, level, result.score, result.ceiling)
        if found.kind is OutcomeKind.CERTIFY and found.star in below.certifies - rule.certifies:
            return replace(
                found,
                power=below.level,
                reason=f"{found.reason}; the {below.level} level had ended before it acted, so "
                f"the {level} level certifies its {_stars(below.certifies)}",
            )
        return found
    found = outcome_under(rulebook, level, result.score, result.ceiling)
    keeps = short_of_city is not ForwardedShortOfCity.NOT_RECOGNISED
    if found.kind is OutcomeKind.NOT_RECOGNISED and found.earned in below.certifies and keeps:
        at = below.level if short_of_city is ForwardedShortOfCity.DISTRICT_STAR else level
        return replace(
            found,
            kind=OutcomeKind.CERTIFY,
            star=found.earned,
            level=at,
            power=below.level,
            reason=f"{found.reason}; forwarded by the {below.level} level, the product keeps "
            f"the {found.earned}★ that level certifies ({short_of_city.value}, a setting)",
        )
    return found
