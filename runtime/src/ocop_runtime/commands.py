"""Commands from other agencies' systems over Kafka: authenticate, authorise, run, audit, and
answer on the replies topic under the command's key.

A command's sender is proven, not declared: beside the CloudEvent it carries the header
``authorization: Bearer <access token>``, an access token from the identity provider (OIDC client
credentials for a machine client; ``ocop token`` for the local issuer). The service verifies it
with the same :class:`~ocop_runtime.auth.TokenVerifier` as its HTTP requests, admits the roles
the service declares for that command type (the HTTP route doing the same thing admits the same
roles), and runs the use case with the verified principal: its unit scope, its subject. Neither
``ce_source`` nor any field of the command says who the sender is. A command without a valid
token is answered ``CommandRejected`` (``authorization``: ``unauthenticated: ...``), one from a
role that may not send it likewise (``forbidden: ...``); neither has any effect, both are audited.

Where the answer goes follows the verified token too: a token whose ``ocop_agency`` claim names
an agency (its machine client) is answered on that agency's own replies topic
(:func:`~ocop_contracts.topics.agency_replies`), which only it may read; every other sender (the
city office, a token that did not verify) on the shared :func:`~ocop_contracts.topics.replies`,
which no agency reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import asyncpg

from ocop_contracts import Event, topics
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase, Problem
from ocop_runtime import audit
from ocop_runtime.audit import Actor
from ocop_runtime.auth import (
    AuthError,
    KeysUnavailable,
    Principal,
    Role,
    TokenVerifier,
    acting,
    bearer_token,
)
from ocop_runtime.consumer import Delivery
from ocop_runtime.outbox import stage_event
from ocop_runtime.refusals import Forbidden, Refusal, Unauthenticated

AUTHORIZATION = "authorization"
UNAUTHENTICATED_SUBJECT = "(unauthenticated)"

CommandRoles = Mapping[type[Event], frozenset[Role]]


class IdentityProviderUnavailable(ConnectionError):
    """The issuer's keys cannot be fetched: the command is redelivered, not refused (it may
    well be valid; the consumer retries it once the identity provider answers)."""


class _Refused(Exception):
    def __init__(self, refusal: Refusal, who: Principal | None) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal
        self.who = who


def authorization_header(token: str) -> tuple[str, bytes]:
    """The record header a sender adds beside the CloudEvent headers."""
    return AUTHORIZATION, f"Bearer {token}".encode()


@dataclass(frozen=True)
class Answerer:
    """How one service answers the commands it takes over Kafka: its name, reply types, which
    roles may send each command type, and the verifier of the senders' tokens."""

    service: str
    accepted: type[CommandAcceptedBase]
    rejected: type[CommandRejectedBase]
    roles: CommandRoles = field(default_factory=dict)
    verifier: TokenVerifier | None = None

    def verified_by(self, verifier: TokenVerifier | None) -> Answerer:
        return replace(self, verifier=verifier)

    async def sender(self, delivery: Delivery, command: Event) -> Principal:
        """The verified sender of ``command``, acting with the roles its type admits."""
        raw = delivery.header(AUTHORIZATION) or delivery.header("Authorization")
        token = bearer_token(raw)
        if token is None:
            raise _Refused(
                Unauthenticated(
                    AUTHORIZATION,
                    "unauthenticated: send the header `authorization: Bearer <access token>` "
                    "beside the CloudEvent",
                ),
                None,
            )
        if self.verifier is None:
            raise _Refused(
                Unauthenticated(AUTHORIZATION, "unauthenticated: this service checks no tokens"),
                None,
            )
        try:
            principal = await self.verifier.verify(token)
        except KeysUnavailable as exc:
            raise IdentityProviderUnavailable(str(exc)) from exc
        except AuthError as exc:
            raise _Refused(Unauthenticated(AUTHORIZATION, f"unauthenticated: {exc}"), None) from exc
        allowed = self.roles.get(type(command), frozenset())
        if not principal.roles & allowed:
            needed = ", ".join(sorted(allowed)) or "none (not accepted over Kafka)"
            raise _Refused(
                Forbidden(
                    AUTHORIZATION,
                    f"forbidden: {command.EVENT_NAME} needs one of the roles {needed}",
                ),
                principal,
            )
        return acting(principal, allowed)

    async def __call__(
        self,
        conn: asyncpg.Connection,
        delivery: Delivery,
        command: Event,
        run: Callable[[Principal], Awaitable[bool]],
    ) -> None:
        """Authenticate the sender, then run ``command`` as it in a savepoint. A refusal
        (:mod:`ocop_runtime.refusals`, or no valid identity) rolls its effects back and is
        answered with ``rejected`` (the field and the reason); success with ``accepted``
        (``duplicate`` when ``run`` says it had nothing to do). Both are audited with the
        verified principal; anything else propagates (retried)."""
        common = {
            "command_id": delivery.envelope.id,
            "command_type": delivery.envelope.type,
            "command_key": command.key(),
        }
        now = datetime.now(UTC)
        source = delivery.envelope.source
        try:
            who = await self.sender(delivery, command)
        except _Refused as refused:
            actor = (
                Actor.kafka(refused.who, source)
                if refused.who is not None
                else Actor(subject=UNAUTHENTICATED_SUBJECT, origin=source, channel="kafka")
            )
            await self._reject(conn, actor, command, refused.refusal, common, now, refused.who)
            return
        actor = Actor.kafka(who, source)
        try:
            async with conn.transaction():
                created = await run(who)
        except Refusal as refusal:
            await self._reject(conn, actor, command, refusal, common, now, who)
            return
        await audit.record(
            conn,
            actor,
            command.EVENT_NAME,
            aggregate_id=command.key(),
            outcome="created" if created else "repeat",
        )
        reply = self.accepted(**common, duplicate=not created, accepted_at=now)
        await stage_event(conn, reply, service=self.service, topic=self.reply_topic(who))

    def reply_topic(self, who: Principal | None) -> str:
        """The agency's own replies topic for its machine client; the shared one otherwise
        (the city office, the services' own senders, a sender whose token did not verify)."""
        if who is not None and who.agency:
            return topics.agency_replies(self.service, who.agency)
        return topics.replies(self.service)

    async def _reject(
        self,
        conn: asyncpg.Connection,
        actor: Actor,
        command: Event,
        refusal: Refusal,
        common: dict[str, str],
        now: datetime,
        who: Principal | None,
    ) -> None:
        await audit.record(
            conn,
            actor,
            command.EVENT_NAME,
            aggregate_id=command.key(),
            outcome="refused",
            detail=f"{refusal.field}: {refusal.reason}",
        )
        problem = Problem(field=refusal.field, reason=refusal.reason)
        reply: Event = self.rejected(**common, errors=[problem], rejected_at=now)
        await stage_event(conn, reply, service=self.service, topic=self.reply_topic(who))
