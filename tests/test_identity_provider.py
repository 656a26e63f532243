"""The identity provider's configuration is fit for production: the Keycloak realm fixes no
client secret and no wildcard redirect, people's clients use PKCE, the attributes that scope a
person (``ocop_units``, ``ocop_producer_id``) are editable by administrators only; and a service
in production refuses a plain-http JWKS, and refuses to start without an explicit OCOP_ENV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ocop_registry.settings import RegistrySettings

REALM = Path(__file__).resolve().parents[1] / "deploy" / "keycloak" / "ocop-realm.json"


def _realm() -> dict[str, Any]:
    realm: dict[str, Any] = json.loads(REALM.read_text(encoding="utf-8"))
    return realm


def test_no_client_has_a_fixed_secret_or_a_wildcard_redirect() -> None:
    for client in _realm()["clients"]:
        secret = client.get("secret")
        assert secret is None or (secret.startswith("${") and secret.endswith("}")), client
        for uri in client.get("redirectUris", []) + client.get("webOrigins", []):
            assert "*" not in uri and uri not in ("+", ""), (client["clientId"], uri)
        if client.get("publicClient"):
            assert client["attributes"]["pkce.code.challenge.method"] == "S256"
            assert not client.get("directAccessGrantsEnabled")
            assert not client.get("implicitFlowEnabled")


def test_the_scoping_attributes_are_editable_by_administrators_only() -> None:
    [provider] = _realm()["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    attributes = {a["name"]: a for a in profile["attributes"]}
    for name in ("ocop_units", "ocop_producer_id"):
        assert attributes[name]["permissions"]["edit"] == ["admin"], name
    # Attributes the profile does not declare cannot be set by anyone (Keycloak's default).
    assert profile.get("unmanagedAttributePolicy") in (None, "ADMIN_VIEW")


def test_production_refuses_a_plain_http_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("OCOP_"):
            monkeypatch.delenv(key)
    production: dict[str, Any] = {
        "env": "production",
        "database_url": "postgresql://ocop_registry:s3cret@db/ocop",
        "migration_database_url": "postgresql://ocop_registry_owner:s3cret@db/ocop",
        "kafka_sasl_password": "s3cret",
        "oidc_issuer": "https://id.hanoi.gov.vn/realms/ocop",
    }
    jwks = "http://id.hanoi.gov.vn/realms/ocop/protocol/openid-connect/certs"
    with pytest.raises(ValueError, match="plain http"):
        RegistrySettings(**production, oidc_jwks_url=jwks)
    RegistrySettings(**production, oidc_jwks_url=jwks.replace("http:", "https:"))
    RegistrySettings(**production, oidc_jwks_url=jwks, oidc_jwks_allow_http=True)
    RegistrySettings(env="dev", oidc_jwks_url=jwks)


def test_a_service_started_without_ocop_env_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    started = subprocess.run(
        [sys.executable, "-m", "ocop_registry"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "OCOP_ENV is not set" in started.stderr
