"""Registry's routing table: evaluation's facts about applications and certificates, and the
commands other agencies' systems send (each with its sender's access token: the roles below
decide, and the sender's unit scope applies as on HTTP)."""

from __future__ import annotations

import asyncpg

from ocop_contracts.commands import registry as cmd
from ocop_contracts.events import evaluation as ev
from ocop_registry import domain
from ocop_registry.domain import applications as apps
from ocop_registry.domain import products
from ocop_registry.domain.certificates import Certificate
from ocop_registry.domain.dossier import ApplicationKind, DocumentType, EvidenceFile
from ocop_registry.usecases import SERVICE, Registry, scope_of
from ocop_runtime import commands
from ocop_runtime.auth import Principal, Role, TokenVerifier
from ocop_runtime.consumer import Delivery, EventRoutes

_LOCAL = frozenset({Role.CITY_OFFICE, Role.COMMUNE_OFFICER})
_OWNERS = _LOCAL | {Role.PRODUCER}
# Who may send each command: the roles of the HTTP route doing the same (docs/SECURITY.md).
COMMAND_ROLES: commands.CommandRoles = {
    cmd.RegisterProducer: _LOCAL,  # POST /producers
    cmd.RegisterProduct: _OWNERS,  # POST /products
    cmd.SubmitApplication: _OWNERS,  # POST /applications, then .../submission
}


def _certificate(
    e: ev.ProductCertified | ev.CertificateReevaluated | ev.CertificateUpgraded,
) -> Certificate:
    return Certificate(
        id=e.certificate_id,
        number=e.certificate_number,
        product_id=e.product_id,
        star=e.star,
        level=e.level.value,
        decision_number=e.decision_number,
        decision_date=e.decision_date,
        valid_from=e.valid_from,
        valid_until=e.valid_until,
        rulebook=e.rulebook,
        score=e.score,
        replaces_id=getattr(e, "replaces_certificate_id", None),
    )


def _document_type(index: int, value: str) -> DocumentType:
    try:
        return DocumentType(value)
    except ValueError:
        raise domain.RuleViolation(
            f"documents.{index}.document_type",
            f"{value!r} is not a dossier document type; use one of "
            + ", ".join(t.value for t in DocumentType),
        ) from None


def build_routes(registry: Registry, verifier: TokenVerifier | None = None) -> EventRoutes:
    """``verifier`` checks the senders' tokens; without one every command is refused."""
    _answer = commands.Answerer(
        service=SERVICE,
        accepted=cmd.RegistryCommandAccepted,
        rejected=cmd.RegistryCommandRejected,
        roles=COMMAND_ROLES,
        verifier=verifier,
    )
    routes = EventRoutes()

    @routes.on(ev.ApplicationAccepted)
    async def on_application_accepted(
        conn: asyncpg.Connection, event: ev.ApplicationAccepted, _: Delivery
    ) -> None:
        await registry.apply_result(conn, event.application_id, apps.ApplicationStatus.ACCEPTED)

    @routes.on(ev.ApplicationReturned)
    async def on_application_returned(
        conn: asyncpg.Connection, event: ev.ApplicationReturned, _: Delivery
    ) -> None:
        await registry.apply_result(
            conn, event.application_id, apps.ApplicationStatus.RETURNED, tuple(event.reasons)
        )

    @routes.on(ev.ProductNotRecognised)
    async def on_product_not_recognised(
        conn: asyncpg.Connection, event: ev.ProductNotRecognised, _: Delivery
    ) -> None:
        await registry.apply_result(
            conn,
            event.application_id,
            apps.ApplicationStatus.NOT_RECOGNISED,
            tuple(event.reasons),
        )

    @routes.on(ev.ProductCertified)
    async def on_product_certified(
        conn: asyncpg.Connection, event: ev.ProductCertified, _: Delivery
    ) -> None:
        await registry.record_certificate(conn, _certificate(event), event.application_id)

    @routes.on(ev.CertificateReevaluated)
    async def on_certificate_reevaluated(
        conn: asyncpg.Connection, event: ev.CertificateReevaluated, _: Delivery
    ) -> None:
        await registry.record_certificate(conn, _certificate(event), event.application_id)

    @routes.on(ev.CertificateUpgraded)
    async def on_certificate_upgraded(
        conn: asyncpg.Connection, event: ev.CertificateUpgraded, _: Delivery
    ) -> None:
        await registry.record_certificate(conn, _certificate(event), event.application_id)

    @routes.on(ev.CertificateExpired)
    async def on_certificate_expired(
        conn: asyncpg.Connection, event: ev.CertificateExpired, _: Delivery
    ) -> None:
        await registry.end_certificate(
            conn, event.product_id, event.certificate_id, expired_on=event.expired_on
        )

    @routes.on(ev.CertificateRevoked)
    async def on_certificate_revoked(
        conn: asyncpg.Connection, event: ev.CertificateRevoked, _: Delivery
    ) -> None:
        await registry.end_certificate(
            conn,
            event.product_id,
            event.certificate_id,
            revoked_on=event.revoked_on,
            # ground_codes names grounds added after v1 as they are; older events have only grounds.
            grounds=tuple(event.ground_codes or [g.value for g in event.grounds]),
        )

    @routes.on(cmd.RegisterProducer)
    async def on_register_producer(
        conn: asyncpg.Connection, command: cmd.RegisterProducer, delivery: Delivery
    ) -> None:
        async def run(who: Principal) -> bool:
            _, created = await registry.register_producer(
                conn,
                domain.RegisterProducer(
                    name=command.name,
                    legal_form=domain.LegalForm(command.legal_form.value),
                    commune_code=command.commune_code,
                    registration_number=command.registration_number,
                    address=command.address,
                    contacts=tuple(
                        domain.Person(
                            c.full_name, c.role, c.phone, c.email, c.national_id, c.home_address
                        )
                        for c in command.contacts
                    ),
                ),
                command.producer_id,
                scope_of(who),
            )
            return created

        await _answer(conn, delivery, command, run)

    @routes.on(cmd.RegisterProduct)
    async def on_register_product(
        conn: asyncpg.Connection, command: cmd.RegisterProduct, delivery: Delivery
    ) -> None:
        async def run(who: Principal) -> bool:
            _, created = await registry.register_product(
                conn,
                products.RegisterProduct(
                    producer_id=command.producer_id,
                    name=command.name,
                    product_set=command.product_set,
                    commune_code=command.commune_code,
                    registered_on=command.registered_on,
                ),
                command.product_id,
                scope_of(who),
            )
            return created

        await _answer(conn, delivery, command, run)

    @routes.on(cmd.SubmitApplication)
    async def on_submit_application(
        conn: asyncpg.Connection, command: cmd.SubmitApplication, delivery: Delivery
    ) -> None:
        async def run(who: Principal) -> bool:
            documents = tuple(
                EvidenceFile(
                    document_type=_document_type(i, d.document_type),
                    name=d.name,
                    media_type=d.media_type,
                    size_bytes=d.size_bytes,
                    sha256=d.sha256,
                    storage_url=d.storage_url,
                )
                for i, d in enumerate(command.documents)
            )
            _, created = await registry.file_application(
                conn,
                apps.DraftApplication(
                    product_id=command.product_id,
                    kind=ApplicationKind(command.kind.value),
                    round_year=command.round_year,
                    self_assessment_score=command.self_assessment_score,
                    documents=documents,
                ),
                command.application_id,
                scope_of(who),
            )
            return created

        await _answer(conn, delivery, command, run)

    return routes
