"""Settings of the insights service."""

from __future__ import annotations

from pydantic import Field

from ocop_insights.service import SPEC
from ocop_runtime.settings import ServiceSettings


class InsightsSettings(ServiceSettings):
    """``OCOP_*`` settings of the insights service."""

    service: str = SPEC.name
    http_port: int = Field(default=SPEC.http_port, ge=1, le=65535)
    db_schema: str = Field(default=SPEC.schema, description="Schema owned by the service.")
    batch_max_records: int = Field(
        default=2000, ge=1, le=100_000, description="The most records applied in one batch."
    )
    batch_timeout_ms: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="How long a fetch waits when nothing is there (it returns as soon as"
        " something is): how often an idle consumer wakes up.",
    )
    publish_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="Statistics are published at most this often per key (changes coalesce).",
    )
