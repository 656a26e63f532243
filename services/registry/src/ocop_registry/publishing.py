"""Domain events -> public contracts. The one place where personal data is left out.

A household business's registered name is a person's name, and its registration number
points at one family, so neither leaves this schema; contact persons never do. Free text
(reasons, names of products, producers and files) leaves with phone numbers, national ids and
e-mail addresses masked (:func:`ocop_runtime.personal.mask_personal_data`).
"""

from __future__ import annotations

from ocop_contracts import Event
from ocop_contracts.events import registry as contract
from ocop_registry.domain import applications, commune, producers, products
from ocop_registry.domain.producers import Producer
from ocop_registry.domain.products import Product
from ocop_runtime.personal import mask_personal_data as masked

DomainEvent = (
    producers.DomainEvent
    | products.DomainEvent
    | applications.DomainEvent
    | commune.CommuneAssessed
)


def masked_url(sha256: str) -> str:
    """Where a household's evidence file is, without its name: the document store finds a
    file by its content hash."""
    return f"urn:sha256:{sha256}"


def public_name(producer: Producer) -> str | None:
    return None if producer.is_household else masked(producer.name)


def public_registration(producer: Producer) -> str | None:
    return None if producer.is_household else producer.registration_number


def lookup_url(base_url: str, product: Product) -> str:
    return f"{base_url.rstrip('/')}/public/products/{product.public_code}"


def _product_state(p: Product, producer: Producer, base_url: str) -> dict[str, object]:
    return {
        "product_id": p.id,
        "producer_id": p.producer_id,
        "producer_legal_form": contract.LegalForm(producer.legal_form.value),
        "producer_name": public_name(producer),
        "name": masked(p.name),
        "public_code": p.public_code,
        "lookup_url": lookup_url(base_url, p),
        "classification": p.classification,
        "product_set": p.product_set,
        "sector": p.sector,
        "statistics_sector": p.statistics_sector,
        "commune_code": p.commune_code,
        "district_code": p.district_code,
        "registered_on": p.registered_on,
    }


def to_contract(event: DomainEvent, *, base_url: str) -> Event:
    match event:
        case producers.ProducerRegistered(producer=p):
            return contract.ProducerRegistered(
                producer_id=p.id,
                legal_form=contract.LegalForm(p.legal_form.value),
                name=public_name(p),
                commune_code=p.commune_code,
                district_code=p.district_code,
                registration_number=public_registration(p),
                registered_at=p.registered_at,
            )
        case producers.ProducerUpdated(producer=p):
            return contract.ProducerUpdated(
                producer_id=p.id,
                version=p.version,
                legal_form=contract.LegalForm(p.legal_form.value),
                name=public_name(p),
                commune_code=p.commune_code,
                district_code=p.district_code,
                registration_number=public_registration(p),
                updated_at=p.updated_at,
            )
        case producers.ProducerDeregistered(producer=p):
            return contract.ProducerDeregistered(
                producer_id=p.id,
                reason=masked(p.deregistration_reason or ""),
                deregistered_at=p.deregistered_at or p.updated_at,
            )
        case products.ProductRegistered(product=p, producer=producer):
            return contract.ProductRegistered(
                **_product_state(p, producer, base_url), registered_at=p.registered_at
            )
        case products.ProductUpdated(product=p, producer=producer):
            return contract.ProductUpdated(
                **_product_state(p, producer, base_url),
                version=p.version,
                updated_at=p.updated_at,
            )
        case products.ProductDeregistered(product=p):
            return contract.ProductDeregistered(
                product_id=p.id,
                producer_id=p.producer_id,
                public_code=p.public_code,
                reason=masked(p.deregistration_reason or ""),
                deregistered_at=p.deregistered_at or p.updated_at,
            )
        case applications.ApplicationSubmitted(application=a, product=p, producer=producer):
            assert a.regime is not None and a.submitted_at is not None
            assert a.self_assessment_score is not None
            return contract.ApplicationSubmitted(
                application_id=a.id,
                product_id=p.id,
                producer_id=producer.id,
                producer_legal_form=contract.LegalForm(producer.legal_form.value),
                producer_name=public_name(producer),
                product_name=masked(p.name),
                public_code=p.public_code,
                kind=contract.ApplicationKind(a.kind.value),
                regime=a.regime.value,
                classification=p.classification,
                product_set=p.product_set,
                sector=p.sector,
                statistics_sector=p.statistics_sector,
                commune_code=p.commune_code,
                district_code=p.district_code,
                round_year=a.round_year,
                self_assessment_score=a.self_assessment_score,
                documents=[
                    contract.EvidenceFile(
                        document_type=d.document_type.value,
                        # A household's file names, and the storage URLs that hold them, may
                        # carry a person's name: the file travels by its hash instead.
                        name=d.document_type.value if producer.is_household else masked(d.name),
                        media_type=d.media_type,
                        size_bytes=d.size_bytes,
                        sha256=d.sha256,
                        storage_url=masked_url(d.sha256)
                        if producer.is_household
                        else d.storage_url,
                    )
                    for d in a.documents
                ],
                submitted_at=a.submitted_at,
            )
        case applications.ApplicationWithdrawn(application=a, reason=reason):
            return contract.ApplicationWithdrawn(
                application_id=a.id,
                product_id=a.product_id,
                reason=masked(reason),
                withdrawn_at=a.updated_at,
            )
        case commune.CommuneAssessed(application=a, assessment=c):
            # The report travels by its hash: its name and address may carry a person's name.
            return contract.CommuneAssessed(
                application_id=a.id,
                product_id=a.product_id,
                request_to_city=c.request_to_city,
                local_points=dict(c.local_points),
                report_sha256=c.report.sha256,
                reasons=[masked(r) for r in c.reasons],
                assessed_at=c.assessed_at or a.updated_at,
            )
    raise TypeError(f"no contract for {type(event).__name__}")
