"""Evaluation's routing table: the events it consumes and the use case each one drives."""

from __future__ import annotations

import asyncpg

from ocop_contracts.events import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ProducerRegistered,
    ProducerUpdated,
    ProductRegistered,
    ProductUpdated,
    RevocationRecommended,
)
from ocop_evaluation import usecases
from ocop_evaluation.usecases import Evaluation
from ocop_runtime.consumer import Delivery, EventRoutes


def build_routes(evaluation: Evaluation | None = None) -> EventRoutes:
    ev = evaluation or Evaluation()
    routes = EventRoutes()

    @routes.on(ProducerRegistered)
    async def on_producer_registered(
        conn: asyncpg.Connection, event: ProducerRegistered, _: Delivery
    ) -> None:
        await usecases.record_producer(
            conn,
            producer_id=event.producer_id,
            legal_form=event.legal_form.value,
            name=event.name,
            commune_code=event.commune_code,
            version=1,
            at=event.registered_at,
        )

    @routes.on(ProducerUpdated)
    async def on_producer_updated(
        conn: asyncpg.Connection, event: ProducerUpdated, _: Delivery
    ) -> None:
        await usecases.record_producer(
            conn,
            producer_id=event.producer_id,
            legal_form=event.legal_form.value,
            name=event.name,
            commune_code=event.commune_code,
            version=event.version,
            at=event.updated_at,
        )

    @routes.on(ProductRegistered)
    async def on_product_registered(
        conn: asyncpg.Connection, event: ProductRegistered, _: Delivery
    ) -> None:
        await ev.record_product(conn, event)

    @routes.on(ProductUpdated)
    async def on_product_updated(
        conn: asyncpg.Connection, event: ProductUpdated, _: Delivery
    ) -> None:
        await ev.record_product(conn, event)

    @routes.on(ApplicationSubmitted)
    async def on_application_submitted(
        conn: asyncpg.Connection, event: ApplicationSubmitted, _: Delivery
    ) -> None:
        await ev.enter_application(conn, event)

    @routes.on(ApplicationWithdrawn)
    async def on_application_withdrawn(
        conn: asyncpg.Connection, event: ApplicationWithdrawn, _: Delivery
    ) -> None:
        await ev.withdraw_application(conn, event)

    @routes.on(RevocationRecommended)
    async def on_revocation_recommended(
        conn: asyncpg.Connection, event: RevocationRecommended, _: Delivery
    ) -> None:
        await ev.record_recommendation(conn, event)

    return routes
