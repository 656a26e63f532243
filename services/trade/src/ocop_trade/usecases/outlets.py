"""Points of sale and listings: opening and closing outlets, listing goods, delisting, and
restoring a suspended listing by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import UUID

import asyncpg

from ocop_runtime.refusals import Conflict, RuleViolation
from ocop_trade import domain, publishing, store
from ocop_trade.usecases.common import UseCases


class Outlets(UseCases):
    async def open_outlet(
        self, conn: asyncpg.Connection, outlet: domain.Outlet
    ) -> tuple[domain.Outlet, bool]:
        if not outlet.name.strip():
            raise RuleViolation("name", "an outlet needs a name")
        existing = await store.get_outlet(conn, outlet.id, for_update=True)
        if existing is not None:
            if existing == outlet:
                return existing, False
            raise Conflict("id", f"outlet {outlet.id} exists with other details; choose another id")
        if outlet.closed_on is not None:
            raise RuleViolation("closed_on", "an outlet opens before it closes")
        now = self.now()
        await store.save_outlet(conn, outlet, now)
        await self._publish(conn, [publishing.outlet_opened(outlet, now)])
        return outlet, True

    async def change_outlet(
        self, conn: asyncpg.Connection, outlet_id: UUID, changed: domain.Outlet
    ) -> domain.Outlet:
        """New details of an open outlet, published again as ``OutletOpened`` (same id: a
        correction). It cannot open after a good it lists was listed."""
        current = await self._outlet(conn, outlet_id)
        if current.closed_on is not None:
            raise Conflict("outlet_id", f"the outlet closed on {current.closed_on}")
        changed = replace(changed, id=outlet_id, closed_on=None, close_reason=None)
        if changed == current:
            return current
        listed = await store.listings_of_outlet(conn, outlet_id, current=False)
        first = min((x.listed_on for x in listed), default=None)
        if first is not None and changed.opened_on > first:
            raise RuleViolation(
                "opened_on", f"the outlet lists goods since {first}; it cannot open later"
            )
        now = self.now()
        await store.save_outlet(conn, changed, now)
        await self._publish(conn, [publishing.outlet_opened(changed, now)])
        return changed

    async def close_outlet(
        self, conn: asyncpg.Connection, outlet_id: UUID, on: date, reason: str
    ) -> domain.Outlet:
        """Close an outlet; its listings are delisted with it."""
        outlet = await self._outlet(conn, outlet_id)
        closed = domain.close(outlet, on, reason)
        now = self.now()
        await store.save_outlet(conn, closed, now)
        current = await store.listings_of_outlet(conn, outlet_id, for_update=True)
        ended = [
            domain.delist(x, max(on, x.listed_on), f"the outlet closed: {reason}") for x in current
        ]
        await store.save_listings(conn, ended, now)
        await self._publish(
            conn,
            [publishing.outlet_closed(closed, now)]
            + [publishing.product_delisted(x, now) for x in ended],
        )
        return closed

    async def list_good(
        self, conn: asyncpg.Connection, listing: domain.Listing
    ) -> tuple[domain.Listing, bool]:
        """List a good at an outlet under the id the caller chose. An OCOP product needs a
        live certificate that day; its name and producer come from the registry's copy."""
        existing = await store.get_listing(conn, listing.id, for_update=True)
        if existing is not None:
            if (existing.outlet_id, existing.basis, existing.product_id) == (
                listing.outlet_id,
                listing.basis,
                listing.product_id,
            ):
                return existing, False
            raise Conflict(
                "id", f"listing {listing.id} exists with other details; choose another id"
            )
        outlet = await self._outlet(conn, listing.outlet_id)
        if outlet.closed_on is not None and listing.listed_on >= outlet.closed_on:
            raise Conflict(
                "outlet_id", f"the outlet closed on {outlet.closed_on}: it lists nothing"
            )
        certificates: list[domain.CertificateCopy] = []
        product_id = listing.product_id
        if product_id is not None:
            await store.lock_product(conn, product_id)
            product = await store.get_product(conn, product_id)
            if product is not None:
                if product.deregistered_at is not None:
                    raise RuleViolation(
                        "product_id", f"product {listing.product_id} left the registry"
                    )
                listing = replace(
                    listing,
                    producer_id=product.producer_id,
                    goods_name=listing.goods_name or product.name,
                )
            certificates = (await store.certificates_of(conn, [product_id]))[product_id]
            if not listing.goods_name:  # until the registry's product arrives (record_product)
                listing = replace(listing, goods_name=store.unnamed(product_id))
        listed = domain.list_good(outlet, listing, certificates)
        if listed.product_id is not None:
            held = await store.ocop_listings_of_products(
                conn, [listed.product_id], every_basis=True
            )
            if any(x.outlet_id == listed.outlet_id for x in held):
                raise Conflict(
                    "product_id", f"product {listed.product_id} is already listed at this outlet"
                )
        now = self.now()
        await store.save_listings(conn, [listed], now)
        await self._publish(conn, [publishing.product_listed(listed, now)])
        return listed, True

    async def delist(
        self, conn: asyncpg.Connection, listing_id: UUID, on: date, reason: str
    ) -> domain.Listing:
        listing = await self._listing(conn, listing_id)
        ended = domain.delist(listing, on, reason)
        now = self.now()
        await store.save_listings(conn, [ended], now)
        await self._publish(conn, [publishing.product_delisted(ended, now)])
        return ended

    async def restore(self, conn: asyncpg.Connection, listing_id: UUID) -> domain.Listing:
        """Put a suspended listing back on sale: its product holds a live certificate again."""
        listing = await self._listing(conn, listing_id)
        outlet = await self._outlet(conn, listing.outlet_id, lock=False)
        if outlet.closed_on is not None:
            raise Conflict("outlet_id", f"the outlet closed on {outlet.closed_on}")
        certificates = (
            (await store.certificates_of(conn, [listing.product_id]))[listing.product_id]
            if listing.product_id is not None
            else []
        )
        restored = domain.restore(listing, certificates, self.today())
        now = self.now()
        await store.save_listings(conn, [restored], now)
        change = domain.Change(restored, restored=True)
        await self._publish(conn, [publishing.listing_changed(change, now)])
        return restored
