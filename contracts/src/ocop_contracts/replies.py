"""Answers to commands, published on ``ocop.<service>.replies.v1`` under the command's key."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ocop_contracts.base import Event


class Problem(BaseModel):
    """One reason a command was refused: the offending field and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str
    reason: str


class CommandRejectedBase(Event):
    """The command was not carried out and nothing was stored; ``errors`` say why."""

    command_id: str = Field(description="The command's ce_id.")
    command_type: str = Field(description="The command's ce_type.")
    command_key: str = Field(description="The command's Kafka key (its aggregate id).")
    errors: list[Problem]
    rejected_at: datetime


class CommandAcceptedBase(Event):
    """The command was carried out (or had already been: a repeat has no second effect)."""

    command_id: str
    command_type: str
    command_key: str
    duplicate: bool = Field(
        default=False, description="True when an identical earlier command had done the work."
    )
    accepted_at: datetime
