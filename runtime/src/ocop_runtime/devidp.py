"""The development identity provider: a signing key under ``.ocop/idp/`` and its JWKS.

``make up`` creates the key once; services read ``jwks.json`` through a ``file://`` URL (the
default ``OCOP_OIDC_JWKS_URL``) and ``ocop token`` signs tokens with the private key. A
production issuer (Keycloak in docker-compose.yml, or the city's own) replaces all of this by
setting ``OCOP_OIDC_ISSUER``, ``OCOP_OIDC_JWKS_URL`` and ``OCOP_OIDC_AUDIENCE``; a service in
production refuses to start with the development issuer.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEV_ISSUER = "https://idp.ocop.invalid/dev"
DEV_AUDIENCE = "ocop"
PRIVATE_KEY = "signing-key.pem"
JWKS = "jwks.json"


def idp_dir(state_dir: Path | None = None) -> Path:
    base = state_dir or Path(os.environ.get("OCOP_STATE_DIR", ".ocop"))
    return base.resolve() / "idp"


def jwks_url(directory: Path) -> str:
    return (directory / JWKS).resolve().as_uri()


def ensure_key(directory: Path) -> Path:
    """Create the signing key and its JWKS if missing; return the JWKS path."""
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / PRIVATE_KEY
    if not private.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        private.touch(mode=0o600)
        private.write_bytes(pem)
    key = _private_key(directory)
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=_kid(directory), use="sig", alg="ES256")
    path = directory / JWKS
    path.write_text(json.dumps({"keys": [jwk]}, indent=2))
    return path


def _private_key(directory: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((directory / PRIVATE_KEY).read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _kid(directory: Path) -> str:
    public = _private_key(directory).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def issue_token(
    directory: Path,
    *,
    roles: Iterable[str],
    units: Iterable[str] = (),
    producer_id: UUID | None = None,
    subject: str | None = None,
    name: str | None = None,
    agency: str | None = None,
    ttl_seconds: int = 3600,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
) -> str:
    """A signed access token with the claims services read."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or f"dev-{uuid4().hex[:8]}",
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "roles": sorted(set(roles)),
        "ocop_units": sorted(set(units)),
    }
    if producer_id is not None:
        claims["ocop_producer_id"] = str(producer_id)
    if name:
        claims["name"] = name
    if agency:
        claims["ocop_agency"] = agency
    return jwt.encode(
        claims, _private_key(directory), algorithm="ES256", headers={"kid": _kid(directory)}
    )


def main() -> None:
    """``python -m ocop_runtime.devidp``: make sure the development key exists."""
    print(ensure_key(idp_dir()))


if __name__ == "__main__":
    main()
