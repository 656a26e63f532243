"""Trade's routing tables: the events it consumes and the use case each one drives.

Only certified products may be listed, so trade follows evaluation's certificates, in batches
(``build_batches``: a burst of expiries is applied a few statements per batch): an issue
(first certificate, re-evaluation, upgrade) restores the product's suspended listings, an end
(expiry, revocation) suspends them. Certificate events this table does not name (types added to
the contracts later) are followed by their shape: one carrying a star and validity dates is an
issue, one carrying a ``…_on`` date is an end (or a reinstatement, by its name). Registry's
products are kept as a local copy. Commands are answered on the replies topic
(``CommandAccepted``, ``duplicate`` when a resent command had nothing to do, or
``CommandRejected`` with the field and the reason); ``COMMAND_ROLES`` says which roles may send
each, as the HTTP route doing the same does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any

import asyncpg

from ocop_contracts import Event, event_types, topics
from ocop_contracts.commands import trade as cmd
from ocop_contracts.events import (
    CertificateExpired,
    CertificateReevaluated,
    CertificateRevoked,
    CertificateUpgraded,
    ProductCertified,
    ProductDeregistered,
    ProductRegistered,
    ProductUpdated,
)
from ocop_runtime import commands
from ocop_runtime.auth import Principal, Role, TokenVerifier
from ocop_runtime.batching import BatchRoutes, Item
from ocop_runtime.consumer import Delivery, EventRoutes
from ocop_runtime.refusals import RuleViolation
from ocop_trade import domain, store
from ocop_trade.usecases import SERVICE, End, Trade

_TRADE = frozenset({Role.CITY_OFFICE, Role.TRADE_OFFICER})
# Who may send each command: the roles of the HTTP route doing the same (docs/SECURITY.md).
COMMAND_ROLES: commands.CommandRoles = {
    cmd.ApplyToPromotion: _TRADE,  # POST /events/{event_id}/participations
    cmd.RecordOutcome: _TRADE,  # POST /outcomes
}
Answer = commands.Answerer
_ISSUE_FIELDS = frozenset({"certificate_id", "product_id", "star", "valid_from", "valid_until"})
_REINSTATING = ("Reinstated", "Restored", "Reactivated")


def build_routes(trade: Trade | None = None, verifier: TokenVerifier | None = None) -> EventRoutes:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    t = trade or Trade()
    answer = commands.Answerer(
        service=SERVICE,
        accepted=cmd.TradeCommandAccepted,
        rejected=cmd.TradeCommandRejected,
        roles=COMMAND_ROLES,
        verifier=verifier,
    )
    routes = EventRoutes()
    routes.on(ProductRegistered)(partial(on_product, t))
    routes.on(ProductUpdated)(partial(on_product, t))
    routes.on(ProductDeregistered)(partial(on_product_deregistered, t))
    routes.on(cmd.ApplyToPromotion)(partial(on_apply_to_promotion, t, answer))
    routes.on(cmd.RecordOutcome)(partial(on_record_outcome, t, answer))
    return routes


# ---------------------------------------------------------------- registry's products


async def on_product(
    t: Trade, conn: asyncpg.Connection, e: ProductRegistered | ProductUpdated, _: Delivery
) -> None:
    await t.record_product(
        conn,
        store.ProductCopy(
            product_id=e.product_id,
            producer_id=e.producer_id,
            producer_legal_form=e.producer_legal_form.value,
            producer_name=e.producer_name,
            name=e.name,
            public_code=e.public_code,
            product_set=e.product_set,
            statistics_sector=e.statistics_sector,
            commune_code=e.commune_code,
            district_code=e.district_code,
            version=getattr(e, "version", 1),
        ),
    )


async def on_product_deregistered(
    t: Trade, conn: asyncpg.Connection, e: ProductDeregistered, _: Delivery
) -> None:
    await t.product_deregistered(conn, e.product_id, e.reason, e.deregistered_at)


# ---------------------------------------------------------------- evaluation's certificates


def build_batches(trade: Trade | None = None) -> BatchRoutes:
    """Evaluation's certificates, applied in batches: a burst of expiries (or renewals)
    suspends (or restores) every listing concerned in a few statements per batch, in the
    order the records came (each product's certificates stay in order)."""
    t = trade or Trade()
    batches = BatchRoutes(max_records=500)
    batches.on(ProductCertified)(partial(on_certificates_issued, t))
    batches.on(CertificateReevaluated)(partial(on_certificates_issued, t))
    batches.on(CertificateUpgraded)(partial(on_certificates_issued, t))
    batches.on(CertificateExpired)(partial(on_certificates_ended, t, _expired))
    batches.on(CertificateRevoked)(partial(on_certificates_ended, t, _revoked))
    for type_ in _other_certificate_events(batches):
        handler = _by_shape(t, type_)
        if handler is not None:
            batches.on(type_)(handler)
    batches.listen(topics.EVALUATION_CERTIFICATES)
    return batches


def _issued(e: Any) -> tuple[domain.CertificateCopy, Any]:
    copy = domain.CertificateCopy(
        certificate_id=e.certificate_id,
        product_id=e.product_id,
        star=e.star,
        valid_from=e.valid_from,
        valid_until=e.valid_until,
    )
    return copy, getattr(e, "replaces_certificate_id", None)


async def on_certificates_issued(t: Trade, conn: asyncpg.Connection, items: Sequence[Item]) -> None:
    await t.certificates_issued(conn, [_issued(i.event) for i in items])


def _expired(e: CertificateExpired) -> End:
    return End(e.product_id, e.certificate_id, domain.CertificateState.EXPIRED, e.expired_on)


def _revoked(e: CertificateRevoked) -> End:
    # ``ground_codes`` (when the publisher sends it) names grounds added after v1 too.
    grounds = ", ".join(getattr(e, "ground_codes", None) or [g.value for g in e.grounds])
    detail = f"revoked by decision {e.decision_number} of {e.decision_date}: {grounds}"
    return End(
        e.product_id, e.certificate_id, domain.CertificateState.REVOKED, e.revoked_on, detail
    )


async def on_certificates_ended(
    t: Trade, end: Callable[[Any], End], conn: asyncpg.Connection, items: Sequence[Item]
) -> None:
    await t.certificates_ended(conn, [end(i.event) for i in items])


def _other_certificate_events(batches: BatchRoutes) -> list[type[Event]]:
    """Certificate event types in the contracts that the table above does not name."""
    return [
        type_
        for ce_type, type_ in sorted(event_types().items())
        if type_.TOPIC == topics.EVALUATION_CERTIFICATES and batches.handler_for(ce_type) is None
    ]


def _end_date_field(type_: type[Event]) -> str | None:
    dated = [
        name
        for name, info in type_.model_fields.items()
        if name.endswith("_on") and info.annotation in (date, "date")
    ]
    return dated[0] if len(dated) == 1 else None


def _by_shape(t: Trade, type_: type[Event]) -> Any:
    """A handler for a certificate event named nowhere above, by the fields it carries."""
    fields = set(type_.model_fields)
    if fields >= _ISSUE_FIELDS:
        return partial(on_certificates_issued, t)
    day = _end_date_field(type_)
    if not {"certificate_id", "product_id"} <= fields or day is None:
        return None  # a notice (e.g. expiring), not a change of validity
    if any(word in type_.EVENT_NAME for word in _REINSTATING):
        return partial(on_certificates_reinstated, t)

    def ended(e: Any) -> End:
        on = getattr(e, day)
        return End(e.product_id, e.certificate_id, domain.CertificateState.ENDED, on, e.EVENT_NAME)

    return partial(on_certificates_ended, t, ended)


async def on_certificates_reinstated(
    t: Trade, conn: asyncpg.Connection, items: Sequence[Item]
) -> None:
    for i in items:
        await t.certificate_reinstated(conn, i.event.product_id, i.event.certificate_id)


# ---------------------------------------------------------------- commands


async def on_apply_to_promotion(
    t: Trade,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.ApplyToPromotion,
    delivery: Delivery,
) -> None:
    application = domain.Application(
        participation_id=command.participation_id,
        event_id=command.event_id,
        producer_id=command.producer_id,
        product_ids=tuple(command.product_ids),
        other_goods=tuple(command.other_goods),
        stalls=command.stalls,
    )
    refused: list[bool] = []

    async def run(who: Principal) -> bool:
        applied = await t.apply(conn, application)
        if not applied.decision.accepted:
            refused.append(applied.created)
            first = applied.decision.problems[0]
            raise RuleViolation(first.field, "; ".join(applied.decision.reasons))
        return applied.created

    await answer(conn, delivery, command, run)
    if refused and refused[0]:
        # The refusal is answered and also kept (and published), outside the rolled-back run.
        await t.apply(conn, application)


async def on_record_outcome(
    t: Trade,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.RecordOutcome,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        _, created = await t.record_outcome(
            conn,
            domain.Outcome(
                id=command.outcome_id,
                producer_id=command.producer_id,
                period_start=command.period_start,
                period_end=command.period_end,
                event_id=command.event_id,
                outlet_id=command.outlet_id,
                product_id=command.product_id,
                sales_vnd=command.sales_vnd,
                quantity=command.quantity,
                contracts_signed=command.contracts_signed,
                contracts_value_vnd=command.contracts_value_vnd,
                buyers_met=command.buyers_met,
            ),
        )
        return created

    await answer(conn, delivery, command, run)
