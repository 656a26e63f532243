"""Who is calling: OpenID Connect bearer tokens, roles, and the units a person works for.

Every service checks access tokens (JWT, RS256 or ES256) against the issuer's JWKS: signature,
issuer, audience, expiry and not-before. Keys are cached and fetched again when a token names
a key id the cache does not know (the issuer rotated its keys). Claims read:

- ``sub``: the person or client;
- ``roles`` (or Keycloak's ``realm_access.roles``): any of :class:`Role`;
- ``ocop_units``: commune/ward (or pre-2025 district) codes a commune officer works for;
- ``ocop_producer_id``: the producer a producer's account belongs to.

Locally ``make up`` keeps a development signing key under ``.ocop/idp/`` (see
:mod:`ocop_runtime.devidp`) and ``ocop token`` prints tokens signed with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import jwt
from fastapi import Depends, HTTPException, Request, status
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse, Response

log = logging.getLogger("ocop.auth")
ALGORITHMS = ["RS256", "ES256"]


class Role(StrEnum):
    CITY_OFFICE = "city_office"  # Văn phòng Điều phối NTM: the programme's standing office
    COMMUNE_OFFICER = "commune_officer"
    COUNCIL_MEMBER = "council_member"
    INSPECTOR = "inspector"
    TRADE_OFFICER = "trade_officer"
    PRODUCER = "producer"
    AGENCY = "agency"  # another agency's read-only API client


EVERY_ROLE = frozenset(Role)


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    units: frozenset[str] = frozenset()
    producer_id: UUID | None = None
    client: str | None = None  # the caller's address, for the audit trail
    name: str | None = None

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_everything(self) -> bool:
        return Role.CITY_OFFICE in self.roles

    @property
    def role_names(self) -> list[str]:
        return sorted(r.value for r in self.roles)


class AuthError(Exception):
    pass


class KeySet:
    """The issuer's JWKS, cached for ``lifespan`` seconds and fetched again at once when a
    token names an unknown key id (rotation), at most every ``min_refresh`` seconds."""

    def __init__(self, url: str, lifespan: float = 300, min_refresh: float = 10) -> None:
        if not url.startswith(("https://", "http://", "file:")):
            raise ValueError(f"JWKS URL {url!r} must be https://, http:// or file:")
        self.url = url
        self.lifespan = lifespan
        self.min_refresh = min_refresh
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = float("-inf")

    def _fetch(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                data = json.load(response)
            keys = jwt.PyJWKSet.from_dict(data).keys
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise KeysUnavailable(f"cannot read the issuer's keys from {self.url}: {exc}") from exc
        self._keys = {k.key_id or "": k for k in keys}
        self._fetched = time.monotonic()

    def stale(self, kid: str) -> bool:
        age = time.monotonic() - self._fetched
        return age > self.lifespan or (kid not in self._keys and age > self.min_refresh)

    def key(self, kid: str) -> jwt.PyJWK:
        if self.stale(kid):
            self._fetch()
        try:
            return self._keys[kid]
        except KeyError:
            raise AuthError(f"the token's key {kid!r} is not one of the issuer's keys") from None


class KeysUnavailable(Exception):
    pass


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    jwks_url: str
    leeway_seconds: int = 30
    cache_size: int = 10_000
    _keys: KeySet | None = field(default=None, init=False, repr=False)
    # Tokens already verified, until they expire: a client sends the same token many times.
    _verified: dict[str, tuple[Principal, float]] = field(
        default_factory=dict, init=False, repr=False
    )

    def _jwks(self) -> KeySet:
        if self._keys is None:
            self._keys = KeySet(self.jwks_url)
        return self._keys

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise AuthError(f"tokens must be signed with {' or '.join(ALGORITHMS)}")
            key = self._jwks().key(str(header.get("kid", "")))
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "sub"]},
            )
        except KeysUnavailable as exc:
            log.warning("%s", exc)
            raise AuthError("the token's signing keys cannot be fetched right now") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        return claims

    async def verify(self, token: str, client: str | None = None) -> Principal:
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return replace(known[0], client=client)
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        if self._jwks().stale(kid):
            # Fetching the key set is blocking I/O; checking a signature is not worth a thread.
            try:
                await asyncio.to_thread(self._jwks().key, kid)
            except KeysUnavailable as exc:
                log.warning("%s", exc)
                raise AuthError("the token's signing keys cannot be fetched right now") from exc
        claims = self._decode(token)
        principal = principal_from(claims, client)
        if len(self._verified) >= self.cache_size:
            self._verified.clear()
        self._verified[token] = (principal, float(claims["exp"]))
        return principal


def principal_from(claims: dict[str, Any], client: str | None = None) -> Principal:
    raw_roles: Iterable[Any] = claims.get("roles") or (claims.get("realm_access") or {}).get(
        "roles", []
    )
    roles = frozenset(Role(r) for r in raw_roles if r in Role.__members__.values())
    units = claims.get("ocop_units") or []
    producer = claims.get("ocop_producer_id")
    try:
        producer_id = UUID(str(producer)) if producer else None
    except ValueError as exc:
        raise AuthError("ocop_producer_id is not a UUID") from exc
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise AuthError("ocop_units must be a list of unit codes")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        units=frozenset(units),
        producer_id=producer_id,
        client=client,
        name=claims.get("name") or claims.get("preferred_username"),
    )


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": 'Bearer realm="ocop"'},
    )


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from the ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    client = request.client.host if request.client else None
    try:
        return await verifier.verify(token.strip(), client)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from exc


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers with any of ``roles`` (403 for the others)."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles.intersection(allowed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs one of the roles {', '.join(sorted(allowed))}",
            )
        return principal

    check.__name__ = f"require_{'_'.join(sorted(allowed))}"
    check.ocop_roles = allowed  # type: ignore[attr-defined]  # read by the role table
    return check


class RateLimiter:
    """Token buckets per client address: ``per_minute`` sustained, ``burst`` at once."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 if allowed, else the seconds to wait."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # bounded memory under a spray of addresses
                self._buckets.clear()
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate if self.rate > 0 else 60.0


class RateLimitMiddleware(BaseHTTPMiddleware):
    """Limits requests that carry no bearer token (the public lookup, health, failed logins)
    per client address; callers with a token are limited by their identity provider."""

    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        super().__init__(app)
        self.limiter = limiter

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        if not request.headers.get("authorization"):
            key = request.client.host if request.client else "unknown"
            wait = self.limiter.take(key)
            if wait > 0:
                return JSONResponse(
                    {"detail": "too many requests; slow down"},
                    status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(max(1, int(wait + 0.999)))},
                )
        response: Response = await call_next(request)
        return response
