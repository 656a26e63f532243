"""Rate limits and body bounds that cannot be stepped around: every request is limited (by
address, or by subject once its token verifies), a bogus ``Authorization`` header changes
nothing, a client cannot choose its address unless a trusted proxy speaks for it, the bucket
table never resets for everyone, and a large body is refused before it is read whole."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from ocop_registry import demo
from ocop_registry.app import create_app as create_registry
from ocop_registry.settings import RegistrySettings
from ocop_runtime.app import uvicorn_options
from ocop_runtime.auth import RateLimiter, Role
from ocop_runtime.testing import bearer, running, wait_until

LOOKUP = "/public/products/01-00004-0001-2025"
MB = 1024 * 1024


async def test_a_bogus_authorization_header_is_limited_by_address_like_no_header(
    make_settings: Any,
) -> None:
    settings = make_settings(RegistrySettings, rate_limit_per_minute=60, rate_limit_burst=5)
    async with running(create_registry(settings), role=None) as client:
        statuses = []
        for header in ("Bearer not.a.token", "Basic dXNlcjpwdw==", "Bearer", "x"):
            for _ in range(2):
                response = await client.get(LOOKUP, headers={"Authorization": header})
                statuses.append(response.status_code)
        after = await client.get("/healthz", headers={"Authorization": "Bearer again.bogus.x"})
        verified = await client.get("/units", headers=bearer(Role.AGENCY))

    assert statuses[:5] == [404] * 5 and set(statuses[5:]) == {429}
    assert after.status_code == 429 and int(after.headers["retry-after"]) >= 1
    assert verified.status_code == 200  # a verified subject has a bucket of its own


async def test_a_verified_subject_is_limited_on_its_own_bucket(make_settings: Any) -> None:
    settings = make_settings(
        RegistrySettings, rate_limit_subject_per_minute=60, rate_limit_subject_burst=3
    )
    busy = bearer(Role.AGENCY, subject="may-tram-so-y-te")
    async with running(create_registry(settings), role=None) as client:
        statuses = [(await client.get("/units", headers=busy)).status_code for _ in range(5)]
        other = await client.get("/units", headers=bearer(Role.AGENCY, subject="khac"))
        # The same subject with a fresh token is the same bucket.
        again = await client.get("/units", headers=bearer(Role.AGENCY, subject="may-tram-so-y-te"))
    assert statuses == [200, 200, 200, 429, 429]
    assert other.status_code == 200 and again.status_code == 429


@asynccontextmanager
async def _served(app: Any, settings: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn with the options ``python -m ocop_<service>`` uses."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    options = {k: v for k, v in uvicorn_options(settings).items() if k not in ("host", "port")}
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:

        async def started() -> bool:
            if task.done():
                task.result()
            return server.started

        await wait_until(started, timeout_seconds=60, what="the service to start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _spoofing(url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url) as client:
        return [
            (await client.get(LOOKUP, headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(6)
        ]


async def test_x_forwarded_for_counts_only_from_a_configured_proxy(make_settings: Any) -> None:
    limits = {"rate_limit_per_minute": 60, "rate_limit_burst": 3}
    plain = make_settings(RegistrySettings, **limits)
    async with _served(create_registry(plain), plain) as url:
        spoofed = await _spoofing(url)
    proxied = make_settings(RegistrySettings, trusted_proxies="127.0.0.1", **limits)
    async with _served(create_registry(proxied), proxied) as url:
        forwarded = await _spoofing(url)

    assert spoofed == [404, 404, 404, 429, 429, 429]  # one address, whatever the header says
    assert forwarded == [404] * 6  # six clients behind the trusted proxy


def test_a_full_bucket_table_forgets_the_idlest_keys_not_everyones_limit() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=1, burst=2, clock=lambda: now[0], max_keys=100)
    assert [limiter.take("addr:abuser") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("addr:abuser") > 0
    for i in range(1000):  # a spray of fresh addresses, the abuser still knocking in between
        limiter.take(f"addr:spray-{i}")
        if i % 50 == 0:
            assert limiter.take("addr:abuser") > 0
    assert limiter.take("addr:abuser") > 0
    assert len(limiter._buckets) <= 100


async def _post_streamed(
    app: Any, path: str, total: int, headers: dict[str, str]
) -> tuple[int, int]:
    """POST ``total`` bytes to ``path`` in 64 KiB chunks without a Content-Length (so only
    reading tells the size); the status and how many bytes the service pulled."""
    chunk = b"a" * (64 * 1024)
    pulled = 0
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= total:
            await asyncio.Event().wait()  # the client has nothing more to send: never returns
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"service"), (b"content-type", b"text/csv"), *raw_headers],
        "client": ("127.0.0.1", 50000),
        "server": ("service", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), 60)
    return status[0], pulled


async def test_a_25_mb_body_to_a_non_import_route_is_refused_before_it_is_read_whole(
    make_settings: Any,
) -> None:
    app = create_registry(make_settings(RegistrySettings))
    office = bearer(Role.CITY_OFFICE)
    async with running(app, role=None) as client:
        declared = await client.post(
            "/producers",
            content=b"{}",
            headers={**office, "content-length": str(25 * MB), "content-type": "application/json"},
        )
        status, pulled = await _post_streamed(app, "/producers", 25 * MB, office)
        anonymous_import = await _post_streamed(app, "/imports/products", 25 * MB, {})
        csv = demo.to_csv(demo.rows(20_000, seed=3)).encode()  # too many rows: read, then 422
        assert MB < len(csv) < 20 * MB
        imported = await client.post(
            "/imports/products",
            params={"dry_run": "true"},
            content=csv,
            headers={**office, "content-type": "text/csv"},
        )

    assert declared.status_code == 413
    assert status == 413 and pulled <= 2 * MB, pulled
    # Before its token is verified the import route gets the small bound too.
    assert anonymous_import[0] == 413 and anonymous_import[1] <= 2 * MB
    assert imported.status_code == 422 and "5000 rows" in imported.text, imported.text[:200]
