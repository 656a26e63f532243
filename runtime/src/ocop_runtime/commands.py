"""Commands from other agencies' systems over Kafka: run, audit, and answer on the replies
topic under the command's key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from ocop_contracts import Event
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase, Problem
from ocop_runtime import audit
from ocop_runtime.audit import Actor
from ocop_runtime.consumer import Delivery
from ocop_runtime.outbox import stage_event

Refusal = Callable[[Exception], tuple[str, str] | None]  # -> (field, reason) or not a refusal


async def answer(
    conn: asyncpg.Connection,
    delivery: Delivery,
    command: Event,
    run: Callable[[], Awaitable[bool]],
    *,
    service: str,
    accepted: type[CommandAcceptedBase],
    rejected: type[CommandRejectedBase],
    refusal: Refusal,
) -> None:
    """Run ``command`` in a savepoint. A refusal rolls its effects back and is answered with
    ``rejected`` (the field and the reason); success with ``accepted`` (``duplicate`` when
    ``run`` says it had nothing to do). Both are audited; anything else propagates (retried)."""
    common = {
        "command_id": delivery.envelope.id,
        "command_type": delivery.envelope.type,
        "command_key": command.key(),
    }
    now = datetime.now(UTC)
    actor = Actor.kafka(delivery.envelope.source)
    try:
        async with conn.transaction():
            created = await run()
    except Exception as exc:
        refused = refusal(exc)
        if refused is None:
            raise
        field, reason = refused
        await audit.record(
            conn,
            actor,
            command.EVENT_NAME,
            aggregate_id=command.key(),
            outcome="refused",
            detail=f"{field}: {reason}",
        )
        problem = Problem(field=field, reason=reason)
        await stage_event(
            conn, rejected(**common, errors=[problem], rejected_at=now), service=service
        )
        return
    await audit.record(
        conn,
        actor,
        command.EVENT_NAME,
        aggregate_id=command.key(),
        outcome="created" if created else "repeat",
    )
    await stage_event(
        conn, accepted(**common, duplicate=not created, accepted_at=now), service=service
    )
