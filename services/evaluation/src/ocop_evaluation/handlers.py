"""Evaluation's routing table: the events it consumes and the use case each one drives.

Every handler maps one event or command to one use case call; what a repeat or a clash means
is the use case's to say, the same for HTTP and Kafka. Commands are answered on the replies
topic (``CommandAccepted``, ``duplicate`` when a resent command had nothing to do, or
``CommandRejected`` with the field and the reason)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

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
from ocop_evaluation import domain
from ocop_evaluation.usecases import SERVICE, Evaluation
from ocop_runtime import commands
from ocop_runtime.consumer import Delivery, EventRoutes

_answer = commands.Answerer(
    service=SERVICE,
    accepted=cmd.EvaluationCommandAccepted,
    rejected=cmd.EvaluationCommandRejected,
)


def build_routes(evaluation: Evaluation | None = None) -> EventRoutes:
    ev = evaluation or Evaluation()
    routes = EventRoutes()
    routes.on(ProducerRegistered)(partial(on_producer_registered, ev))
    routes.on(ProducerUpdated)(partial(on_producer_updated, ev))
    routes.on(ProductRegistered)(partial(on_product_registered, ev))
    routes.on(ProductUpdated)(partial(on_product_updated, ev))
    routes.on(ApplicationSubmitted)(partial(on_application_submitted, ev))
    routes.on(ApplicationWithdrawn)(partial(on_application_withdrawn, ev))
    routes.on(RevocationRecommended)(partial(on_revocation_recommended, ev))
    routes.on(cmd.OpenRound)(partial(on_open_round, ev))
    routes.on(cmd.SubmitScoreSheet)(partial(on_submit_score_sheet, ev))
    routes.on(cmd.CloseRound)(partial(on_close_round, ev))
    routes.on(cmd.RecordDecision)(partial(on_record_decision, ev))
    return routes


# ---------------------------------------------------------------- registry's and inspection's facts


async def on_producer_registered(
    ev: Evaluation, conn: asyncpg.Connection, event: ProducerRegistered, _: Delivery
) -> None:
    await ev.record_producer(conn, event)


async def on_producer_updated(
    ev: Evaluation, conn: asyncpg.Connection, event: ProducerUpdated, _: Delivery
) -> None:
    await ev.record_producer(conn, event)


async def on_product_registered(
    ev: Evaluation, conn: asyncpg.Connection, event: ProductRegistered, _: Delivery
) -> None:
    await ev.record_product(conn, event)


async def on_product_updated(
    ev: Evaluation, conn: asyncpg.Connection, event: ProductUpdated, _: Delivery
) -> None:
    await ev.record_product(conn, event)


async def on_application_submitted(
    ev: Evaluation, conn: asyncpg.Connection, event: ApplicationSubmitted, _: Delivery
) -> None:
    await ev.enter_application(conn, event)


async def on_application_withdrawn(
    ev: Evaluation, conn: asyncpg.Connection, event: ApplicationWithdrawn, _: Delivery
) -> None:
    await ev.withdraw_application(conn, event)


async def on_revocation_recommended(
    ev: Evaluation, conn: asyncpg.Connection, event: RevocationRecommended, _: Delivery
) -> None:
    await ev.record_recommendation(conn, event)


# ---------------------------------------------------------------- commands


async def on_open_round(
    ev: Evaluation, conn: asyncpg.Connection, command: cmd.OpenRound, delivery: Delivery
) -> None:
    async def run() -> bool:
        level = domain.Level(command.level.value)
        opened = await ev.open_round(conn, command.year, level, command.name, command.round_id)
        return opened.created

    await _answer(conn, delivery, command, run)


async def on_submit_score_sheet(
    ev: Evaluation, conn: asyncpg.Connection, command: cmd.SubmitScoreSheet, delivery: Delivery
) -> None:
    async def run() -> bool:
        points = {k: Decimal(str(v)) for k, v in command.points.items()}
        await ev.submit_sheet(
            conn, command.round_id, command.application_id, command.member_id, points
        )
        return True

    await _answer(conn, delivery, command, run)


async def on_close_round(
    ev: Evaluation, conn: asyncpg.Connection, command: cmd.CloseRound, delivery: Delivery
) -> None:
    async def run() -> bool:
        _, closed = await ev.close_round(
            conn, command.round_id, command.override_reason, idempotent=True
        )
        return closed

    await _answer(conn, delivery, command, run)


async def on_record_decision(
    ev: Evaluation, conn: asyncpg.Connection, command: cmd.RecordDecision, delivery: Delivery
) -> None:
    async def run() -> bool:
        _, recorded = await ev.decide(
            conn, command.round_id, command.decision_number, command.decision_date, idempotent=True
        )
        return recorded

    await _answer(conn, delivery, command, run)
