from pydantic import Field, SecretStr

from ocop_runtime.settings import ServiceSettings


class TradeSettings(ServiceSettings):
    """``OCOP_*`` settings of the trade service."""

    service: str = "trade"
    http_port: int = Field(default=8003, ge=1, le=65535)
    database_url: SecretStr = SecretStr(
        "postgresql://ocop_trade:ocop-dev-trade@127.0.0.1:5432/ocop"
    )
