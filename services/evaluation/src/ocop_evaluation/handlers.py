"""Evaluation's routing table: the events it consumes and the use case each one drives."""

from __future__ import annotations

import asyncpg

from ocop_contracts.events import ProducerRegistered, ProducerUpdated
from ocop_evaluation import usecases
from ocop_runtime.consumer import Delivery, EventRoutes


def build_routes() -> EventRoutes:
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

    return routes
