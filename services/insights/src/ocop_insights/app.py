"""Composition root of the insights service."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ocop_contracts.events import StatisticPublished
from ocop_insights import api
from ocop_insights.handlers import build_routes
from ocop_insights.live import Broadcast, follow
from ocop_insights.publishing import Publisher
from ocop_insights.settings import InsightsSettings
from ocop_runtime.app import ServiceContext, ServiceSpec, create_service_app, token_verifier_for

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


Background = Callable[[ServiceContext], Coroutine[Any, Any, None]]


def _publishing(publisher: Publisher) -> Background:
    async def publish(ctx: ServiceContext) -> None:
        await publisher.run(ctx.pool)

    return publish


def _following(broadcast: Broadcast) -> Background:
    async def live(ctx: ServiceContext) -> None:
        await follow(ctx, broadcast)

    return live


def service_spec(
    settings: InsightsSettings, publisher: Publisher, broadcast: Broadcast
) -> ServiceSpec:
    return ServiceSpec(
        name="insights",
        title="ocop insights",
        description="The statistics of Hanoi's OCOP programme, read from every public topic.",
        migrations=MIGRATIONS,
        batches=build_routes(
            max_records=settings.batch_max_records,
            timeout_ms=settings.batch_timeout_ms,
            after_commit=publisher.changed,
        ),
        publishes=(StatisticPublished,),
        routers=(api.statistics_router, api.dashboard_router),
        background=(_publishing(publisher), _following(broadcast)),
    )


def create_app(settings: InsightsSettings, **options: Any) -> FastAPI:
    """``options`` go to :func:`create_service_app` (tests pass a relay factory)."""
    publisher = Publisher(settings.publish_seconds)
    broadcast = Broadcast()
    app = create_service_app(
        settings,
        service_spec(settings, publisher, broadcast),
        token_verifier=token_verifier_for(settings),
        **options,
    )
    app.state.publisher = publisher
    app.state.broadcast = broadcast
    return app
