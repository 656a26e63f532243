"""The composition root every service shares: ``create_service_app(settings, spec)``.

It builds everything at start-up (no work at import): the telemetry, the asyncpg pool pinned to the
service's schema, migrations, the topics, the idempotent producer, the outbox relay, the FastStream
broker with the service's router, and the HTTP endpoints every service has (``/healthz``,
``/readyz``, ``/metrics``, ``/status``, ``/asyncapi.json``). A service adds only its routers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ocop_contracts import Event, topics
from ocop_runtime.audit import audit_router
from ocop_runtime.auth import RateLimiter, RateLimitMiddleware, TokenVerifier
from ocop_runtime.batching import BatchConsumer, BatchRoutes
from ocop_runtime.consumer import EventConsumer, EventRoutes
from ocop_runtime.db import create_pool
from ocop_runtime.devidp import ensure_key, idp_dir, jwks_url
from ocop_runtime.guard import InputGuard
from ocop_runtime.kafka import TopicNames, ensure_topics, start_client
from ocop_runtime.migrations import migrate
from ocop_runtime.outbox import Housekeeper, OutboxRelay, kafka_producer, outbox_stats
from ocop_runtime.settings import ServiceSettings
from ocop_runtime.telemetry import HTTP_TELEMETRY, Metrics, configure_tracing, instrument_http

log = logging.getLogger("ocop.app")

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service different from the others."""

    name: str
    title: str
    description: str
    migrations: Path
    routes: EventRoutes = field(default_factory=EventRoutes)
    publishes: Sequence[type[Event]] = ()
    routers: Sequence[APIRouter] = ()
    # Run after the migrations, before consuming or serving: e.g. loading reference data
    # shipped with the service. Each must be idempotent (every replica runs it at start-up).
    on_migrated: Sequence[Callable[[asyncpg.Pool], Awaitable[None]]] = ()
    # Long-running tasks (schedulers) started once the service is ready, cancelled at shutdown.
    background: Sequence[Callable[[ServiceContext], Coroutine[Any, Any, None]]] = ()
    # Routes that take large bodies (uploads) from callers whose token verified.
    upload_paths: Sequence[str] = ()
    # Events applied in batches (read models): ocop_runtime.batching, beside ``routes``.
    batches: BatchRoutes | None = None

    @property
    def consumed_topics(self) -> list[str]:
        """The catalogue names of every topic the service consumes, one by one or in batches."""
        batched = self.batches.topics if self.batches is not None else []
        return sorted({*self.routes.topics, *batched})


@dataclass
class ServiceContext:
    """What request handlers and background tasks of a running service share."""

    settings: ServiceSettings
    spec: ServiceSpec
    metrics: Metrics
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    broker: KafkaBroker
    relay: OutboxRelay
    consumer: EventConsumer
    batch_consumer: BatchConsumer | None = None

    @property
    def subscribed(self) -> list[str]:
        """The catalogue names of every topic the service consumes."""
        return self.spec.consumed_topics


def context_of(request: Request) -> ServiceContext:
    """The running service's context, for code that has the request at hand."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def get_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the running service's context. ``async``: FastAPI runs a plain
    ``def`` dependency in a worker thread, a hop that costs more than the lookup itself (and
    a ``dependency_overrides`` entry would make FastAPI analyse the override's signature on
    every request)."""
    return context_of(request)


def build_broker(
    settings: ServiceSettings,
    spec: ServiceSpec,
    consumer: EventConsumer,
    batch_consumer: BatchConsumer | None = None,
) -> KafkaBroker:
    auth = settings.kafka_auth()
    security: BaseSecurity | None = None
    if auth.security_protocol.startswith("SASL"):
        scram = SASLScram512 if auth.mechanism == "SCRAM-SHA-512" else SASLScram256
        security = scram(
            username=auth.username or "",
            password=auth.password or "",
            use_ssl=auth.security_protocol == "SASL_SSL",
            ssl_context=auth.options().get("ssl_context"),
        )
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=security,
        client_id=f"ocop-{spec.name}",
        description=spec.description,
        # FastStream logs "Received" and "Processed" for every record at this level: two log
        # records per event (a few per cent of a consumer's CPU). The consumers log what needs
        # an operator (redeliveries, dead letters) and count every outcome in their metrics.
        log_level=logging.DEBUG,
    )
    broker.include_router(consumer.router(settings.consumer_group, description=spec.description))
    if batch_consumer is not None:
        broker.include_router(
            batch_consumer.router(settings.consumer_group, description=spec.description)
        )
    return broker


