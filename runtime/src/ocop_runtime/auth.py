"""Who is calling: OpenID Connect bearer tokens, roles, and the units a person works for.

Every service checks access tokens (JWT, RS256 or ES256) against the issuer's JWKS: signature,
issuer, audience, expiry and not-before. Keys are cached and fetched again when a token names
a key id the cache does not know (the issuer rotated its keys). Claims read:

- ``sub``: the person or client;
- ``roles`` (or Keycloak's ``realm_access.roles``): any of :class:`Role`;
- ``ocop_units``: commune/ward (or pre-2025 district) codes a commune officer works for;
- ``ocop_producer_id``: the producer a producer's account belongs to;
- ``ocop_agency``: the agency whose machine client holds the token (its Kafka name, as in
  ``ocop agency add NAME``): replies to its commands go to that agency's own replies topic.

Locally ``make up`` keeps a development signing key under ``.ocop/idp/`` (see
:mod:`ocop_runtime.devidp`) and ``ocop token`` prints tokens signed with it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import jwt
from fastapi import Depends, HTTPException, Request, status
from starlette.responses import JSONResponse

from ocop_contracts.topics import AGENCY_NAME

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
    agency: str | None = None  # the ``ocop_agency`` claim: an agency's machine client

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


class KeysUnavailable(AuthError):
    """The issuer's keys cannot be fetched and the token names a key not held from before."""


