"""Commands the evaluation service accepts on ``ocop.evaluation.commands.v1``; answered on
``ocop.evaluation.replies.v1`` under the command's key."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from ocop_contracts.base import Event
from ocop_contracts.events.evaluation import Level
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase
from ocop_contracts.topics import commands, replies

EVALUATION_COMMANDS = commands("evaluation")
EVALUATION_REPLIES = replies("evaluation")


class OpenRound(
    Event, service="evaluation", topic=EVALUATION_COMMANDS, name="OpenRound", key="round_id"
):
    """Open a round; the sender chooses its id, so a resent command opens nothing twice."""

    round_id: UUID
    year: int = Field(ge=2019, le=2100)
    level: Level
    name: str


class SubmitScoreSheet(
    Event,
    service="evaluation",
    topic=EVALUATION_COMMANDS,
    name="SubmitScoreSheet",
    key="round_id",
):
    """A council member's sheet for one product (amends an earlier one until closing)."""

    round_id: UUID
    application_id: UUID
    member_id: str
    points: dict[str, float]


class CloseRound(
    Event, service="evaluation", topic=EVALUATION_COMMANDS, name="CloseRound", key="round_id"
):
    round_id: UUID
    override_reason: str | None = None


class RecordDecision(
    Event, service="evaluation", topic=EVALUATION_COMMANDS, name="RecordDecision", key="round_id"
):
    round_id: UUID
    decision_number: str
    decision_date: date


class EvaluationCommandRejected(
    CommandRejectedBase,
    service="evaluation",
    topic=EVALUATION_REPLIES,
    name="CommandRejected",
    key="command_key",
):
    pass


class EvaluationCommandAccepted(
    CommandAcceptedBase,
    service="evaluation",
    topic=EVALUATION_REPLIES,
    name="CommandAccepted",
    key="command_key",
):
    pass
