"""Connection settings of the agency's system, from the environment.

``ocop agency add NAME`` prints what the city's operator gives the agency: the bootstrap servers,
the SASL/SCRAM user and password, the consumer group prefix and its replies topics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from aiokafka.helpers import create_ssl_context


@dataclass(frozen=True)
class Settings:
    bootstrap_servers: str
    username: str
    password: str = field(repr=False)
    agency: str  # NAME in `ocop agency add NAME`; groups are agency.NAME.*
    security_protocol: str = "SASL_SSL"
    cafile: str | None = None  # the city's CA, for SASL_SSL
    topic_prefix: str = ""  # empty on the city's brokers
    database: str = "agency.sqlite3"

    @classmethod
    def from_environment(cls) -> Settings:
        env = os.environ
        return cls(
            bootstrap_servers=env["OCOP_KAFKA_BOOTSTRAP_SERVERS"],
            username=env["OCOP_KAFKA_USERNAME"],
            password=env["OCOP_KAFKA_PASSWORD"],
            agency=env["OCOP_AGENCY"],
            security_protocol=env.get("OCOP_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            cafile=env.get("OCOP_KAFKA_SSL_CAFILE") or None,
            topic_prefix=env.get("OCOP_TOPIC_PREFIX", ""),
            database=env.get("AGENCY_DATABASE", "agency.sqlite3"),
        )

    def kafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's consumer and producer."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.security_protocol == "SASL_SSL":
            options["ssl_context"] = create_ssl_context(cafile=self.cafile)
        return options

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
