"""Settings of the registry service."""

from __future__ import annotations

from pydantic import Field

from ocop_registry.service import SPEC
from ocop_runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """``OCOP_*`` settings of the registry service."""

    service: str = SPEC.name
    http_port: int = Field(default=SPEC.http_port, ge=1, le=65535)
    db_schema: str = Field(default=SPEC.schema, description="Schema owned by the service.")
    public_base_url: str = Field(
        default=f"http://127.0.0.1:{SPEC.http_port}",
        description="Base of the public lookup URLs printed as QR codes on labels.",
    )
