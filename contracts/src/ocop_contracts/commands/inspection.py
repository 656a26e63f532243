"""Commands the inspection service accepts on ``ocop.inspection.commands.v1`` (from the
field teams' systems); answered on ``ocop.inspection.replies.v1`` under the command's key.

The sender chooses the ids (visit, findings), so a resent command records nothing twice."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ocop_contracts.base import Event
from ocop_contracts.events.inspection import (
    FindingCategory,
    FindingOutcome,
    LabSample,
    Severity,
)
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase
from ocop_contracts.topics import commands, replies

INSPECTION_COMMANDS = commands("inspection")
INSPECTION_REPLIES = replies("inspection")


class FindingInput(BaseModel):
    """One checklist item of a visit, as the inspectors write it down."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    finding_id: UUID
    product_id: UUID
    category: FindingCategory
    severity: Severity
    criterion: str | None = Field(default=None, max_length=200)
    evidence: list[str] = Field(default_factory=list, max_length=50)
    lab_sample: LabSample | None = None
    outcome: FindingOutcome
    remediation_deadline: date | None = Field(
        default=None, description="Required when the outcome is remediation; after the visit."
    )
    note: str | None = Field(default=None, max_length=4000)


class RecordVisit(
    Event, service="inspection", topic=INSPECTION_COMMANDS, name="RecordVisit", key="visit_id"
):
    """A visit to a producer on a date with the products checked (and its minutes)."""

    visit_id: UUID
    campaign_id: UUID | None = None
    producer_id: UUID
    visited_on: date
    product_ids: list[UUID] = Field(min_length=1, max_length=500)
    minutes: str | None = Field(default=None, max_length=20000)
    reason_outside_sample: str | None = Field(
        default=None,
        max_length=1000,
        description="Required when the producer is not in the campaign's sample.",
    )


class RecordFindings(
    Event,
    service="inspection",
    topic=INSPECTION_COMMANDS,
    name="RecordFindings",
    key="visit_id",
):
    """The findings of a visit (each with the id the sender chose)."""

    visit_id: UUID
    findings: list[FindingInput] = Field(min_length=1, max_length=500)


class InspectionCommandRejected(
    CommandRejectedBase,
    service="inspection",
    topic=INSPECTION_REPLIES,
    name="CommandRejected",
    key="command_key",
):
    pass


class InspectionCommandAccepted(
    CommandAcceptedBase,
    service="inspection",
    topic=INSPECTION_REPLIES,
    name="CommandAccepted",
    key="command_key",
):
    pass
