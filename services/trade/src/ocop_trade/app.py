"""Composition root of the trade service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ocop_contracts.commands import TradeCommandAccepted, TradeCommandRejected
from ocop_contracts.events import trade as published
from ocop_runtime.app import ServiceSpec, create_service_app, token_verifier_for
from ocop_runtime.auth import TokenVerifier
from ocop_trade import api
from ocop_trade.handlers import build_batches, build_routes
from ocop_trade.settings import TradeSettings
from ocop_trade.usecases import Trade

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def service_spec(trade: Trade | None = None, verifier: TokenVerifier | None = None) -> ServiceSpec:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    t = trade or Trade()
    return ServiceSpec(
        name="trade",
        title="ocop trade",
        description="Trade promotion: fairs, product weeks, livestreams, points of sale, listings"
        " of certified OCOP products and what they bring producers.",
        migrations=MIGRATIONS,
        routes=build_routes(t, verifier),
        batches=build_batches(t),
        publishes=(
            TradeCommandAccepted,
            TradeCommandRejected,
            published.PromotionScheduled,
            published.RegistrationOpened,
            published.PromotionStarted,
            published.PromotionClosed,
            published.PromotionReported,
            published.PromotionCancelled,
            published.ParticipationAccepted,
            published.ParticipationRefused,
            published.ParticipationWithdrawn,
            published.OutcomeRecorded,
            published.OutletOpened,
            published.OutletClosed,
            published.ProductListed,
            published.ListingSuspended,
            published.ListingRestored,
            published.ProductDelisted,
        ),
        routers=api.ROUTERS,
    )


def create_app(settings: TradeSettings, **options: Any) -> FastAPI:
    """``options`` go to :func:`create_service_app` (tests pass a relay factory)."""
    trade = Trade()
    verifier = token_verifier_for(settings)
    app = create_service_app(
        settings, service_spec(trade, verifier), token_verifier=verifier, **options
    )
    app.state.trade = trade
    return app
