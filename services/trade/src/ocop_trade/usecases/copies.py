"""Registry's products and evaluation's certificates, and what a certificate's end or renewal
does to the listings of its product: suspended at once when no certificate is live, restored
when one is live again. Applied in the consumer's transaction with its inbox row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

import asyncpg

from ocop_trade import domain, publishing, store
from ocop_trade.usecases.common import UseCases


class Copies(UseCases):
    async def record_product(self, conn: asyncpg.Connection, product: store.ProductCopy) -> None:
        await store.lock_product(conn, product.product_id)
        await store.upsert_product(conn, product)
        await store.name_listings(conn, product)

    async def product_deregistered(
        self, conn: asyncpg.Connection, product_id: UUID, reason: str, at: datetime
    ) -> int:
        """The product left the registry: its listings end with it. Returns how many."""
        await store.deregister_product(conn, product_id, at)
        now, today = self.now(), self.today()
        listings = await store.ocop_listings_of_products(conn, [product_id], every_basis=True)
        ended = [
            domain.delist(x, max(today, x.listed_on), f"the product left the registry: {reason}")
            for x in listings
        ]
        await store.save_listings(conn, ended, now)
        await self._publish(conn, [publishing.product_delisted(x, now) for x in ended])
        return len(ended)

    async def certificate_issued(
        self,
        conn: asyncpg.Connection,
        certificate: domain.CertificateCopy,
        replaces: UUID | None = None,
    ) -> list[domain.Change]:
        """A new live certificate (first, re-evaluated, upgraded, or any later kind of issue);
        the one it replaces ends the day the new one starts."""
        return await self.certificates_issued(conn, [(certificate, replaces)])

    async def certificates_issued(
        self,
        conn: asyncpg.Connection,
        issued: Sequence[tuple[domain.CertificateCopy, UUID | None]],
    ) -> list[domain.Change]:
        """Many issues at once, in order, in a few statements (a batch of renewals)."""
        products = list(dict.fromkeys(c.product_id for c, _ in issued))
        held = await store.certificates_of(conn, products, for_update=True)
        by_id = {c.certificate_id: c for cs in held.values() for c in cs}
        changed: dict[UUID, domain.CertificateCopy] = {}
        for certificate, replaces in issued:
            if replaces is not None and replaces in by_id:
                by_id[replaces] = by_id[replaces].ended(
                    domain.CertificateState.REPLACED, certificate.valid_from, "replaced"
                )
                changed[replaces] = by_id[replaces]
            by_id[certificate.certificate_id] = changed[certificate.certificate_id] = certificate
        await store.save_certificates(conn, list(changed.values()))
        return await self._follow(conn, _by_product(products, by_id.values()), {})

    async def certificate_ended(
        self,
        conn: asyncpg.Connection,
        product_id: UUID,
        certificate_id: UUID,
        state: domain.CertificateState,
        on: date,
        detail: str | None = None,
    ) -> list[domain.Change]:
        """The certificate stopped being live from ``on`` (expired, revoked, or another end);
        the product's OCOP listings are suspended unless another certificate is live. An end of
        a certificate trade never saw is still followed: the product holds nothing live."""
        return await self.certificates_ended(
            conn, [End(product_id, certificate_id, state, on, detail)]
        )

    async def certificates_ended(
        self, conn: asyncpg.Connection, ends: Sequence[End]
    ) -> list[domain.Change]:
        """Many ends at once, in order, in a few statements (a batch of expiries)."""
        products = list(dict.fromkeys(e.product_id for e in ends))
        held = await store.certificates_of(conn, products, for_update=True)
        by_id = {c.certificate_id: c for cs in held.values() for c in cs}
        changed: dict[UUID, domain.CertificateCopy] = {}
        for e in ends:
            if e.certificate_id in by_id:
                by_id[e.certificate_id] = by_id[e.certificate_id].ended(e.state, e.on, e.detail)
                changed[e.certificate_id] = by_id[e.certificate_id]
        await store.save_certificates(conn, list(changed.values()))
        context = {e.product_id: (e.on, e.detail) for e in ends}
        return await self._follow(conn, _by_product(products, by_id.values()), context)

    async def certificate_reinstated(
        self, conn: asyncpg.Connection, product_id: UUID, certificate_id: UUID
    ) -> list[domain.Change]:
        """An ended certificate is live again (a revocation set aside): suspended listings of
        its product come back."""
        held = await store.certificates_of(conn, [product_id], for_update=True)
        certificates = [
            replace(c, state=domain.CertificateState.LIVE, ended_on=None, end_reason=None)
            if c.certificate_id == certificate_id
            else c
            for c in held[product_id]
        ]
        await store.save_certificates(
            conn, [c for c in certificates if c.certificate_id == certificate_id]
        )
        return await self._follow(conn, {product_id: certificates}, {})

    async def _follow(
        self,
        conn: asyncpg.Connection,
        certificates: dict[UUID, list[domain.CertificateCopy]],
        context: dict[UUID, tuple[date, str | None]],
    ) -> list[domain.Change]:
        """Every OCOP listing of these products after their certificates changed, in one
        read and one write; ``context``: the day each product's change took effect and what
        to tell the outlet (default: today, nothing)."""
        listings = await store.ocop_listings_of_products(conn, list(certificates))
        now, today = self.now(), self.today()
        changes = []
        for x in listings:
            if x.product_id is None:
                continue
            on, detail = context.get(x.product_id, (today, None))
            change = domain.follow_certificates(
                x, certificates[x.product_id], max(on, x.listed_on), detail
            )
            if change is not None:
                changes.append(change)
        await store.save_listings(conn, [c.listing for c in changes], now)
        await self._publish(conn, [publishing.listing_changed(c, now) for c in changes])
        return changes


@dataclass(frozen=True)
class End:
    """A certificate that stopped being live from ``on``."""

    product_id: UUID
    certificate_id: UUID
    state: domain.CertificateState
    on: date
    detail: str | None = None


def _by_product(
    products: Sequence[UUID], certificates: Iterable[domain.CertificateCopy]
) -> dict[UUID, list[domain.CertificateCopy]]:
    out: dict[UUID, list[domain.CertificateCopy]] = {p: [] for p in products}
    for c in certificates:
        out.setdefault(c.product_id, []).append(c)
    return out
