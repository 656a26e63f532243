"""Commands the registry accepts on ``ocop.registry.commands.v1``.

The sender chooses the aggregate id (the Kafka key), so sending a command again, after a
timeout say, has no second effect; the registry answers on ``ocop.registry.replies.v1``.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ocop_contracts.base import Event
from ocop_contracts.events.registry import ApplicationKind, EvidenceFile, LegalForm
from ocop_contracts.replies import CommandAcceptedBase, CommandRejectedBase
from ocop_contracts.topics import commands, replies

REGISTRY_COMMANDS = commands("registry")
REGISTRY_REPLIES = replies("registry")


class Person(BaseModel):
    """A contact person or a household business's representative (personal data: the command
    topic is not public and the registry never republishes these fields)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    full_name: str
    role: str = "representative"
    phone: str | None = None
    email: str | None = None
    national_id: str | None = None
    home_address: str | None = None


class RegisterProducer(
    Event, service="registry", topic=REGISTRY_COMMANDS, name="RegisterProducer", key="producer_id"
):
    producer_id: UUID
    name: str
    legal_form: LegalForm
    registration_number: str | None = None
    commune_code: str
    address: str | None = None
    contacts: list[Person] = Field(default_factory=list)


class RegisterProduct(
    Event, service="registry", topic=REGISTRY_COMMANDS, name="RegisterProduct", key="product_id"
):
    product_id: UUID
    producer_id: UUID
    name: str
    product_set: str = Field(description="Product set code under the classification in force.")
    commune_code: str = Field(description="Commune/ward of production.")
    registered_on: date | None = Field(
        default=None, description="Registration date (default: today); selects the scheme."
    )


class SubmitApplication(
    Event,
    service="registry",
    topic=REGISTRY_COMMANDS,
    name="SubmitApplication",
    key="application_id",
):
    application_id: UUID
    product_id: UUID
    kind: ApplicationKind
    round_year: int | None = Field(default=None, description="Default: the submission year.")
    self_assessment_score: float = Field(ge=0, le=100)
    documents: list[EvidenceFile]


class RegistryCommandRejected(
    CommandRejectedBase,
    service="registry",
    topic=REGISTRY_REPLIES,
    name="CommandRejected",
    key="command_key",
):
    pass


class RegistryCommandAccepted(
    CommandAcceptedBase,
    service="registry",
    topic=REGISTRY_REPLIES,
    name="CommandAccepted",
    key="command_key",
):
    pass
