"""Commands from other agencies' systems over Kafka: run, audit, and answer on the replies
topic under the command's key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from ocop_contracts import Event
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase, Problem
from ocop_runtime import audit
from ocop_runtime.audit import Actor
from ocop_runtime.consumer import Delivery
from ocop_runtime.outbox import stage_event
from ocop_runtime.refusals import Refusal


@dataclass(frozen=True)
class Answerer:
    """How one service answers the commands it takes over Kafka: its name and reply types."""

    service: str
    accepted: type[CommandAcceptedBase]
    rejected: type[CommandRejectedBase]

    async def __call__(
        self,
        conn: asyncpg.Connection,
        delivery: Delivery,
        command: Event,
        run: Callable[[], Awaitable[bool]],
    ) -> None:
        """Run ``command`` in a savepoint. A refusal (:mod:`ocop_runtime.refusals`) rolls its
        effects back and is answered with ``rejected`` (the field and the reason); success with
        ``accepted`` (``duplicate`` when ``run`` says it had nothing to do). Both are audited;
        anything else propagates (retried)."""
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
        except Refusal as refused:
            await audit.record(
                conn,
                actor,
                command.EVENT_NAME,
                aggregate_id=command.key(),
                outcome="refused",
                detail=f"{refused.field}: {refused.reason}",
            )
            problem = Problem(field=refused.field, reason=refused.reason)
            reply: Event = self.rejected(**common, errors=[problem], rejected_at=now)
            await stage_event(conn, reply, service=self.service)
            return
        await audit.record(
            conn,
            actor,
            command.EVENT_NAME,
            aggregate_id=command.key(),
            outcome="created" if created else "repeat",
        )
        reply = self.accepted(**common, duplicate=not created, accepted_at=now)
        await stage_event(conn, reply, service=self.service)
