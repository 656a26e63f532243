"""Service settings are validated at start-up."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ocop_runtime.settings import ServiceSettings


def test_schema_and_consumer_group_default_to_the_service_name() -> None:
    settings = ServiceSettings(service="trade")
    assert settings.db_schema == "trade"
    assert settings.consumer_group == "ocop.trade"


PRODUCTION_ISSUER: dict[str, Any] = {
    "oidc_issuer": "https://id.hanoi.gov.vn/realms/ocop",
    "oidc_jwks_url": "https://id.hanoi.gov.vn/realms/ocop/protocol/openid-connect/certs",
    "kafka_sasl_password": "kafka-secret-from-vault",
}


def test_production_refuses_a_development_database_password() -> None:
    with pytest.raises(ValidationError, match="development password"):
        ServiceSettings(
            service="trade",
            env="production",
            database_url="postgresql://ocop_trade:ocop-dev-trade@db:5432/ocop",
            **PRODUCTION_ISSUER,
        )
    ServiceSettings(
        service="trade",
        env="production",
        database_url="postgresql://ocop_trade:s3cret-from-vault@db:5432/ocop",
        **PRODUCTION_ISSUER,
    )


@pytest.mark.parametrize(
    "issuer",
    [
        {},
        {"oidc_issuer": PRODUCTION_ISSUER["oidc_issuer"]},
        {"oidc_jwks_url": PRODUCTION_ISSUER["oidc_jwks_url"]},
    ],
)
def test_production_refuses_the_development_token_issuer(issuer: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="development token issuer"):
        ServiceSettings(
            service="trade",
            env="production",
            database_url="postgresql://ocop_trade:s3cret-from-vault@db:5432/ocop",
            kafka_sasl_password="kafka-secret-from-vault",
            **issuer,
        )


def test_production_refuses_the_development_kafka_password() -> None:
    values: dict[str, Any] = {
        **PRODUCTION_ISSUER,
        "database_url": "postgresql://t:s3cret@db:5432/ocop",
    }
    with pytest.raises(ValidationError, match="OCOP_KAFKA_SASL_PASSWORD"):
        ServiceSettings(service="trade", env="production", **{**values, "kafka_sasl_password": ""})
    plain = ServiceSettings(
        service="trade",
        env="production",
        kafka_security_protocol="PLAINTEXT",
        **{**values, "kafka_sasl_password": ""},
    )
    assert plain.kafka_auth().options() == {"security_protocol": "PLAINTEXT"}


def test_schema_name_must_be_a_plain_identifier() -> None:
    with pytest.raises(ValidationError, match="plain lower-case identifier"):
        ServiceSettings(service="trade", db_schema="trade; DROP SCHEMA x")


def test_settings_are_read_from_ocop_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("OCOP_HTTP_PORT", "8003")
    settings = ServiceSettings(service="trade")
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.http_port == 8003
    monkeypatch.setenv("OCOP_HTTP_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="http_port"):
        ServiceSettings(service="trade")
