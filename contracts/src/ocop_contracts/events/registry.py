"""Events published by the registry service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from ocop_contracts.base import Event
from ocop_contracts.topics import REGISTRY_PRODUCERS


class LegalForm(StrEnum):
    """The four legal forms of an OCOP producer (*chủ thể*)."""

    ENTERPRISE = "enterprise"  # doanh nghiệp
    COOPERATIVE = "cooperative"  # hợp tác xã
    COOPERATIVE_GROUP = "cooperative_group"  # tổ hợp tác
    HOUSEHOLD_BUSINESS = "household_business"  # hộ sản xuất/kinh doanh


class ProducerRegistered(
    Event,
    service="registry",
    topic=REGISTRY_PRODUCERS,
    name="ProducerRegistered",
    key="producer_id",
):
    """A producer (*chủ thể*) was entered in the registry."""

    producer_id: UUID
    legal_form: LegalForm
    name: str | None = Field(
        default=None,
        description="Trading name; omitted for household businesses, whose name is a person's.",
    )
    commune_code: str = Field(description="Code of the commune/ward of the producer's address.")
    registered_at: datetime


class ProducerUpdated(
    Event,
    service="registry",
    topic=REGISTRY_PRODUCERS,
    name="ProducerUpdated",
    key="producer_id",
):
    """A producer's registered details changed; carries the full new state and its version."""

    producer_id: UUID
    version: int = Field(ge=2, description="Increases by one with every change of this producer.")
    legal_form: LegalForm
    name: str | None = Field(
        default=None,
        description="Trading name; omitted for household businesses, whose name is a person's.",
    )
    commune_code: str
    updated_at: datetime
