"""Events published by the registry service."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ocop_contracts.base import Event
from ocop_contracts.topics import REGISTRY_APPLICATIONS, REGISTRY_PRODUCERS, REGISTRY_PRODUCTS


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
    district_code: str | None = Field(
        default=None,
        description="Pre-2025 district of the address, when the commune was valid before 1 Jul 2025.",
    )
    registration_number: str | None = Field(
        default=None,
        description="Tax or business registration number; omitted for household businesses.",
    )


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
    district_code: str | None = None
    registration_number: str | None = Field(
        default=None,
        description="Tax or business registration number; omitted for household businesses.",
    )


class ProducerDeregistered(
    Event,
    service="registry",
    topic=REGISTRY_PRODUCERS,
    name="ProducerDeregistered",
    key="producer_id",
):
    """A producer left the programme's registry (its products were deregistered first)."""

    producer_id: UUID
    reason: str
    deregistered_at: datetime


class _ProductState(Event):
    """What a consumer needs to know about a product without calling the registry back."""

    product_id: UUID
    producer_id: UUID
    producer_legal_form: LegalForm
    producer_name: str | None = Field(
        default=None, description="Omitted for household businesses, whose name is a person's."
    )
    name: str
    public_code: str = Field(
        description="Stable public code, province-commune-sequence-year (e.g. 01-00004-0007-2025)."
    )
    lookup_url: str = Field(description="Public lookup page the QR code on the label opens.")
    classification: str = Field(
        description='Classification scheme of the product set: "148" (148/QĐ-TTg, from 24 Feb 2023)'
        ' or "1048" (1048/QĐ-TTg, products registered before).'
    )
    product_set: str = Field(description="Product set code under that scheme.")
    sector: str = Field(description="Sector of the set under that scheme.")
    statistics_sector: str = Field(
        description="Sector under 148/2023 used for statistics (1048 sets are mapped)."
    )
    commune_code: str = Field(description="Commune/ward of production, valid on registration.")
    district_code: str | None = Field(
        default=None, description="Pre-2025 district of that commune, when there was one."
    )
    registered_on: date


class ProductRegistered(
    _ProductState,
    service="registry",
    topic=REGISTRY_PRODUCTS,
    name="ProductRegistered",
    key="product_id",
):
    """A product was entered in the registry under its producer."""

    registered_at: datetime


class ProductUpdated(
    _ProductState,
    service="registry",
    topic=REGISTRY_PRODUCTS,
    name="ProductUpdated",
    key="product_id",
):
    """A product's registered details changed; carries the full new state and its version."""

    version: int = Field(ge=2)
    updated_at: datetime


class ProductDeregistered(
    Event,
    service="registry",
    topic=REGISTRY_PRODUCTS,
    name="ProductDeregistered",
    key="product_id",
):
    """A product left the registry. Refused while it holds a live certificate."""

    product_id: UUID
    producer_id: UUID
    public_code: str
    reason: str
    deregistered_at: datetime


class ApplicationKind(StrEnum):
    FIRST_TIME = "first_time"  # đánh giá lần đầu
    RE_EVALUATION = "re_evaluation"  # đánh giá lại
    UPGRADE = "upgrade"  # nâng hạng


class EvidenceFile(BaseModel):
    """A dossier document by reference: the file itself stays in document storage."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    document_type: str
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    storage_url: str


class ApplicationSubmitted(
    Event,
    service="registry",
    topic=REGISTRY_APPLICATIONS,
    name="ApplicationSubmitted",
    key="application_id",
):
    """A complete dossier was filed for an evaluation round."""

    application_id: UUID
    product_id: UUID
    producer_id: UUID
    producer_legal_form: LegalForm
    producer_name: str | None = Field(
        default=None, description="Omitted for household businesses, whose name is a person's."
    )
    product_name: str
    public_code: str
    kind: ApplicationKind
    regime: str = Field(
        description='Regime in force on the submission date: "1048", "148" or "1489".'
    )
    classification: str
    product_set: str
    sector: str
    statistics_sector: str
    commune_code: str = Field(description="Commune of production, valid on the submission date.")
    district_code: str | None = None
    round_year: int
    self_assessment_score: float = Field(ge=0, le=100)
    documents: list[EvidenceFile]
    submitted_at: datetime


class ApplicationWithdrawn(
    Event,
    service="registry",
    topic=REGISTRY_APPLICATIONS,
    name="ApplicationWithdrawn",
    key="application_id",
):
    """The producer withdrew a submitted application before evaluation decided on it."""

    application_id: UUID
    product_id: UUID
    reason: str
    withdrawn_at: datetime


class CommuneAssessed(
    Event,
    service="registry",
    topic=REGISTRY_APPLICATIONS,
    name="CommuneAssessed",
    key="application_id",
):
    """Under 1489/QĐ-TTg the commune pre-assessed a submitted dossier: its points on the
    local-content criteria, its report (by hash; the file is in the dossier) and its request to
    the city to evaluate the product, or, without a request, the dossier returned to the
    producer with the commune's reasons."""

    application_id: UUID
    product_id: UUID
    request_to_city: bool
    local_points: dict[str, float] = Field(
        description="Points per local-content criterion: A1.1 raw materials, A1.2 local labour, "
        "A2.1 origin of the idea, B2.3 local identity."
    )
    report_sha256: str
    reasons: list[str] = Field(default_factory=list)
    assessed_at: datetime
