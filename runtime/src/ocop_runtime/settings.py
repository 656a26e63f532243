"""Settings shared by every service, read from ``OCOP_*`` environment variables.

Each service subclasses :class:`ServiceSettings` to fix its name and port (from its
:class:`ocop_runtime.services.ServiceEntry`). Nothing is read at import: ``create_app(settings)``
receives an instance, and tests build their own.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocop_runtime.devidp import DEV_AUDIENCE, DEV_ISSUER, idp_dir, jwks_url
from ocop_runtime.kafka import KafkaAuth

DEV_PASSWORD_PREFIX = "ocop-dev-"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def dev_database_url(service: str, host: str = "127.0.0.1", port: int = 5432) -> str:
    """The DSN of ``service``'s login role on the local stack (deploy/postgres.sh makes it)."""
    return f"postgresql://ocop_{service}:{DEV_PASSWORD_PREFIX}{service}@{host}:{port}/ocop"


def dev_owner_url(service: str, host: str = "127.0.0.1", port: int = 5432) -> str:
    """The DSN of the role owning ``service``'s schema on the local stack (deploy/postgres.sh
    makes it): migrations run as it, the service runs as :func:`dev_database_url`."""
    return (
        f"postgresql://ocop_{service}_owner:{DEV_PASSWORD_PREFIX}{service}-owner@{host}:{port}/ocop"
    )


