"""Settings of the evaluation service."""

from __future__ import annotations

from pydantic import Field

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
