"""Trade promotion and inspection events to their facts (part of the routing table of
:mod:`ocop_insights.handlers`): each handler maps a run of one event type to rows and merges
them in one statement. No SQL here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from ocop_contracts.events import inspection as ins
from ocop_contracts.events import trade
from ocop_insights.domain.facts import local_date
from ocop_insights.store.activity import merge
from ocop_runtime.batching import BatchHandler, BatchRoutes, Item


def _rows(table: str, row: Callable[[Any], dict[str, Any]]) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, items: Sequence[Item]) -> None:
        await merge(conn, table, [row(i.event) for i in items])

    return handle


def _outlet_opened(e: trade.OutletOpened) -> dict[str, Any]:
    return {
        "outlet_id": e.outlet_id,
        "location_type": e.location_type.value,
        "unit_code": e.unit_code,
        "district_code": e.district_code,
        "opened_on": e.opened_on,
    }


def _listed(e: trade.ProductListed) -> dict[str, Any]:
    return {
        "listing_id": e.listing_id,
        "outlet_id": e.outlet_id,
        "basis": e.basis.value,
        "product_id": e.product_id,
        "listed_on": e.listed_on,
    }


def _scheduled(e: trade.PromotionScheduled) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "kind": e.kind.value,
        "starts_on": e.starts_on,
        "ends_on": e.ends_on,
    }


def _reported(e: trade.PromotionReported) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "reported_on": local_date(e.reported_at),
        "producers": e.producers,
        "products": e.products,
        "sales_vnd": e.sales_vnd,
        "contracts_signed": e.contracts_signed,
        "contracts_value_vnd": e.contracts_value_vnd,
    }


def _planned(e: ins.CampaignPlanned) -> dict[str, Any]:
    return {
        "campaign_id": e.campaign_id,
        "year": e.year,
        "target_producers": e.target_producers,
        "target_products": e.target_products,
        "starts_on": e.starts_on,
    }


def _closed(e: ins.CampaignClosed) -> dict[str, Any]:
    return {
        "campaign_id": e.campaign_id,
        "closed_on": local_date(e.closed_at),
        "producers_inspected": e.producers_inspected,
        "products_inspected": e.products_inspected,
    }


def _finding(e: ins.FindingRecorded) -> dict[str, Any]:
    return {
        "finding_id": e.finding_id,
        "campaign_id": e.campaign_id,
        "producer_id": e.producer_id,
        "product_id": e.product_id,
        "category": e.category.value,
        "severity": e.severity.value,
        "outcome": e.outcome.value,
        "visited_on": e.visited_on,
    }


def register(routes: BatchRoutes) -> None:
    routes.on(trade.OutletOpened)(_rows("outlets", _outlet_opened))
    routes.on(trade.OutletClosed)(
        _rows("outlets", lambda e: {"outlet_id": e.outlet_id, "closed_on": e.closed_on})
    )
    routes.on(trade.ProductListed)(_rows("listings", _listed))
    routes.on(trade.ProductDelisted)(
        _rows(
            "listings",
            lambda e: {
                "listing_id": e.listing_id,
                "outlet_id": e.outlet_id,
                "delisted_on": e.delisted_on,
            },
        )
    )
    routes.on(trade.PromotionScheduled)(_rows("promotions", _scheduled))
    routes.on(trade.PromotionReported)(_rows("promotions", _reported))
    routes.on(trade.PromotionCancelled)(
        _rows(
            "promotions",
            lambda e: {"event_id": e.event_id, "cancelled_on": local_date(e.cancelled_at)},
        )
    )
    routes.on(ins.CampaignPlanned)(_rows("campaigns", _planned))
    routes.on(ins.CampaignClosed)(_rows("campaigns", _closed))
    routes.on(ins.FindingRecorded)(_rows("findings", _finding))