class KeySet:
    """The issuer's JWKS, cached for ``lifespan`` seconds and fetched again at once when a
    token names an unknown key id (rotation), at most every ``min_refresh`` seconds.

    Fetching is blocking I/O done in a thread, one fetch at a time: requests arriving during a
    fetch wait for it instead of starting their own, and after a failed fetch the endpoint is
    asked again only ``min_refresh`` seconds later, so a failing identity provider costs no
    thread per request. The keys last fetched stay in use while the endpoint fails; a key the
    issuer removed stops being accepted at the next successful fetch."""

    def __init__(self, url: str, lifespan: float = 300, min_refresh: float = 10) -> None:
        if not url.startswith(("https://", "http://", "file:")):
            raise ValueError(f"JWKS URL {url!r} must be https://, http:// or file:")
        self.url = url
        self.lifespan = lifespan
        self.min_refresh = min_refresh
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = float("-inf")
        self._failed = float("-inf")
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _download(self) -> dict[str, jwt.PyJWK]:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                data = json.load(response)
            keys = jwt.PyJWKSet.from_dict(data).keys
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise KeysUnavailable(f"cannot read the issuer's keys from {self.url}: {exc}") from exc
        return {k.key_id or "": k for k in keys}

    def stale(self, kid: str) -> bool:
        now = time.monotonic()
        if now - self._failed < self.min_refresh:
            return False  # the endpoint failed a moment ago: do not ask it again yet
        age = now - self._fetched
        return age > self.lifespan or (kid not in self._keys and age > self.min_refresh)

    def _guard(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def refresh(self, kid: str) -> None:
        """Fetch the keys when they are stale for ``kid``; never raises."""
        if not self.stale(kid):
            return
        async with self._guard():
            if not self.stale(kid):  # fetched (or failed) while this request waited
                return
            try:
                keys = await asyncio.to_thread(self._download)
            except KeysUnavailable as exc:
                self._failed = time.monotonic()
                log.warning("%s", exc)
                return
            self._keys, self._fetched = keys, time.monotonic()

    def holds(self, kid: str) -> bool:
        return kid in self._keys

    def key(self, kid: str) -> jwt.PyJWK:
        """The key ``kid`` among those already fetched (see :meth:`refresh`)."""
        try:
            return self._keys[kid]
        except KeyError:
            if self._failed > self._fetched:
                raise KeysUnavailable(
                    "the token's signing keys cannot be fetched right now"
                ) from None
            raise AuthError(f"the token's key {kid!r} is not one of the issuer's keys") from None


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    jwks_url: str
    leeway_seconds: int = 30
    cache_size: int = 10_000
    _keys: KeySet | None = field(default=None, init=False, repr=False)
    # Tokens already verified, until they expire or their key leaves the issuer's key set: a
    # client sends the same token many times. Value: (principal, exp, kid).
    _verified: dict[str, tuple[Principal, float, str]] = field(
        default_factory=dict, init=False, repr=False
    )

    def _jwks(self) -> KeySet:
        if self._keys is None:
            self._keys = KeySet(self.jwks_url)
        return self._keys

    def _decode(self, token: str, header: dict[str, Any]) -> dict[str, Any]:
        try:
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
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        return claims

    async def verify(self, token: str, client: str | None = None) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            # A token seen before: no header to decode, no signature to check (the rate
            # limiter and the route both ask, for every request).
            keys, kid = self._jwks(), known[2]
            if keys.stale(kid):
                await keys.refresh(kid)
            if known[1] > time.time() and keys.holds(kid):
                return known[0] if client is None else replace(known[0], client=client)
            self._verified.pop(token, None)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        kid = str(header.get("kid", ""))
        await self._jwks().refresh(kid)
        claims = self._decode(token, header)
        principal = principal_from(claims)
        self._remember(token, principal, float(claims["exp"]), kid)
        if client is not None:
            principal = replace(principal, client=client)
        return principal

    def _remember(self, token: str, principal: Principal, expires: float, kid: str) -> None:
        if len(self._verified) >= self.cache_size:
            # Expired tokens first, then the oldest tenth: never everyone's at once.
            now = time.time()
            for old in [t for t, v in self._verified.items() if v[1] <= now]:
                del self._verified[old]
            for old in list(self._verified)[: max(1, self.cache_size // 10)]:
                if len(self._verified) < self.cache_size:
                    break
                del self._verified[old]
        self._verified[token] = (principal, expires, kid)


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
    agency = claims.get("ocop_agency") or None
    if agency is not None and not (isinstance(agency, str) and AGENCY_NAME.fullmatch(agency)):
        raise AuthError("ocop_agency must be an agency's short name (as in `ocop agency add`)")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        units=frozenset(units),
        producer_id=producer_id,
        client=client,
        name=claims.get("name") or claims.get("preferred_username"),
        agency=agency,
    )


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": 'Bearer realm="ocop"'},
    )


def bearer_token(header: str | bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from the ``Authorization: Bearer`` header."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise _unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    client = request.client.host if request.client else None
    try:
        return await verifier.verify(token, client)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from exc


def acting(principal: Principal, allowed: frozenset[Role]) -> Principal:
    """``principal`` holding only the roles ``allowed`` where it acts: a person with several
    roles never gets, through one of them, the scope another role gives elsewhere (an agency
    that is also a commune officer registers producers as a commune officer, in its units)."""
    return replace(principal, roles=principal.roles & allowed)


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers with any of ``roles`` (403 for the others); the caller
    acts with those of its roles only (:func:`acting`)."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.roles.intersection(allowed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs one of the roles {', '.join(sorted(allowed))}",
            )
        return acting(principal, allowed)

    check.__name__ = f"require_{'_'.join(sorted(allowed))}"
    check.ocop_roles = allowed  # type: ignore[attr-defined]  # read by the role table
    return check


class RateLimiter:
    """Token buckets per key (a client address, a subject): ``per_minute`` sustained, ``burst``
    at once. At most ``max_keys`` buckets are kept; beyond, the least recently used ones go
    (they had refilled the longest), never the whole table."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def take(self, key: str) -> float:
        """0 if allowed, else the seconds to wait."""
        now = self.clock()
        tokens = self._level(key, now)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if allowed:
            return 0.0
        return (1 - tokens) / self.rate if self.rate > 0 else 60.0


def address_key(host: str | None) -> str:
    """The bucket of a client address: an IPv6 client holds a whole /64, so that is one key."""
    if not host:
        return "addr:unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"addr:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"addr:{address.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"addr:{address}"


# What the rate limiter leaves in the ASGI scope for the body guard: the request carries a
# token that verified.
VERIFIED = "ocop.verified"


class RateLimitMiddleware:
    """Every request is limited before routing: one with a bearer token that verifies by its
    subject (``per_subject``), every other one (no token, a bogus or expired one) by its client
    address (``limiter``). The address is the connection's peer, or what a proxy says only when
    uvicorn is told to trust that proxy (``OCOP_TRUSTED_PROXIES``). Checking a token costs no
    more than serving the request would (a token naming an unknown key fails before any
    signature check), so a neighbour spraying bogus tokens from the same address does not lock
    out a caller whose token verifies."""

    def __init__(self, app: Any, limiter: RateLimiter, per_subject: RateLimiter | None = None):
        self.app = app
        self.limiter = limiter
        self.per_subject = per_subject

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = address_key(client[0] if client else None)
        token = bearer_token(dict(scope.get("headers") or ()).get(b"authorization"))
        key, limiter = address, self.limiter
        if token is not None and self.per_subject is not None:
            verifier: TokenVerifier | None = getattr(scope["app"].state, "token_verifier", None)
            if verifier is not None:
                try:
                    principal = await verifier.verify(token)
                except AuthError:
                    pass
                else:
                    key, limiter = f"sub:{principal.subject}", self.per_subject
                    scope.setdefault("state", {})[VERIFIED] = True
        wait = limiter.take(key)
        if wait > 0:
            response = JSONResponse(
                {"detail": "too many requests; slow down"},
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
