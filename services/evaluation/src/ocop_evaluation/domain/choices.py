"""Modelling choices the sources leave open, made visible as settings, and the change of
regime in July 2025.

Each choice below is a setting of the service (``OCOP_*``, see ``settings.py`` and the
service's README), not a silent rule:

- ``unit_conflict_levels``: the councils at which a member from the producer's own commune or
  district is flagged. A district council is made of district officials by design, so by
  default only city councils apply the rule; a tie a member declared to the producer is flagged
  at every level.
- ``forwarded_short_of_city``: under 148 a district certifies 3★ and forwards 70 points and
  more to the city, which certifies 4★. When the city scores such a dossier 50–69 the sources
  say nothing; by default the product keeps the 3★ its district could have decided
  (``district_star``: a 3★ certificate at the district level), or the city certifies 3★
  itself (``city_star``), or it is not recognised (``not_recognised``, the earlier model).
- ``commune_step``: under 1489 the commune pre-assesses. ``required``: a dossier waits at the
  commune level until the commune's request to the city arrives; ``with_dossier``: the
  pre-assessment travels inside the dossier (the commune report among its documents) and the
  dossier enters the city round at submission.

The regime change: Hanoi's districts ceased to exist on 1 July 2025 (the two-tier local
government), five days before 1489/QĐ-TTg took effect on 6 July 2025. From 1 July no dossier is
sent to a district and no district round opens; 148 dossiers still waiting for a district round
move to the city, which then holds the district's certifying powers for them as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ocop_evaluation.domain.common import Level

# Hanoi's districts were abolished with the two-tier local government from this day.
DISTRICTS_END = date(2025, 7, 1)

# Where a dossier filed under each regime is first evaluated while districts exist.
_FIRST_LEVEL = {"1048": Level.DISTRICT, "148": Level.DISTRICT, "1489": Level.CITY}


class ForwardedShortOfCity(StrEnum):
    DISTRICT_STAR = "district_star"
    CITY_STAR = "city_star"
    NOT_RECOGNISED = "not_recognised"


class CommuneStep(StrEnum):
    WITH_DOSSIER = "with_dossier"
    REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class RuleChoices:
    """The settings above, as the rules read them."""

    unit_conflict_levels: frozenset[Level] = frozenset({Level.CITY})
    forwarded_short_of_city: ForwardedShortOfCity = ForwardedShortOfCity.DISTRICT_STAR
    commune_step: CommuneStep = CommuneStep.WITH_DOSSIER

    def unit_conflicts_at(self, level: Level) -> bool:
        return level in self.unit_conflict_levels


def districts_exist(day: date) -> bool:
    return day < DISTRICTS_END


def entry_level(regime: str, day: date, choices: RuleChoices | None = None) -> Level | None:
    """The level at which a dossier filed under ``regime`` is first evaluated when it arrives
    on ``day``; None for an unknown regime. A district dossier arriving once districts are
    gone goes to the city; under 1489 it waits for the commune when the commune step is
    required."""
    level = _FIRST_LEVEL.get(regime)
    if level is Level.DISTRICT and not districts_exist(day):
        return Level.CITY
    if level is Level.CITY and regime == "1489":
        step = (choices or RuleChoices()).commune_step
        return Level.COMMUNE if step is CommuneStep.REQUIRED else Level.CITY
    return level


def rerouted_note(day: date) -> dict[str, str]:
    """What a district entry keeps when the end of the district tier moves it to the city."""
    return {
        "rerouted_to": Level.CITY.value,
        "rerouted_on": day.isoformat(),
        "reason": f"the district tier ended on {DISTRICTS_END.isoformat()} before a district "
        "round took the dossier; the city level evaluates it with the district's powers",
    }
