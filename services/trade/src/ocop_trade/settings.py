"""Settings of the trade service."""

from __future__ import annotations

from pydantic import Field

from ocop_runtime.settings import ServiceSettings
from ocop_trade.service import SPEC


class TradeSettings(ServiceSettings):
    """``OCOP_*`` settings of the trade service."""

    service: str = SPEC.name
    http_port: int = Field(default=SPEC.http_port, ge=1, le=65535)
    db_schema: str = Field(default=SPEC.schema, description="Schema owned by the service.")
