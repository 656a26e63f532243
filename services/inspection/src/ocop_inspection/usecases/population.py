"""The certified population: registry's producers and products and evaluation's certificates,
kept as local copies from their events; complaints recorded by hand."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import asyncpg

from ocop_contracts.events import evaluation as evaluation_events
from ocop_contracts.events import registry as registry_events
from ocop_inspection import domain, store
from ocop_inspection.usecases.common import UseCases
from ocop_runtime.refusals import NotFound, RuleViolation

Issued = (
    evaluation_events.ProductCertified
    | evaluation_events.CertificateReevaluated
    | evaluation_events.CertificateUpgraded
)


class Population(UseCases):
    async def record_producer(
        self,
        conn: asyncpg.Connection,
        event: registry_events.ProducerRegistered | registry_events.ProducerUpdated,
    ) -> None:
        version = event.version if isinstance(event, registry_events.ProducerUpdated) else 1
        await store.upsert_producer(
            conn,
            store.ProducerCopy(
                producer_id=event.producer_id,
                legal_form=event.legal_form.value,
                name=event.name,
                commune_code=event.commune_code,
                district_code=event.district_code,
                version=version,
            ),
        )

    async def record_product(
        self,
        conn: asyncpg.Connection,
        event: registry_events.ProductRegistered | registry_events.ProductUpdated,
    ) -> None:
        version = event.version if isinstance(event, registry_events.ProductUpdated) else 1
        await store.upsert_product(
            conn,
            store.ProductCopy(
                product_id=event.product_id,
                producer_id=event.producer_id,
                name=event.name,
                public_code=event.public_code,
                product_set=event.product_set,
                commune_code=event.commune_code,
                district_code=event.district_code,
                version=version,
            ),
        )

    async def record_deregistration(
        self,
        conn: asyncpg.Connection,
        event: registry_events.ProducerDeregistered | registry_events.ProductDeregistered,
    ) -> None:
        if isinstance(event, registry_events.ProductDeregistered):
            await store.deactivate(conn, "products", "product_id", event.product_id)
        else:
            await store.deactivate(conn, "producers", "producer_id", event.producer_id)

    async def record_certificate(self, conn: asyncpg.Connection, event: Issued) -> None:
        if event.valid_until < event.valid_from:
            raise RuleViolation("valid_until", "is before valid_from")
        replaces = getattr(event, "replaces_certificate_id", None)
        await store.insert_certificate(
            conn,
            domain.CertificateCopy(
                certificate_id=event.certificate_id,
                product_id=event.product_id,
                star=event.star,
                decision_date=event.decision_date,
                valid_from=event.valid_from,
                valid_until=event.valid_until,
            ),
            replaces,
        )

    async def record_certificate_ended(
        self,
        conn: asyncpg.Connection,
        event: evaluation_events.CertificateExpired | evaluation_events.CertificateRevoked,
    ) -> None:
        if isinstance(event, evaluation_events.CertificateRevoked):
            await store.end_certificate(conn, event.certificate_id, "revoked", event.revoked_on)
        else:
            # Expired: it held through its last day, whatever day the notice names.
            held = await store.certificates_of(conn, [event.product_id])
            last = next(
                (
                    c.valid_until
                    for c in held[event.product_id]
                    if c.certificate_id == event.certificate_id
                ),
                event.expired_on,
            )
            ended = max(event.expired_on, last + timedelta(days=1))
            await store.end_certificate(conn, event.certificate_id, "expired", ended)

    async def record_complaint(
        self,
        conn: asyncpg.Connection,
        complaint_id: UUID,
        product_id: UUID,
        received_on: date,
        reference: str,
    ) -> bool:
        if await store.get_product(conn, product_id) is None:
            raise NotFound("product_id", f"product {product_id} is not known to inspection")
        if received_on > await self.today(conn):
            raise RuleViolation("received_on", "is in the future")
        return await store.insert_complaint(conn, complaint_id, product_id, received_on, reference)
