"""Rulebooks: the score sheets, mandatory criteria and level rules of each OCOP regime.

A rulebook is versioned data in ``data/rulebooks/`` (one TOML file per rulebook version; see
``SOURCES.md`` there for what comes from the sources and what is modelled). The rulebook in force
on a dossier's submission date scores it, and every result names the rulebook by id and version,
so a later correction of the data never silently rescores an old result.

A new regime is a new file: the loader checks it (parts summing to the regime's split, mandatory
marks pointing at real criteria, level rules pointing at real levels) the first time it is read,
and nothing here needs to change. Files are read on first use and cached, never at import.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from ocop_evaluation.domain.rulebook_files import read_rulebooks
from ocop_evaluation.domain.rulebook_model import (
    CRITERION_ID,
    Criterion,
    Group,
    LevelRule,
    Requirements,
    Rulebook,
    RulebookRef,
    Rulebooks,
    ScoreSheet,
)

DATA = Path(__file__).resolve().parents[3] / "data" / "rulebooks"


@cache
def load_rulebooks(directory: Path = DATA) -> Rulebooks:
    """Every rulebook in ``directory``, checked.

    A malformed file is a packaging bug, not a user error: it fails loudly with ``ValueError``
    naming the file, instead of a ``RuleViolation`` that would be reported back to a user.
    """
    return read_rulebooks(directory)


def rulebooks(directory: Path = DATA) -> tuple[Rulebook, ...]:
    return load_rulebooks(directory).all


def rulebook_on(day: date, directory: Path = DATA) -> Rulebook:
    """The rulebook in force on ``day`` (pass the dossier's submission date)."""
    return load_rulebooks(directory).on(day)


def rulebook(rulebook_id: str, version: int | None = None, directory: Path = DATA) -> Rulebook:
    return load_rulebooks(directory).get(rulebook_id, version)


def score_sheet(product_set: str, day: date, directory: Path = DATA) -> ScoreSheet:
    """The sheet a product of ``product_set`` submitted on ``day`` is scored on."""
    return load_rulebooks(directory).sheet_on(product_set, day)


__all__ = [
    "CRITERION_ID",
    "DATA",
    "Criterion",
    "Group",
    "LevelRule",
    "Requirements",
    "Rulebook",
    "RulebookRef",
    "Rulebooks",
    "ScoreSheet",
    "load_rulebooks",
    "rulebook",
    "rulebook_on",
    "rulebooks",
    "score_sheet",
]
