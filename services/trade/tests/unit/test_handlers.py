"""Trade's routing tables: every certificate event that changes validity is followed, and a
certificate event type added to the contracts later is followed by its shape."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID, uuid4

from ocop_contracts import Event, event_types, topics
from ocop_contracts.commands import trade as tcmd
from ocop_contracts.events import CertificateExpiring
from ocop_trade import domain, handlers
from ocop_trade.usecases import End, Trade


def test_every_certificate_event_but_the_expiry_notice_is_followed_in_batches() -> None:
    batches = handlers.build_batches(Trade())
    certificate_types = {
        ce_type
        for ce_type, type_ in event_types().items()
        if type_.TOPIC == topics.EVALUATION_CERTIFICATES
    }
    handled = {t for t in certificate_types if batches.handler_for(t) is not None}
    assert handled == certificate_types - {CertificateExpiring.CE_TYPE}
    routes = handlers.build_routes(Trade())
    assert set(routes.topics) == {topics.REGISTRY_PRODUCTS, tcmd.TRADE_COMMANDS}
    assert set(batches.topics) == {topics.EVALUATION_CERTIFICATES}


class _Unregistered(Event):
    """Shapes of certificate events not in the contracts (no ``service``: not registered)."""

    EVENT_NAME: ClassVar[str] = "CertificateWithdrawn"


class CertificateWithdrawn(_Unregistered):
    certificate_id: UUID
    product_id: UUID
    withdrawn_on: date


class CertificateReinstated(_Unregistered):
    EVENT_NAME: ClassVar[str] = "CertificateReinstated"

    certificate_id: UUID
    product_id: UUID
    reinstated_on: date


class CertificateReminder(_Unregistered):
    certificate_id: UUID
    product_id: UUID
    sent_at: str


def test_a_later_certificate_event_is_followed_by_its_shape() -> None:
    t = Trade()
    ending = handlers._by_shape(t, CertificateWithdrawn)
    assert ending.func is handlers.on_certificates_ended
    event = CertificateWithdrawn(
        certificate_id=uuid4(), product_id=uuid4(), withdrawn_on=date(2026, 3, 1)
    )
    end: Any = ending.args[1](event)
    assert end == End(
        event.product_id,
        event.certificate_id,
        domain.CertificateState.ENDED,
        date(2026, 3, 1),
        "CertificateWithdrawn",
    )
    assert handlers._by_shape(t, CertificateReinstated).func is handlers.on_certificates_reinstated
    assert handlers._by_shape(t, CertificateReminder) is None
    assert handlers._by_shape(t, CertificateExpiring) is None
