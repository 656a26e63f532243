"""Settings of the evaluation service."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ocop_evaluation.domain.choices import CommuneStep, ForwardedShortOfCity, RuleChoices
from ocop_evaluation.domain.common import Level
from ocop_evaluation.service import SPEC
from ocop_runtime.settings import ServiceSettings


class EvaluationSettings(ServiceSettings):
    """``OCOP_*`` settings of the evaluation service."""

    service: str = SPEC.name
    http_port: int = Field(default=SPEC.http_port, ge=1, le=65535)
    db_schema: str = Field(default=SPEC.schema, description="Schema owned by the service.")
    scheduler_seconds: float = Field(
        default=60.0, gt=0, description="How often the expiry scheduler sweeps."
    )
    deviation_margin: float = Field(
        default=15.0,
        gt=0,
        le=100,
        description="Flag a member whose total is this many points from the others' median.",
    )
    divergence_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Flag a criterion whose spread across members exceeds this share of its maximum.",
    )
    # Modelling choices the sources leave open (domain/choices.py; the README's "Settings").
    unit_conflict_levels: list[Literal["district", "city", "central"]] = Field(
        default=["city"],
        description="Councils at which a member from the producer's own commune or district is "
        "flagged; a tie a member declared to the producer is flagged at every level.",
    )
    forwarded_short_of_city: Literal["district_star", "city_star", "not_recognised"] = Field(
        default="district_star",
        description="Under 148, a dossier a district forwarded that the city scores 50-69: keeps "
        "a district 3★, gets a city 3★, or is not recognised.",
    )
    commune_step: Literal["with_dossier", "required"] = Field(
        default="with_dossier",
        description="Under 1489: the commune's pre-assessment travels in the dossier, or the "
        "dossier waits at the commune level until the commune's request to the city arrives.",
    )

    def rule_choices(self) -> RuleChoices:
        return RuleChoices(
            unit_conflict_levels=frozenset(Level(v) for v in self.unit_conflict_levels),
            forwarded_short_of_city=ForwardedShortOfCity(self.forwarded_short_of_city),
            commune_step=CommuneStep(self.commune_step),
        )
