"""Registry's producers and products as evaluation keeps them: what scoring and the conflict
of interest checks need, newest version wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ProducerCopy:
    producer_id: UUID
    legal_form: str
    name: str | None  # None for a household business, whose name is a person's
    commune_code: str
    version: int
    registered_at: datetime
    updated_at: datetime
    registration_number: str | None = None  # None for a household business


@dataclass(frozen=True, slots=True)
class ProductCopy:
    product_id: UUID
    producer_id: UUID
    name: str
    public_code: str
    classification: str
    product_set: str
    commune_code: str
    district_code: str | None
    version: int
