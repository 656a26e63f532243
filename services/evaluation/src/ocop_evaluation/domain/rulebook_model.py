"""What a rulebook is: criteria, score sheets, level rules and the set of rulebooks in force.

Read from data by :mod:`ocop_evaluation.domain.rulebook_files`; looked up through
:mod:`ocop_evaluation.domain.rulebooks`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias

from ocop_evaluation.domain.common import Level, Part, RuleViolation

CRITERION_ID = re.compile(r"([ABC])([1-9][0-9]*)\.[1-9][0-9]*")


@dataclass(frozen=True, slots=True, order=True)
class RulebookRef:
    """What a result records about the rules it was scored under."""

    id: str
    version: int

    def __str__(self) -> str:
        return f"{self.id} v{self.version}"


@dataclass(frozen=True, slots=True)
class Group:
    """A criteria group of a part, such as A1 "production organisation"."""

    code: str
    name_vi: str
    name_en: str


Requirements: TypeAlias = tuple[tuple[int, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One line of a score sheet.

    ``requirements`` say which stars need the criterion: pairs of (star, minimum points of the
    council's average), lowest star first, each applying to every higher star until the next.
    A minimum of 0 means "any points at all". The shipped rulebooks only say from which star a
    criterion is needed; a minimum lets a sheet that marks the least acceptable answer per star
    (as the 148 forms transcribed in SOURCES.md do with asterisks) be entered as data.

    A ``bonus`` criterion adds to the total but is outside the part maxima, so the sheet still
    sums to 100 without it.
    """

    id: str
    part: Part
    group: str
    name_vi: str
    name_en: str
    max_points: Decimal
    requirements: Requirements = ()
    bonus: bool = False
    # The mark (from which star it is mandatory) was modelled without a source: not law.
    modelled: bool = False

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name_vi} / {self.name_en})"

    @property
    def mandatory_from(self) -> int | None:
        """The lowest star that needs this criterion."""
        return self.requirements[0][0] if self.requirements else None

    def minimum_for(self, star: int) -> Decimal | None:
        """The council average ``star`` needs on this criterion; None when it needs nothing."""
        minimum = None
        for required_from, points in self.requirements:
            if required_from <= star:
                minimum = points
        return minimum

    def is_met_for(self, star: int, average: Decimal) -> bool:
        """Whether a council average meets what ``star`` needs.

        The product "has" a criterion when the average is above zero, i.e. at least one member
        saw evidence for it; a single member's zero must not veto what the others saw.
        """
        minimum = self.minimum_for(star)
        return minimum is None or (average > 0 and average >= minimum)


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    """The criteria a council scores one product set on, under one rulebook."""

    rulebook: RulebookRef
    product_set: str
    sector: str
    sheet: str
    criteria: tuple[Criterion, ...]
    # Scoring looks criteria up for every point of every sheet: by id, not by scanning.
    _by_id: Mapping[str, Criterion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.criteria})

    def criterion(self, criterion_id: str) -> Criterion | None:
        return self._by_id.get(criterion_id)

    def part_max(self, part: Part) -> Decimal:
        return sum(
            (c.max_points for c in self.criteria if c.part is part and not c.bonus), Decimal(0)
        )

    def mandatory_for(self, star: int) -> tuple[Criterion, ...]:
        """Every criterion a product must have to be rated ``star``."""
        return tuple(c for c in self.criteria if c.minimum_for(star) is not None)


@dataclass(frozen=True, slots=True)
class LevelRule:
    """What one level does under a rulebook.

    A dossier whose earned star reaches ``nominates_from_star`` is nominated upwards while this
    level certifies the highest star it may give below that; one reaching ``forwards_from_star``
    is sent up without a star from here; otherwise the level certifies the earned star if it may.
    ``failure_keeps_lower_star`` marks the top level, where falling short leaves the star the
    level below certified.
    """

    level: Level
    certifies: frozenset[int]
    forwards_to: Level | None = None
    forwards_from_star: int | None = None
    nominates_to: Level | None = None
    nominates_from_star: int | None = None
    failure_keeps_lower_star: bool = False

    @property
    def carried_star(self) -> int | None:
        """The star certified here alongside a nomination (the provincial 4★)."""
        if self.nominates_from_star is None:
            return None
        below = [s for s in self.certifies if s < self.nominates_from_star]
        return max(below) if below else None


@dataclass(frozen=True, slots=True)
class Rulebook:
    id: str
    version: int
    title: str
    in_force_from: date
    classification: str
    split: Mapping[Part, int]
    groups: Mapping[str, Group]
    sectors: Mapping[str, tuple[str, ...]]
    levels: Mapping[Level, LevelRule]
    sheets: Mapping[str, ScoreSheet]
    criteria_from: RulebookRef | None = None

    @property
    def ref(self) -> RulebookRef:
        return RulebookRef(self.id, self.version)

    @property
    def product_sets(self) -> tuple[str, ...]:
        return tuple(self.sheets)

    def sheet(self, product_set: str) -> ScoreSheet:
        found = self.sheets.get(product_set)
        if found is None:
            examples = ", ".join(list(self.sheets)[:4])
            raise RuleViolation(
                "product_set",
                f"{_shown(product_set)} is not a product set under rulebook {self.title} "
                f"({self.ref}); it has {len(self.sheets)} sets, such as {examples}",
            )
        return found

    def level(self, level: Level) -> LevelRule | None:
        return self.levels.get(level)


@dataclass(frozen=True, slots=True)
class Rulebooks:
    """Every rulebook found in one directory, oldest first."""

    directory: Path
    all: tuple[Rulebook, ...]

    def on(self, day: date) -> Rulebook:
        """The rulebook in force on ``day``: the latest one in force from that day or before
        (of a rulebook and its corrections from the same day, the highest version)."""
        in_force = [r for r in self.all if r.in_force_from <= day]
        if not in_force:
            first = self.all[0]
            raise RuleViolation(
                "submitted_on",
                f"{day.isoformat()} is before {first.in_force_from.isoformat()}, when the first "
                f"OCOP rulebook ({first.title}) came into force; no OCOP rules apply to that date",
            )
        return in_force[-1]

    def get(self, rulebook_id: str, version: int | None = None) -> Rulebook:
        """A rulebook by id and version; without a version, the highest version of that id."""
        same_id = [r for r in self.all if r.id == rulebook_id]
        if version is not None:
            same_id = [r for r in same_id if r.version == version]
        if not same_id:
            known = ", ".join(str(r.ref) for r in self.all)
            wanted = rulebook_id if version is None else f"{rulebook_id} v{version}"
            raise RuleViolation(
                "rulebook", f"no rulebook {_shown(wanted)} is known; known rulebooks: {known}"
            )
        return max(same_id, key=lambda r: r.version)

    def sheet_on(self, product_set: str, day: date) -> ScoreSheet:
        """The score sheet of ``product_set`` under the rulebook in force on ``day``."""
        rulebook = self.on(day)
        try:
            return rulebook.sheet(product_set)
        except RuleViolation as refused:
            other = next(
                (
                    r
                    for r in reversed(self.all)
                    if r.classification != rulebook.classification and product_set in r.sheets
                ),
                None,
            )
            if other is None:
                raise
            raise RuleViolation(
                "product_set",
                f"{refused.reason} ({_shown(product_set)} belongs to the classification of "
                f"{other.title}, in force from {other.in_force_from.isoformat()})",
            ) from None


def _shown(value: object) -> str:
    # The value comes from a request; keep an oversized one from bloating the reply.
    text = str(value)
    return repr(text if len(text) <= 60 else text[:60] + "…")
