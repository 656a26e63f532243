"""Commands the trade service accepts on ``ocop.trade.commands.v1``; answered on
``ocop.trade.replies.v1`` (or the sending agency's own replies topic) under the command's key.

The sender chooses the id of what it creates, so a resent command has no second effect."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from ocop_contracts.base import Event
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase
from ocop_contracts.topics import commands, replies

TRADE_COMMANDS = commands("trade")
TRADE_REPLIES = replies("trade")


class ApplyToPromotion(
    Event, service="trade", topic=TRADE_COMMANDS, name="ApplyToPromotion", key="event_id"
):
    """A producer applies to take part in a promotion event with the products it brings.
    Keyed by the event, so one event's applications are decided in the order they came."""

    participation_id: UUID
    event_id: UUID
    producer_id: UUID
    product_ids: list[UUID] = Field(default_factory=list, max_length=50)
    other_goods: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Goods without an OCOP certificate; only for events admitting other goods.",
    )
    stalls: int = Field(default=1, ge=1, le=1000)


class RecordOutcome(
    Event, service="trade", topic=TRADE_COMMANDS, name="RecordOutcome", key="outcome_id"
):
    """What an event (``event_id``) or a point of sale (``outlet_id``) brought a producer over
    a period; exactly one of the two. Sending the same ``outcome_id`` again with other figures
    corrects them."""

    outcome_id: UUID
    event_id: UUID | None = None
    outlet_id: UUID | None = None
    producer_id: UUID
    product_id: UUID | None = None
    period_start: date
    period_end: date
    sales_vnd: int = Field(default=0, ge=0, le=10**15)
    quantity: int = Field(default=0, ge=0, le=10**12)
    contracts_signed: int = Field(default=0, ge=0, le=10**6)
    contracts_value_vnd: int = Field(default=0, ge=0, le=10**15)
    buyers_met: int = Field(default=0, ge=0, le=10**7)


class TradeCommandRejected(
    CommandRejectedBase,
    service="trade",
    topic=TRADE_REPLIES,
    name="CommandRejected",
    key="command_key",
):
    pass


class TradeCommandAccepted(
    CommandAcceptedBase,
    service="trade",
    topic=TRADE_REPLIES,
    name="CommandAccepted",
    key="command_key",
):
    pass
