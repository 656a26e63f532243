"""Formats the project modelled without a source (``data/formats.toml``): the certificate
number, and the registry's public code, described here so that the rulebook document lists
both as modelled. Read on first use, never at import."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FORMATS = Path(__file__).resolve().parents[3] / "data" / "formats.toml"


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    owner: str  # the service that applies it
    pattern: str
    example: str
    modelled: bool
    note: str


@cache
def formats(path: Path = FORMATS) -> tuple[Format, ...]:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    found = []
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("modelled"), bool):
            raise ValueError(f"{path.name}: {name} needs owner, pattern, example, modelled, note")
        found.append(
            Format(
                name,
                str(spec["owner"]),
                str(spec["pattern"]),
                str(spec["example"]),
                spec["modelled"],
                str(spec["note"]),
            )
        )
    return tuple(found)


def certificate_number(sequence: int, year: int) -> str:
    """A certificate's number by the (modelled) format in ``data/formats.toml``."""
    pattern = next(f.pattern for f in formats() if f.name == "certificate_number")
    return pattern.format(sequence=sequence, year=year)
