"""Evaluation's routing table: the events it consumes and the use case each one drives."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from ocop_contracts.commands import evaluation as cmd
from ocop_contracts.events import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ProducerRegistered,
    ProducerUpdated,
    ProductRegistered,
    ProductUpdated,
    RevocationRecommended,
)
from ocop_evaluation import domain, store, usecases
from ocop_evaluation.usecases import Evaluation
from ocop_runtime import commands
from ocop_runtime.consumer import Delivery, EventRoutes
from ocop_runtime.refusals import Conflict

_answer = commands.Answerer(
    service=usecases.SERVICE,
    accepted=cmd.EvaluationCommandAccepted,
    rejected=cmd.EvaluationCommandRejected,
)


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

    @routes.on(cmd.OpenRound)
    async def on_open_round(conn: asyncpg.Connection, command: cmd.OpenRound, d: Delivery) -> None:
        async def run() -> bool:
            existing = await store.get_round(conn, command.round_id)
            if existing is not None:
                if (existing["year"], existing["level"]) != (command.year, command.level.value):
                    raise Conflict("round_id", "is a different round already")
                return False
            await ev.open_round(
                conn,
                command.year,
                domain.Level(command.level.value),
                command.name,
                command.round_id,
            )
            return True

        await _answer(conn, d, command, run)

    @routes.on(cmd.SubmitScoreSheet)
    async def on_submit_score_sheet(
        conn: asyncpg.Connection, command: cmd.SubmitScoreSheet, d: Delivery
    ) -> None:
        async def run() -> bool:
            points = {k: Decimal(str(v)) for k, v in command.points.items()}
            await ev.submit_sheet(
                conn, command.round_id, command.application_id, command.member_id, points
            )
            return True

        await _answer(conn, d, command, run)

    @routes.on(cmd.CloseRound)
    async def on_close_round(
        conn: asyncpg.Connection, command: cmd.CloseRound, d: Delivery
    ) -> None:
        async def run() -> bool:
            current = await store.get_round(conn, command.round_id)
            if current is not None and current["status"] in ("closed", "decided"):
                return False
            await ev.close_round(conn, command.round_id, command.override_reason)
            return True

        await _answer(conn, d, command, run)

    @routes.on(cmd.RecordDecision)
    async def on_record_decision(
        conn: asyncpg.Connection, command: cmd.RecordDecision, d: Delivery
    ) -> None:
        async def run() -> bool:
            current = await store.get_round(conn, command.round_id)
            if current is not None and current["decision_number"] == command.decision_number:
                return False
            await ev.decide(conn, command.round_id, command.decision_number, command.decision_date)
            return True

        await _answer(conn, d, command, run)

    @routes.on(RevocationRecommended)
    async def on_revocation_recommended(
        conn: asyncpg.Connection, event: RevocationRecommended, _: Delivery
    ) -> None:
        await ev.record_recommendation(conn, event)

    return routes
