"""Events published by the inspection service (so far: what evaluation consumes)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from ocop_contracts.base import Event
from ocop_contracts.topics import INSPECTION_FINDINGS


class RevocationRecommended(
    Event,
    service="inspection",
    topic=INSPECTION_FINDINGS,
    name="RevocationRecommended",
    key="product_id",
):
    """An inspection found grounds to revoke a product's certificate and asks the issuing
    committee to decide."""

    recommendation_id: UUID
    product_id: UUID
    certificate_id: UUID | None = None
    grounds: list[str] = Field(min_length=1, description="Revocation grounds (evaluation's list).")
    findings: list[str] = Field(default_factory=list, description="What was found, in words.")
    recommended_at: datetime
