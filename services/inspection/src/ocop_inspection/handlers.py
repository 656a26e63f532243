"""Inspection's routing table: the events it consumes (the certified population: registry's
producers and products, evaluation's certificates) and the commands it accepts (a visit and
its findings, from the field teams' systems), each mapped to one use case call.

Commands are answered on the replies topic (``CommandAccepted``, ``duplicate`` when a resent
command had nothing to do, or ``CommandRejected`` with the field and the reason).
``COMMAND_ROLES`` gives each command the roles of the HTTP route doing the same."""

from __future__ import annotations

from functools import partial

import asyncpg

from ocop_contracts.commands import inspection as cmd
from ocop_contracts.events import evaluation as ev
from ocop_contracts.events import registry as reg
from ocop_inspection import domain
from ocop_inspection.usecases import SERVICE, Inspection, inspector_units
from ocop_runtime import commands
from ocop_runtime.auth import Principal, Role, TokenVerifier
from ocop_runtime.consumer import Delivery, EventRoutes

_FIELD = frozenset({Role.CITY_OFFICE, Role.INSPECTOR})
# Who may send each command: the roles of the HTTP route doing the same (docs/SECURITY.md).
COMMAND_ROLES: commands.CommandRoles = {
    cmd.RecordVisit: _FIELD,  # POST /visits
    cmd.RecordFindings: _FIELD,  # POST /visits/{id}/findings
}
Answer = commands.Answerer


def build_routes(
    inspection: Inspection | None = None, verifier: TokenVerifier | None = None
) -> EventRoutes:
    """``verifier`` checks the tokens of the commands' senders (none: every command refused)."""
    ins = inspection or Inspection()
    answer = commands.Answerer(
        service=SERVICE,
        accepted=cmd.InspectionCommandAccepted,
        rejected=cmd.InspectionCommandRejected,
        roles=COMMAND_ROLES,
        verifier=verifier,
    )
    routes = EventRoutes()
    routes.on(reg.ProducerRegistered)(partial(on_producer, ins))
    routes.on(reg.ProducerUpdated)(partial(on_producer, ins))
    routes.on(reg.ProducerDeregistered)(partial(on_deregistered, ins))
    routes.on(reg.ProductRegistered)(partial(on_product, ins))
    routes.on(reg.ProductUpdated)(partial(on_product, ins))
    routes.on(reg.ProductDeregistered)(partial(on_deregistered, ins))
    routes.on(ev.ProductCertified)(partial(on_certificate_issued, ins))
    routes.on(ev.CertificateReevaluated)(partial(on_certificate_issued, ins))
    routes.on(ev.CertificateUpgraded)(partial(on_certificate_issued, ins))
    routes.on(ev.CertificateExpired)(partial(on_certificate_ended, ins))
    routes.on(ev.CertificateRevoked)(partial(on_certificate_ended, ins))
    routes.on(cmd.RecordVisit)(partial(on_record_visit, ins, answer))
    routes.on(cmd.RecordFindings)(partial(on_record_findings, ins, answer))
    return routes


# ---------------------------------------------------------------- the certified population


async def on_producer(
    ins: Inspection,
    conn: asyncpg.Connection,
    event: reg.ProducerRegistered | reg.ProducerUpdated,
    _: Delivery,
) -> None:
    await ins.record_producer(conn, event)


async def on_product(
    ins: Inspection,
    conn: asyncpg.Connection,
    event: reg.ProductRegistered | reg.ProductUpdated,
    _: Delivery,
) -> None:
    await ins.record_product(conn, event)


async def on_deregistered(
    ins: Inspection,
    conn: asyncpg.Connection,
    event: reg.ProducerDeregistered | reg.ProductDeregistered,
    _: Delivery,
) -> None:
    await ins.record_deregistration(conn, event)


async def on_certificate_issued(
    ins: Inspection,
    conn: asyncpg.Connection,
    event: ev.ProductCertified | ev.CertificateReevaluated | ev.CertificateUpgraded,
    _: Delivery,
) -> None:
    await ins.record_certificate(conn, event)


async def on_certificate_ended(
    ins: Inspection,
    conn: asyncpg.Connection,
    event: ev.CertificateExpired | ev.CertificateRevoked,
    _: Delivery,
) -> None:
    await ins.record_certificate_ended(conn, event)


# ---------------------------------------------------------------- commands


def visit_of(command: cmd.RecordVisit, who: Principal) -> domain.Visit:
    return domain.Visit(
        id=command.visit_id,
        campaign_id=command.campaign_id,
        producer_id=command.producer_id,
        visited_on=command.visited_on,
        product_ids=tuple(command.product_ids),
        minutes=command.minutes,
        reason_outside_sample=command.reason_outside_sample,
        recorded_by=who.subject,
    )


def finding_of(item: cmd.FindingInput) -> domain.FindingDraft:
    lab = item.lab_sample
    return domain.FindingDraft(
        id=item.finding_id,
        product_id=item.product_id,
        category=domain.Category(item.category.value),
        severity=domain.Severity(item.severity.value),
        outcome=domain.Outcome(item.outcome.value),
        criterion=item.criterion,
        evidence=tuple(item.evidence),
        lab_sample=(
            domain.LabSample(
                lab.sample_code, lab.analysis, domain.LabResult(lab.result.value), lab.laboratory
            )
            if lab
            else None
        ),
        note=item.note,
        remediation_deadline=item.remediation_deadline,
    )


async def on_record_visit(
    ins: Inspection,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.RecordVisit,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        return await ins.record_visit(conn, visit_of(command, who), inspector_units(who))

    await answer(conn, delivery, command, run)


async def on_record_findings(
    ins: Inspection,
    answer: Answer,
    conn: asyncpg.Connection,
    command: cmd.RecordFindings,
    delivery: Delivery,
) -> None:
    async def run(who: Principal) -> bool:
        recorded, _ = await ins.record_findings(
            conn, command.visit_id, [finding_of(f) for f in command.findings], inspector_units(who)
        )
        return recorded > 0

    await answer(conn, delivery, command, run)
