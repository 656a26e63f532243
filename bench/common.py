"""What the benchmarks share: settings of a service under measurement, quiet logs, and the table.

Adding a benchmark to ``make bench``
------------------------------------
A benchmark is a module ``bench/<name>.py`` with a ``main()`` run as ``python -m bench.<name>``
(``deploy/bench.sh`` runs every such module, or those named on its command line). It measures
its path and a raw baseline doing the same work in the same run, checks that both did the same
work, and reports each measurement as one row of the table::

    from bench.common import report

    report(
        "consumer, per record",   # what was measured, short and unique in the table
        "records/s",              # the unit of ocop and raw; a unit with "/s" in it is a rate
        ocop=2_150.0,             # the service's figure
        raw=2_580.0,              # the raw baseline's, same run (None: no baseline, e.g. a floor)
        sizes={"records": 1000},  # the settings the figures depend on (OCOP_BENCH_* values)
        target=1.2,               # optional: the ratio the path must stay within
    )

``limit`` instead of (or beside) ``target`` is a bound on the figure itself, in its unit (a
latency at most, a rate at least): ``report("GET /healthz p50", "ms", ocop=0.21, raw=None,
limit=0.3)``.

The ratio is always in time (ocop time / raw time): ``ocop / raw`` for times, ``raw / ocop`` for
rates, so 1.0 is the floor whatever the unit. Rows go to ``$OCOP_BENCH_ROWS_FILE`` (set by
``deploy/bench.sh``; unset, they are only printed). At the end ``python -m bench.table`` prints
one table of every row, writes it to ``.ocop/bench/results.json`` (name, unit, ocop, raw, ratio,
sizes, target, limit) and shows the change against the previous run's file when there is one.
Anything else a benchmark prints is its detail, shown as it runs.

In-process HTTP: :class:`InProcess` calls a service's ASGI app directly (no socket, no HTTP
client library), so a latency measured through it is the service's stack and handler alone;
``GET /healthz`` through it is what a health probe costs, and :func:`add_floor_route` gives the
floor every traced request pays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr

from ocop_runtime.devidp import jwks_url
from ocop_runtime.kafka import start_client
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.testing import session_idp

S = TypeVar("S", bound=ServiceSettings)


def is_rate(unit: str) -> bool:
    """A unit of work per time (higher is better: ``records/s``, ``records/s of CPU``), as
    opposed to a time."""
    return "/s" in unit


def time_ratio(unit: str, ocop: float, raw: float | None) -> float | None:
    """ocop time / raw time for the same work: 1.0 is the floor."""
    if raw is None or not raw or not ocop:
        return None
    return raw / ocop if is_rate(unit) else ocop / raw


def report(
    name: str,
    unit: str,
    *,
    ocop: float,
    raw: float | None,
    sizes: dict[str, Any] | None = None,
    target: float | None = None,
    limit: float | None = None,
) -> dict[str, Any]:
    """One row of the ``make bench`` table (see the top of this module); returns the row."""
    row = {
        "name": name,
        "unit": unit,
        "ocop": ocop,
        "raw": raw,
        "ratio": time_ratio(unit, ocop, raw),
        "sizes": sizes or {},
        "target": target,
        "limit": limit,
    }
    path = os.environ.get("OCOP_BENCH_ROWS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def quiet_faststream() -> None:
    """FastStream logs every subscription at INFO on stdout; keep the tables readable."""
    for name in ("faststream", "faststream.access.kafka"):
        logging.getLogger(name).addFilter(_WarningsOnly())


def bench_settings(settings_type: type[S], unique: str | None = None) -> S:
    """Settings for an in-process service on the bench stack, with a schema of its own."""
    service = settings_type.model_fields["service"].default
    unique = unique or uuid4().hex[:8]
    return settings_type(
        env="test",
        database_url=SecretStr(os.environ["OCOP_BENCH_DATABASE_URL"]),
        db_schema=f"{service}_bench_{unique}",
        consumer_group=f"ocop.{service}.bench.{unique}",
        kafka_bootstrap_servers=os.environ["OCOP_BENCH_KAFKA_BOOTSTRAP"],
        oidc_jwks_url=jwks_url(session_idp()),
        # One client sends thousands of requests a minute here: the limits are not measured.
        rate_limit_burst=1_000_000,
        rate_limit_subject_burst=1_000_000,
    )


async def skip_history(settings: Any, topics: Iterable[str]) -> None:
    """Commit ``settings``' consumer group at the end of ``topics``, so that an in-process
    service does not replay what the benchmarks before it published while this one measures."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
        **settings.kafka_auth().options(),
    )
    # A fresh broker has no offsets topic yet: aiokafka logs its retries while it is created.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    await start_client(consumer)
    try:
        await consumer._client.force_metadata_update()  # as ocop_runtime.kafka.read_all does
        partitions = [
            TopicPartition(t, p)
            for t in sorted(set(topics))
            for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()
        logging.getLogger("aiokafka").setLevel(logging.NOTSET)


async def skip_app_history(app: Any, settings: Any) -> None:
    """:func:`skip_history` on every topic the service ``app`` consumes (its spec's)."""
    await skip_history(settings, app.state.spec.consumed_topics)


FLOOR_PATH = "/bench/floor"


def add_floor_route(app: Any) -> str:
    """Give ``app`` a route that does no work, traced like every request of the service and
    matched where ``GET /healthz`` is (before the service's routers): the HTTP floor a route's
    handler adds to (``GET /healthz`` was that floor until health probes stopped being traced).
    Returns its path."""

    @app.get(FLOOR_PATH, include_in_schema=False)
    async def floor() -> dict[str, str]:
        return {"status": "ok", "service": "bench"}

    routes = app.router.routes
    route = routes.pop(
        next(i for i, r in enumerate(routes) if getattr(r, "path", "") == FLOOR_PATH)
    )
    # Before the first included router (the one serving /healthz), after FastAPI's own routes.
    routes.insert(next(i for i, r in enumerate(routes) if not hasattr(r, "path")), route)
    return FLOOR_PATH


class InProcess:
    """A lean client of an ASGI app in the same process: builds the scope, sends the body in one
    message and collects the response. Only what the benchmarks
    use: ``get``, ``post``, ``put`` with ``params``, ``json``, ``content`` and ``headers``. The
    answer is an :class:`Answer` (building an ``httpx.Response`` and its request cost the
    client about 0.1 ms a call, a third of the traced HTTP floor)."""

    def __init__(self, app: Any, headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        body = content or b""
        extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        names = {k for k, _ in extra}
        if json is not None:
            body = _json_bytes(json)
            if b"content-type" not in names:
                extra.append((b"content-type", b"application/json"))
        sent = [(b"host", b"service"), *(h for h in self.headers if h[0] not in names), *extra]
        if body:
            sent.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(params).encode() if params else b"",
            "root_path": "",
            "headers": sent,
            "client": ("127.0.0.1", 50000),
            "server": ("service", 80),
            "state": {},
        }
        status, response_headers, chunks = 500, [], []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status, response_headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Answer(status, b"".join(chunks), response_headers)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("PUT", path, **kwargs)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class Answer:
    """A response as :class:`LeanHttp` and :class:`InProcess` read it: status, body, raw
    headers, ``json()``, ``text`` and ``raise_for_status()``."""

    def __init__(
        self, status_code: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        self.status_code = status_code
        self.content = body
        self.raw_headers = headers

    def raise_for_status(self) -> None:
        if not 200 <= self.status_code < 300:
            raise AssertionError(f"HTTP {self.status_code}: {self.text}")

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanHttp:
    """A lean HTTP/1.1 client over one kept-alive connection, for benchmarks through a real
    socket: a request at a time, bodies framed by ``Content-Length``, as the services answer.
    An HTTP client library costs more per request here than the service's whole stack does
    (httpx: about 2 ms of the client's CPU for ``GET /healthz``, whose server side is 0.3 ms),
    so it is kept out of the figures, as :class:`InProcess` keeps it out in process."""

    # The server closes a connection idle for its keep-alive timeout (uvicorn: 5 s); one idle
    # for longer than this is opened again before it is used.
    IDLE_SECONDS = 2.0

    def __init__(self, host: str, port: int, head: bytes):
        self._host, self._port, self._head = host, port, head
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    @classmethod
    async def connect(cls, base_url: str, headers: Mapping[str, str] | None = None) -> LeanHttp:
        parts = urlsplit(base_url)
        head = "".join(
            f"{k}: {v}\r\n" for k, v in {"host": parts.netloc, **(headers or {})}.items()
        )
        client = cls(parts.hostname or "127.0.0.1", parts.port or 80, head.encode())
        await client._open()
        return client

    async def _open(self) -> None:
        await self.close()
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        self._used = time.monotonic()

    async def request(self, method: str, path: str, *, json: Any = None) -> Answer:
        if self._writer is None or time.monotonic() - self._used > self.IDLE_SECONDS:
            await self._open()
        assert self._reader is not None and self._writer is not None
        body = b"" if json is None else _json_bytes(json)
        framing = b"content-type: application/json\r\n" if json is not None else b""
        self._writer.write(
            b"%s %s HTTP/1.1\r\n%s%scontent-length: %d\r\n\r\n%s"
            % (method.encode(), path.encode(), self._head, framing, len(body), body)
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        length = {k.strip().lower(): v.strip() for k, v in fields.items()}.get("content-length")
        if length is None:
            raise ValueError(f"{method} {path}: an answer without Content-Length: {head!r}")
        answer = Answer(int(status_line.split()[1]), await self._reader.readexactly(int(length)))
        self._used = time.monotonic()
        return answer

    async def get(self, path: str) -> Answer:
        return await self.request("GET", path)

    async def post(self, path: str, *, json: Any = None) -> Answer:
        return await self.request("POST", path, json=json)

    async def close(self) -> None:
        if self._writer is None:
            return
        writer, self._writer, self._reader = self._writer, None, None
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
