from pydantic import Field, SecretStr

from ocop_runtime.settings import ServiceSettings


class InspectionSettings(ServiceSettings):
    """``OCOP_*`` settings of the inspection service."""

    service: str = "inspection"
    http_port: int = Field(default=8004, ge=1, le=65535)
    database_url: SecretStr = SecretStr(
        "postgresql://ocop_inspection:ocop-dev-inspection@127.0.0.1:5432/ocop"
    )