class ServiceSettings(BaseSettings):
    """Configuration of one ocop service process."""

    model_config = SettingsConfigDict(env_prefix="OCOP_", extra="ignore", frozen=True)

    service: str = Field(description="Service name, as in its catalogue entry (ServiceEntry).")
    env: Literal["dev", "test", "production"] = "dev"

    database_url: SecretStr = Field(
        default=SecretStr(""),
        description="PostgreSQL DSN of the service's own login role; default: the local "
        "stack's, ocop_<service> with its development password.",
    )
    db_schema: str = Field(
        default="", description="Schema owned by the service; default: its name."
    )
    db_pool_min: int = Field(default=1, ge=1)
    db_pool_max: int = Field(default=10, ge=1)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = (
        "SASL_PLAINTEXT"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = Field(default="", description="Default: the service's name.")
    kafka_sasl_password: SecretStr = Field(
        default=SecretStr(""),
        description="Default: the development password ocop-dev-kafka-<service>.",
    )
    kafka_ssl_cafile: str | None = Field(
        default=None, description="CA of the brokers' TLS certificates."
    )
    consumer_group: str = Field(default="", description="Consumer group; default: ocop.<service>.")
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_prefix: str = Field(
        default="",
        pattern=r"^([a-z0-9][a-z0-9_-]*\.)*$",
        description="Put before every topic name this service creates, reads and writes (the "
        "catalogue's, commands, replies, dead letters), e.g. `staging.` to share a cluster; the "
        "test suite gives each test its own. Empty in production.",
    )

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)

    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP collector URL, if any.")

    handler_max_attempts: int = Field(default=5, ge=1, description="Tries before a dead letter.")
    handler_backoff_seconds: float = Field(default=0.2, ge=0)
    handler_backoff_max_seconds: float = Field(default=5.0, ge=0)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    relay_retry_seconds: float = Field(default=1.0, gt=0)
    relay_send_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How long a relay pass waits for the broker to take and acknowledge its "
        "batch before it starts over with a new producer (above the producer's 10 s request "
        "timeout, so a topic that does not exist can be told from a broker that is away).",
    )
    relay_unhealthy_after_seconds: float = Field(
        default=30.0, gt=0, description="/readyz answers 503 once the relay has failed this long."
    )
    relay_test_pause_after_send_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Tests only: a pause between the broker's acknowledgement and the stamping.",
    )
    consumer_test_pause_after_commit_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Tests only: a pause between a record's database commit and its offset "
        "commit, to kill a consumer inside that window.",
    )
    outbox_retention_hours: float = Field(
        default=168.0,
        ge=0,
        description="Published outbox rows older than this are deleted; 0 keeps them.",
    )
    inbox_retention_hours: float = Field(
        default=720.0,
        ge=0,
        description="Inbox rows older than this are deleted (keep it above the retention of every "
        "topic a consumer may re-read, or a replay applies old events again); 0 keeps them.",
    )
    housekeeping_interval_seconds: float = Field(default=600.0, gt=0)

    oidc_issuer: str = Field(default=DEV_ISSUER, description="Expected ``iss`` of access tokens.")
    oidc_audience: str = Field(default=DEV_AUDIENCE, description="Expected ``aud``.")
    oidc_jwks_url: str = Field(
        default="", description="The issuer's JWKS; default: the development key under .ocop/idp."
    )
    oidc_jwks_allow_http: bool = Field(
        default=False,
        description="Accept a plain http:// JWKS URL in production: only where the identity "
        "provider sits on the same private network as the service (the one-host "
        "docker-compose stack); anywhere else, use https://.",
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Requests a minute per address without a token."
    )
    rate_limit_burst: int = Field(default=120, ge=1)
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Larger request bodies get 413, before they are read whole (upload routes: "
        "max_upload_bytes).",
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Bodies of a service's upload routes (the registry's import) from a caller "
        "whose token verified; larger get 413.",
    )
    rate_limit_subject_per_minute: int = Field(
        default=3000, ge=1, description="Requests a minute per token subject (verified tokens)."
    )
    rate_limit_subject_burst: int = Field(default=600, ge=1)
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (the rate limits and the audit trail use the client "
        "address they give); empty: none, the connection's peer is the client.",
    )
    migration_database_url: SecretStr = Field(
        default=SecretStr(""),
        description="PostgreSQL DSN of the schema's owner role (ocop_<service>_owner), used only "
        "to apply migrations; the service's own role gets the privileges it needs from it. "
        "Default: the local stack's owner role when OCOP_DATABASE_URL is not set either, else "
        "OCOP_DATABASE_URL (the service's role then owns its schema, as before owner roles).",
    )

    @field_validator("db_schema", "consumer_group", mode="before")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> ServiceSettings:
        if not self.database_url.get_secret_value():
            object.__setattr__(self, "database_url", SecretStr(dev_database_url(self.service)))
            if not self.migration_database_url.get_secret_value():
                object.__setattr__(
                    self, "migration_database_url", SecretStr(dev_owner_url(self.service))
                )
        if not self.migration_database_url.get_secret_value():
            object.__setattr__(self, "migration_database_url", self.database_url)
        if not self.db_schema:
            object.__setattr__(self, "db_schema", self.service)
        if not _IDENT.match(self.db_schema):
            raise ValueError(f"db_schema {self.db_schema!r} is not a plain lower-case identifier")
        if not self.consumer_group:
            object.__setattr__(self, "consumer_group", f"ocop.{self.service}")
        if not self.kafka_sasl_username:
            object.__setattr__(self, "kafka_sasl_username", self.service)
        if not self.kafka_sasl_password.get_secret_value():
            object.__setattr__(
                self, "kafka_sasl_password", SecretStr(f"{DEV_PASSWORD_PREFIX}kafka-{self.service}")
            )
        if (
            self.env == "production"
            and self.kafka_security_protocol.startswith("SASL")
            and self.kafka_sasl_password.get_secret_value().startswith(DEV_PASSWORD_PREFIX)
        ):
            raise ValueError(
                "OCOP_KAFKA_SASL_PASSWORD is a development password; set a real secret in production"
            )
        if not self.oidc_jwks_url:
            object.__setattr__(self, "oidc_jwks_url", jwks_url(idp_dir()))
        if self.env == "production" and (
            self.oidc_issuer == DEV_ISSUER or self.oidc_jwks_url.startswith("file:")
        ):
            raise ValueError(
                "the development token issuer is configured; set OCOP_OIDC_ISSUER and "
                "OCOP_OIDC_JWKS_URL to the city's identity provider in production"
            )
        if (
            self.env == "production"
            and self.oidc_jwks_url.startswith("http://")
            and not self.oidc_jwks_allow_http
        ):
            raise ValueError(
                "OCOP_OIDC_JWKS_URL is plain http://: anyone on the path could hand the service "
                "their own keys; use the identity provider's https:// URL in production"
            )
        if self.env == "production" and DEV_PASSWORD_PREFIX in (
            self.migration_database_url.get_secret_value()
        ):
            raise ValueError(
                "OCOP_MIGRATION_DATABASE_URL uses a development password; set a real secret in "
                "production"
            )
        if self.db_pool_max < self.db_pool_min:
            raise ValueError("db_pool_max must be >= db_pool_min")
        if self.env == "production" and DEV_PASSWORD_PREFIX in self.database_url.get_secret_value():
            raise ValueError(
                "OCOP_DATABASE_URL uses a development password; set a real secret in production"
            )
        return self

    @model_validator(mode="after")
    def _no_test_pause_in_production(self) -> ServiceSettings:
        if self.env == "production" and self.relay_test_pause_after_send_seconds:
            raise ValueError("OCOP_RELAY_TEST_PAUSE_AFTER_SEND_SECONDS is for tests only")
        if self.env == "production" and self.consumer_test_pause_after_commit_seconds:
            raise ValueError("OCOP_CONSUMER_TEST_PAUSE_AFTER_COMMIT_SECONDS is for tests only")
        return self

    def kafka_auth(self) -> KafkaAuth:
        return KafkaAuth(
            security_protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password.get_secret_value(),
            cafile=self.kafka_ssl_cafile,
        )

    @property
    def dsn(self) -> str:
        return self.database_url.get_secret_value()

    @property
    def migration_dsn(self) -> str:
        return self.migration_database_url.get_secret_value()