def create_service_app(
    settings: ServiceSettings,
    spec: ServiceSpec,
    *,
    relay_factory: Callable[..., OutboxRelay] = OutboxRelay,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    """``token_verifier``: the one HTTP requests and the service's Kafka commands share
    (default: one for the configured issuer)."""
    metrics = Metrics(spec.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_tracing(spec.name, settings.otlp_endpoint)
        if settings.env != "production" and settings.oidc_jwks_url == jwks_url(idp_dir()):
            ensure_key(idp_dir())
        pool = await create_pool(
            settings.dsn,
            settings.db_schema,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
        )
        stack = contextlib.AsyncExitStack()
        stack.push_async_callback(pool.close)
        try:
            applied = await _migrate(pool, settings, spec)
            if applied:
                log.info("%s: applied migrations %s", spec.name, ", ".join(applied))
            for hook in spec.on_migrated:
                await hook(pool)
            # A service creates only the topics it writes (its ACLs allow no more); the rest
            # are created by `python -m ocop_runtime.kafka_security setup` or their owners.
            # Under a prefix of its own (a test, a shared cluster) nobody else will create the
            # ones it reads, so it creates those too.
            names = TopicNames(settings.topic_prefix)
            wanted = list(topics.written_by(spec.name))
            if settings.topic_prefix:
                wanted += [t for t in spec.routes.topics if t not in wanted]
                if spec.batches is not None:
                    wanted += [t for t in spec.batches.topics if t not in wanted]
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                [names.physical(t) for t in wanted],
                partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
                auth=settings.kafka_auth(),
            )
            producer = kafka_producer(
                settings.kafka_bootstrap_servers,
                settings.kafka_auth(),
                client_id=f"ocop-{spec.name}",
            )
            await start_client(producer)
            stack.push_async_callback(producer.stop)
            # The relay owns a producer of its own: it replaces it after a failed send, which
            # it could not do to the one the consumer shares for dead letters.
            relay = relay_factory(
                pool,
                functools.partial(
                    kafka_producer,
                    settings.kafka_bootstrap_servers,
                    settings.kafka_auth(),
                    client_id=f"ocop-{spec.name}-relay",
                ),
                schema=settings.db_schema,
                metrics=metrics,
                batch_size=settings.relay_batch_size,
                poll_seconds=settings.relay_poll_seconds,
                retry_seconds=settings.relay_retry_seconds,
                send_timeout_seconds=settings.relay_send_timeout_seconds,
                unhealthy_after_seconds=settings.relay_unhealthy_after_seconds,
                test_pause_after_send_seconds=settings.relay_test_pause_after_send_seconds,
                names=names,
            )
            await relay.start()
            stack.push_async_callback(relay.stop)
            housekeeper = Housekeeper(
                pool,
                metrics=metrics,
                outbox_retention_hours=settings.outbox_retention_hours,
                inbox_retention_hours=settings.inbox_retention_hours,
                interval_seconds=settings.housekeeping_interval_seconds,
            )
            await housekeeper.start()
            stack.push_async_callback(housekeeper.stop)
            consumer = EventConsumer(
                spec.routes,
                consumer=spec.name,
                pool=pool,
                producer=producer,
                dlq_topic=topics.dlq(spec.name),
                metrics=metrics,
                max_attempts=settings.handler_max_attempts,
                backoff_seconds=settings.handler_backoff_seconds,
                backoff_max_seconds=settings.handler_backoff_max_seconds,
                pause_after_commit_seconds=settings.consumer_test_pause_after_commit_seconds,
                names=names,
            )
            batch_consumer = (
                BatchConsumer(
                    spec.batches,
                    consumer=spec.name,
                    pool=pool,
                    producer=producer,
                    dlq_topic=topics.dlq(spec.name),
                    metrics=metrics,
                    max_attempts=settings.handler_max_attempts,
                    backoff_seconds=settings.handler_backoff_seconds,
                    backoff_max_seconds=settings.handler_backoff_max_seconds,
                    pause_after_commit_seconds=settings.consumer_test_pause_after_commit_seconds,
                    names=names,
                )
                if spec.batches is not None
                else None
            )
            broker = build_broker(settings, spec, consumer, batch_consumer)
            await broker.start()
            stack.push_async_callback(broker.stop)
            app.state.ctx = ServiceContext(
                settings, spec, metrics, pool, producer, broker, relay, consumer, batch_consumer
            )
            for work in spec.background:
                task = asyncio.create_task(work(app.state.ctx), name=f"{spec.name} background")
                stack.push_async_callback(_cancel, task)
            # What start-up built (the app, its routes and models, the clients) lives as long as
            # the service: out of the collector's sight, so that a full collection scans only
            # what requests and records leave behind (it scanned everything: about 80 ms, once
            # every thousand or so commands, on one request's time). Given back at shutdown.
            gc.collect()
            gc.freeze()
            stack.callback(gc.unfreeze)
            log.info("%s: ready on %s:%s", spec.name, settings.http_host, settings.http_port)
        except BaseException:
            await stack.aclose()
            raise
        async with stack:
            yield

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="1.0.0",
        lifespan=lifespan,
        telemetry=HTTP_TELEMETRY,
    )
    app.state.token_verifier = token_verifier or token_verifier_for(settings)
    app.state.spec = spec
    app.add_middleware(
        InputGuard,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_paths=spec.upload_paths,
    )
    app.add_middleware(
        RateLimitMiddleware,
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        per_subject=RateLimiter(
            settings.rate_limit_subject_per_minute, settings.rate_limit_subject_burst
        ),
    )
    instrument_http(app, spec.name, metrics)
    app.include_router(_shared_router(spec, metrics))
    app.include_router(audit_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def token_verifier_for(settings: ServiceSettings) -> TokenVerifier:
    return TokenVerifier(settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url)


async def _migrate(pool: asyncpg.Pool, settings: ServiceSettings, spec: ServiceSpec) -> list[str]:
    """Migrate as the schema's owner (``OCOP_MIGRATION_DATABASE_URL``), granting the service's
    own role what it needs; with one DSN for both, the service's role migrates its own schema."""
    async with pool.acquire() as conn:
        if settings.migration_dsn == settings.dsn:
            return await migrate(conn, settings.db_schema, spec.migrations)
        runtime_role = await conn.fetchval("SELECT current_user")
    owner = await asyncpg.connect(settings.migration_dsn)
    try:
        return await migrate(
            owner,
            settings.db_schema,
            spec.migrations,
            runtime_role=runtime_role,
            runtime_may_create=settings.env == "test",
        )
    finally:
        await owner.close()


def _shared_router(spec: ServiceSpec, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @router.get(
        "/readyz", summary="PostgreSQL and Kafka are reachable and the outbox relay is not failing"
    )
    async def readyz(request: Request) -> JSONResponse:
        ctx: ServiceContext | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = {"postgres": await _check_postgres(ctx), "kafka": await _check_kafka(ctx)}
        relay_problem = ctx.relay.health_problem()
        if relay_problem:
            checks["relay"] = relay_problem
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get(
        "/status",
        summary="Outbox backlog, parked rows, relay role and dead letters of this service",
    )
    async def status(request: Request) -> dict[str, Any]:
        ctx: ServiceContext = request.app.state.ctx
        outbox = await outbox_stats(ctx.pool)
        dead = await ctx.pool.fetchval("SELECT count(*) FROM dead_letters")
        return {
            "service": spec.name,
            "consumer_group": ctx.settings.consumer_group,
            "subscribed_topics": [
                TopicNames(ctx.settings.topic_prefix).physical(t) for t in ctx.subscribed
            ],
            "outbox_backlog": outbox.backlog,
            "outbox_backlog_exact": outbox.backlog_exact,
            "outbox_oldest_seconds": outbox.oldest_seconds,
            "outbox_parked": outbox.parked,
            "relay": ctx.relay.role,
            "dead_letters": dead,
        }

    @router.get("/asyncapi.json", summary="AsyncAPI 3 document of this service's topics")
    async def asyncapi(request: Request) -> dict[str, Any]:
        ctx: ServiceContext = request.app.state.ctx
        # Generated from the catalogues: payloads of what it consumes too (commands), the
        # CloudEvents headers, Kafka bindings, servers and security, replies.
        from ocop_runtime.asyncapi import for_service

        return for_service(
            ctx.settings, spec.name, spec.description, ctx.subscribed, spec.publishes
        )

    return router


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _check_postgres(ctx: ServiceContext) -> str:
    try:
        await asyncio.wait_for(ctx.pool.fetchval("SELECT 1"), 2)
        return "ok"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


async def _check_kafka(ctx: ServiceContext) -> str:
    try:
        ok = await asyncio.wait_for(ctx.producer.client.fetch_all_metadata(), 3)
        return "ok" if ok is not None and ok.brokers() else "no brokers"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def run_service(settings_type: type[S], create_app: Callable[[S], FastAPI]) -> None:
    """Entry point of ``python -m ocop_<service>``: settings from the environment, then uvicorn."""
    import os

    import uvicorn

    if not os.environ.get("OCOP_ENV"):
        # No silent default: a deployment that forgot it would run with every production
        # check off. The local stack (make up) and docker-compose.yml set it.
        raise SystemExit(
            "OCOP_ENV is not set: set it to production (or dev for a local stack, test for tests)"
        )
    settings = settings_type()
    app = create_app(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(app, **uvicorn_options(settings), log_level="info")


def uvicorn_options(settings: ServiceSettings) -> dict[str, Any]:
    """How uvicorn serves the service. It would believe X-Forwarded-For from 127.0.0.1 by
    default; here only from the proxies in ``OCOP_TRUSTED_PROXIES`` (none by default), so a
    client cannot pick the address its rate limit and audit rows are kept under."""
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return {
        "host": settings.http_host,
        "port": settings.http_port,
        # The C HTTP parser and event loop, as `uvicorn[standard]` installs them (no change
        # measured in the end-to-end benchmark; docs/PERFORMANCE.md).
        "http": "httptools",
        "loop": "uvloop",
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }
