"""Settings of the inspection service."""

from __future__ import annotations

from pydantic import Field

from ocop_inspection.service import SPEC
from ocop_runtime.settings import ServiceSettings


class InspectionSettings(ServiceSettings):
    """``OCOP_*`` settings of the inspection service."""

    service: str = SPEC.name
    http_port: int = Field(default=SPEC.http_port, ge=1, le=65535)
    db_schema: str = Field(default=SPEC.schema, description="Schema owned by the service.")
    scheduler_seconds: float = Field(
        default=300.0, gt=0, description="How often the overdue-remediation scheduler sweeps."
    )
