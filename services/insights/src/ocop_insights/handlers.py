"""The routing table: each public event type to the set-based write of its facts.

Handlers receive runs of consecutive events of one type (``ocop_runtime.batching``) and write
them in one statement; they read the contract events and hand facts to the store. No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from ocop_contracts import topics
from ocop_contracts.events import evaluation as ev
from ocop_contracts.events import registry as reg
from ocop_insights import activity
from ocop_insights.domain.facts import (
    ApplicationFact,
    CertificateEnd,
    CertificateFact,
    NominationFact,
    ProducerFact,
    ProductFact,
    ResultFact,
    local_date,
)
from ocop_insights.store import facts
from ocop_runtime.batching import BatchHandler, BatchRoutes, Item


def _events(items: Sequence[Item]) -> list[Any]:
    return [i.event for i in items]


async def on_producers(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    rows = []
    for e in _events(items):
        first = isinstance(e, reg.ProducerRegistered)
        rows.append(
            ProducerFact(
                e.producer_id,
                1 if first else e.version,
                e.legal_form.value,
                e.commune_code,
                e.district_code,
                local_date(e.registered_at) if first else None,
            )
        )
    await facts.upsert_producers(conn, rows)


async def on_producer_deregistered(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.deregister_producers(
        conn, [(e.producer_id, local_date(e.deregistered_at)) for e in _events(items)]
    )


async def on_products(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    rows = []
    for e in _events(items):
        first = isinstance(e, reg.ProductRegistered)
        rows.append(
            ProductFact(
                product_id=e.product_id,
                version=1 if first else e.version,
                since=e.registered_on if first else local_date(e.updated_at),
                producer_id=e.producer_id,
                legal_form=e.producer_legal_form.value,
                classification=e.classification,
                product_set=e.product_set,
                sector=e.sector,
                statistics_sector=e.statistics_sector,
                commune_code=e.commune_code,
                district_code=e.district_code,
                registered_on=e.registered_on,
            )
        )
    await facts.upsert_products(conn, rows)


async def on_product_deregistered(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.deregister_products(
        conn, [(e.product_id, local_date(e.deregistered_at)) for e in _events(items)]
    )


async def on_application_submitted(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.upsert_applications(
        conn,
        [
            ApplicationFact(
                e.application_id,
                e.product_id,
                e.kind.value,
                e.round_year,
                e.statistics_sector,
                local_date(e.submitted_at),
            )
            for e in _events(items)
        ],
    )


async def on_application_withdrawn(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.withdraw_applications(
        conn,
        [(e.application_id, e.product_id, local_date(e.withdrawn_at)) for e in _events(items)],
    )


async def on_product_scored(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.upsert_results(
        conn,
        [
            ResultFact(
                e.application_id,
                e.level.value,
                e.product_id,
                e.outcome,
                e.outcome_star if e.outcome_star is not None else e.star,
                local_date(e.scored_at),
            )
            for e in _events(items)
        ],
    )


async def on_product_not_recognised(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.upsert_results(
        conn,
        [
            ResultFact(
                e.application_id,
                "none",
                e.product_id,
                "not_recognised",
                None,
                local_date(e.decided_at),
            )
            for e in _events(items)
        ],
    )


async def on_product_nominated(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.insert_nominations(
        conn,
        [
            NominationFact(e.application_id, e.product_id, local_date(e.nominated_at))
            for e in _events(items)
            if e.to_level == ev.Level.CENTRAL
        ],
    )


def _certificates(kind: str) -> BatchHandler:
    async def on_certificate(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
        await facts.insert_certificates(
            conn,
            [
                CertificateFact(
                    certificate_id=e.certificate_id,
                    product_id=e.product_id,
                    kind=kind,
                    star=e.star,
                    level=e.level.value,
                    decision_date=e.decision_date,
                    valid_from=e.valid_from,
                    valid_until=e.valid_until,
                    replaces=getattr(e, "replaces_certificate_id", None),
                    application_id=e.application_id,
                )
                for e in _events(items)
            ],
        )

    return on_certificate


async def on_certificate_expired(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.end_certificates(
        conn, [CertificateEnd(e.certificate_id, "expired", e.expired_on) for e in _events(items)]
    )


async def on_certificate_revoked(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await facts.end_certificates(
        conn, [CertificateEnd(e.certificate_id, "revoked", e.revoked_on) for e in _events(items)]
    )


def build_routes(
    *,
    max_records: int = 2000,
    timeout_ms: int = 500,
    after_commit: Callable[[], None] | None = None,
) -> BatchRoutes:
    routes = BatchRoutes(max_records=max_records, timeout_ms=timeout_ms, after_commit=after_commit)
    routes.on(reg.ProducerRegistered)(on_producers)
    routes.on(reg.ProducerUpdated)(on_producers)
    routes.on(reg.ProducerDeregistered)(on_producer_deregistered)
    routes.on(reg.ProductRegistered)(on_products)
    routes.on(reg.ProductUpdated)(on_products)
    routes.on(reg.ProductDeregistered)(on_product_deregistered)
    routes.on(reg.ApplicationSubmitted)(on_application_submitted)
    routes.on(reg.ApplicationWithdrawn)(on_application_withdrawn)
    routes.on(ev.ProductScored)(on_product_scored)
    routes.on(ev.ProductNotRecognised)(on_product_not_recognised)
    routes.on(ev.ProductNominated)(on_product_nominated)
    routes.on(ev.ProductCertified)(_certificates("certified"))
    routes.on(ev.CertificateReevaluated)(_certificates("reevaluated"))
    routes.on(ev.CertificateUpgraded)(_certificates("upgraded"))
    routes.on(ev.CertificateExpired)(on_certificate_expired)
    routes.on(ev.CertificateRevoked)(on_certificate_revoked)
    activity.register(routes)  # trade promotion and inspection
    routes.listen(*topics.SUBSCRIPTIONS["insights"])
    return routes
