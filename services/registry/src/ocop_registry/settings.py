"""Settings of the registry service."""

from __future__ import annotations

from pydantic import Field, SecretStr

from ocop_runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """``OCOP_*`` settings of the registry service."""

    service: str = "registry"
    http_port: int = Field(default=8001, ge=1, le=65535)
    database_url: SecretStr = SecretStr(
        "postgresql://ocop_registry:ocop-dev-registry@127.0.0.1:5432/ocop"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Base of the public lookup URLs printed as QR codes on labels.",
    )
