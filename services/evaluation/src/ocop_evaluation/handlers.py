"""Evaluation's routing tables: the events it consumes and the use case each one drives.
Registry's producers and products (plain copies) come through the batched consumer
(:func:`build_batches`), the rest one record at a time (:func:`build_routes`).

Every handler maps one event or command to one use case call; what a repeat or a clash means
is the use case's to say, the same for HTTP and Kafka. Commands are answered on the replies
topic (``CommandAccepted``, ``duplicate`` when a resent command had nothing to do, or
``CommandRejected`` with the field and the reason). A command carries its sender's access token;
``COMMAND_ROLES`` says which roles may send it, as the HTTP route doing the same does, and a
score sheet is the sheet of the token's subject."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import partial

import asyncpg

from ocop_contracts.commands import evaluation as cmd
from ocop_contracts.events import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CommuneAssessed,
    ProducerRegistered,
    ProducerUpdated,
    ProductRegistered,
    ProductUpdated,
    RevocationRecommended,
)
from ocop_evaluation import domain
from ocop_evaluation.usecases import SERVICE, Evaluation
from ocop_runtime import commands
from ocop_runtime.auth import Principal, Role, TokenVerifier
from ocop_runtime.batching import BatchRoutes, Item
from ocop_runtime.consumer import Delivery, EventRoutes
from ocop_runtime.refusals import Forbidden

_OFFICE = frozenset({Role.CITY_OFFICE})
# Who may send each command: the roles of the HTTP route doing the same (docs/SECURITY.md).
COMMAND_ROLES: commands.CommandRoles = {
    cmd.OpenRound: _OFFICE,  # POST /rounds
    cmd.SubmitScoreSheet: frozenset({Role.COUNCIL_MEMBER}),  # PUT /rounds/{id}/sheets/{app}
    cmd.CloseRound: _OFFICE,  # POST /rounds/{id}/closure
    cmd.RecordDecision: _OFFICE,  # POST /rounds/{id}/decision
}
Answer = commands.Answerer


def build_routes(
    evaluation: Evaluation | None = None, verifier: TokenVerifier | None = None
) -> EventRoutes:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    ev = evaluation or Evaluation()
    answer = commands.Answerer(
        service=SERVICE,
        accepted=cmd.EvaluationCommandAccepted,
        rejected=cmd.EvaluationCommandRejected,
        roles=COMMAND_ROLES,
        verifier=verifier,
    )
    routes = EventRoutes()
    routes.on(ApplicationSubmitted)(partial(on_application_submitted, ev))
    routes.on(ApplicationWithdrawn)(partial(on_application_withdrawn, ev))
    routes.on(CommuneAssessed)(partial(on_commune_assessed, ev))
    routes.on(RevocationRecommended)(partial(on_revocation_recommended, ev))
    routes.on(cmd.OpenRound)(partial(on_open_round, ev, answer))
    routes.on(cmd.SubmitScoreSheet)(partial(on_submit_score_sheet, ev, answer))
    routes.on(cmd.CloseRound)(partial(on_close_round, ev, answer))
    routes.on(cmd.RecordDecision)(partial(on_record_decision, ev, answer))
    return routes


# ---------------------------------------------------------------- registry's producers and products


def build_batches(evaluation: Evaluation | None = None) -> BatchRoutes:
    """Registry's producers and products, applied in batches: plain copies, upserted in one
    statement per run of one event type (the newest version of each wins), so a burst of
    registrations costs a few statements per batch instead of a transaction per event. With
    one event at a time a batch holds one record and takes as long as the per-record path."""
    ev = evaluation or Evaluation()
    batches = BatchRoutes(max_records=500)
    batches.on(ProducerRegistered)(partial(on_producers, ev))
    batches.on(ProducerUpdated)(partial(on_producers, ev))
    batches.on(ProductRegistered)(partial(on_products, ev))
    batches.on(ProductUpdated)(partial(on_products, ev))
    return batches


async def on_producers(ev: Evaluation, conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await ev.record_producers(conn, [i.event for i in items])


async def on_products(ev: Evaluation, conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await ev.record_products(conn, [i.event for i in items])


# ---------------------------------------------------------------- registry's and inspection's facts


async def on_application_submitted(
    ev: Evaluation, conn: asyncpg.Connection, event: ApplicationSubmitted, _: Delivery
) -> None:
    await ev.enter_application(conn, event)


async def on_application_withdrawn(
    ev: Evaluation, conn: asyncpg.Connection, event: ApplicationWithdrawn, _: Delivery
) -> None:
    await ev.withdraw_application(conn, event)


async def on_commune_assessed(
    ev: Evaluation, conn: asyncpg.Connection, event: CommuneAssessed, _: Delivery
) -> None:
    await ev.commune_assessed(conn, event)


async def on_revocation_recommended(
    ev: Evaluation, conn: asyncpg.Connection, event: RevocationRecommended, _: Delivery
) -> None:
    await ev.record_recommendation(conn, event)


# ---------------------------------------------------------------- commands


async def on_open_round(
    ev: Evaluation,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.OpenRound,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        level = domain.Level(command.level.value)
        opened = await ev.open_round(conn, command.year, level, command.name, command.round_id)
        return opened.created

    await answer(conn, delivery, command, run)


async def on_submit_score_sheet(
    ev: Evaluation,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.SubmitScoreSheet,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        if command.member_id not in ("", who.subject):
            # The member is whoever the token proves, never a name the sender writes in.
            raise Forbidden(
                "member_id",
                "a sheet is its sender's own: member_id must be empty or the token's subject",
            )
        points = {k: Decimal(str(v)) for k, v in command.points.items()}
        await ev.submit_sheet(conn, command.round_id, command.application_id, who.subject, points)
        return True

    await answer(conn, delivery, command, run)


async def on_close_round(
    ev: Evaluation,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.CloseRound,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        _, closed = await ev.close_round(
            conn, command.round_id, command.override_reason, idempotent=True
        )
        return closed

    await answer(conn, delivery, command, run)


async def on_record_decision(
    ev: Evaluation,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.RecordDecision,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        _, recorded = await ev.decide(
            conn, command.round_id, command.decision_number, command.decision_date, idempotent=True
        )
        return recorded

    await answer(conn, delivery, command, run)
