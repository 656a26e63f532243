"""Registry use cases. Each runs in the caller's transaction (HTTP opens one per request, the
command consumer shares the inbox's), so state, outbox and inbox commit together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from ocop_registry import domain, store, units
from ocop_registry.domain import applications as apps
from ocop_registry.domain import certificates as certs
from ocop_registry.domain import classification, products
from ocop_registry.publishing import DomainEvent, to_contract
from ocop_registry.store.erasure import erase_records_of
from ocop_runtime.auth import Principal, Role
from ocop_runtime.db import transaction
from ocop_runtime.outbox import stage_event
from ocop_runtime.refusals import Conflict, Forbidden, NotFound

SERVICE = "registry"


NO_ONE = UUID(int=0)


def scope_of(who: Principal) -> store.Scope:
    """What a caller may see and change: everything for the city office and agencies (their
    routes are read-only), their units for a commune officer, their own records for a producer.
    ``who`` holds only the roles of the route or command it acts through
    (:func:`ocop_runtime.auth.acting`), so a second role never widens the first one's scope."""
    if who.has(Role.CITY_OFFICE, Role.AGENCY):
        return store.EVERYTHING
    if who.has(Role.COMMUNE_OFFICER):
        return store.Scope(units=who.units)
    if who.has(Role.PRODUCER):
        return store.Scope(producer_id=who.producer_id or NO_ONE)
    return store.Scope(units=frozenset())


def check_unit(scope: store.Scope | None, unit: domain.UnitVersion) -> None:
    if scope is not None and not scope.allows_unit(unit.code, unit.district_code):
        raise Forbidden("commune_code", f"{unit.code} ({unit.name}) is outside your units")


# The programme's days are Hanoi's: a regime that takes effect "on 6 July" does so at
# midnight in Hanoi, not in UTC.
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def hanoi_now() -> datetime:
    return datetime.now(HANOI)


async def load_admin_units(pool: asyncpg.Pool) -> None:
    """Fill the dated administrative units from the data shipped with the service."""
    units_, successions = units.load_dataset()
    async with transaction(pool, "load_admin_units") as conn:
        await store.load_admin_units(conn, units_, successions)


def _taken(field: str) -> Conflict:
    # The id is held by a record the caller may not see: say no more than that it is taken.
    return Conflict(field, "this id is already in use; choose another")


@dataclass
class Registry:
    """The registry's use cases, with what they need besides a connection."""

    public_base_url: str
    clock: Callable[[], datetime] = field(default=hanoi_now)
    # Every commune version by code: reference data the service loads from its own dataset at
    # start-up (``load_admin_units``) and never changes while it runs, so it is read once.
    _communes: dict[str, list[domain.UnitVersion]] | None = field(
        default=None, init=False, repr=False
    )

    async def communes(self, conn: store.Conn) -> dict[str, list[domain.UnitVersion]]:
        if self._communes:
            return self._communes
        communes = await store.all_commune_versions(conn)
        if communes:  # kept once the start-up load has filled the table
            self._communes = communes
        return communes

    async def valid_commune(self, conn: store.Conn, code: str, day: date) -> domain.UnitVersion:
        versions = (await self.communes(conn)).get(code, [])
        return domain.check_commune_valid_on(code, day, versions)

    async def publish(self, conn: asyncpg.Connection, events: list[DomainEvent]) -> None:
        for event in events:
            await stage_event(
                conn, to_contract(event, base_url=self.public_base_url), service=SERVICE
            )

    # ------------------------------------------------------------ producers

    async def register_producer(
        self,
        conn: asyncpg.Connection,
        cmd: domain.RegisterProducer,
        producer_id: UUID | None = None,
        scope: store.Scope | None = None,
    ) -> tuple[domain.Producer, bool]:
        """The producer and whether it was created (False: an identical repeat). Ids and
        registration numbers are looked up within ``scope``: a producer outside it is never
        returned or named, the answer is the one for an unknown id as far as one can be."""
        now = self.clock()
        if producer_id is not None:
            existing = await store.get_producer(conn, producer_id, scope=scope)
            if existing is not None:
                if domain.producers.same_registration(existing, cmd):
                    return existing, False
                raise Conflict(
                    "producer_id", f"{producer_id} is already registered with other data"
                )
        unit = await self.valid_commune(conn, cmd.commune_code, now.date())
        check_unit(scope, unit)
        producer, events = domain.register_producer(
            cmd, producer_id=producer_id or uuid4(), unit=unit, now=now
        )
        # The insert is the duplicate check (unique id and registration number): one round
        # trip when the producer is new, the reasons looked up only when it is not.
        if not await store.insert_producer(conn, producer):
            return await self._registered_already(conn, cmd, producer, producer_id, scope), False
        await self.publish(conn, list(events))
        return producer, True

    async def _registered_already(
        self,
        conn: asyncpg.Connection,
        cmd: domain.RegisterProducer,
        producer: domain.Producer,
        producer_id: UUID | None,
        scope: store.Scope | None,
    ) -> domain.Producer:
        """The producer an identical repeat registered before, or the refusal that says which
        key of ``producer`` is taken."""
        if producer.registration_number is not None:
            same = await store.producer_by_registration(
                conn, producer.legal_form, producer.registration_number
            )
            if same is not None:
                if not await store.producers_in_scope(conn, [same.id], scope):
                    raise Conflict(
                        "registration_number",
                        f"{producer.registration_number} is already registered to another producer",
                    )
                if producer_id is None and domain.producers.same_registration(same, cmd):
                    return same
                raise Conflict(
                    "registration_number",
                    f"{producer.registration_number} is already registered to producer {same.id}",
                )
        raise _taken("producer_id")

    async def _producer_for_update(
        self, conn: asyncpg.Connection, producer_id: UUID, scope: store.Scope | None
    ) -> domain.Producer:
        # The row lock orders concurrent changes of one producer, so their outbox ids (and
        # Kafka order) follow their commit order.
        current = await store.get_producer(conn, producer_id, for_update=True, scope=scope)
        if current is None:
            raise NotFound("producer_id", f"producer {producer_id} is not registered")
        return current

    async def update_producer(
        self,
        conn: asyncpg.Connection,
        producer_id: UUID,
        cmd: domain.UpdateProducer,
        scope: store.Scope | None = None,
    ) -> domain.Producer:
        current = await self._producer_for_update(conn, producer_id, scope)
        now = self.clock()
        unit = None
        if cmd.commune_code is not None and cmd.commune_code != current.commune_code:
            unit = await self.valid_commune(conn, cmd.commune_code, now.date())
            check_unit(scope, unit)
        updated, events = domain.update_producer(current, cmd, unit=unit, now=now)
        if events:
            await store.save_producer(conn, updated, contacts=updated.contacts != current.contacts)
            await self.publish(conn, list(events))
        return updated

    async def deregister_producer(
        self,
        conn: asyncpg.Connection,
        producer_id: UUID,
        reason: str,
        scope: store.Scope | None = None,
    ) -> domain.Producer:
        current = await self._producer_for_update(conn, producer_id, scope)
        active = await store.count_active_products(conn, producer_id)
        done, events = domain.deregister_producer(
            current, reason, active_products=active, now=self.clock()
        )
        if events:
            await store.save_producer(conn, done, contacts=False)
            await self.publish(conn, list(events))
        return done

    async def erase_personal_data(
        self, conn: asyncpg.Connection, producer_id: UUID, scope: store.Scope | None = None
    ) -> domain.Producer:
        current = await self._producer_for_update(conn, producer_id, scope)
        erased = domain.producers.erase_personal_data(current, now=self.clock())
        await store.save_producer(conn, erased, contacts=True)
        await erase_records_of(conn, producer_id, household=current.is_household)
        return erased

    # ------------------------------------------------------------ products

    async def register_product(
        self,
        conn: asyncpg.Connection,
        cmd: products.RegisterProduct,
        product_id: UUID | None = None,
        scope: store.Scope | None = None,
    ) -> tuple[products.Product, bool]:
        now = self.clock()
        if product_id is not None:
            existing = await store.get_product(conn, product_id, scope=scope)
            if existing is not None:
                if products.same_registration(existing, cmd):
                    return existing, False
                raise Conflict("product_id", f"{product_id} is already registered with other data")
        producer = await store.get_producer(conn, cmd.producer_id, scope=scope)
        if producer is None:
            raise domain.RuleViolation(
                "producer_id", f"producer {cmd.producer_id} is not registered"
            )
        day = products.check_registered_on(cmd.registered_on, now.date())
        product_set = classification.product_set_on(cmd.product_set, day)
        unit = await self.valid_commune(conn, cmd.commune_code, day)
        check_unit(scope, unit)
        same = await store.products_by_key(
            conn, [(producer.id, store.key_of(domain.check_name(cmd.name)))]
        )
        if same:
            (twin,) = same.values()
            if product_id is None and products.same_registration(twin, cmd):
                return twin, False
            raise Conflict(
                "name",
                f"{producer.name if not producer.is_household else 'this producer'} "
                f"already has a product named {twin.name!r} ({twin.public_code})",
            )
        if product_id is not None and await store.get_product(conn, product_id) is not None:
            raise _taken("product_id")
        sequence = await store.next_code_sequence(conn, unit.code, day.year)
        product, events = products.register_product(
            cmd,
            product_id=product_id or uuid4(),
            producer=producer,
            product_set=product_set,
            unit=unit,
            sequence=sequence,
            registered_on=day,
            now=now,
        )
        await store.insert_product(conn, product)
        await self.publish(conn, list(events))
        return product, True

    async def _product_for_update(
        self, conn: asyncpg.Connection, product_id: UUID, scope: store.Scope | None
    ) -> products.Product:
        current = await store.get_product(conn, product_id, for_update=True, scope=scope)
        if current is None:
            raise NotFound("product_id", f"product {product_id} is not registered")
        return current

    async def update_product(
        self,
        conn: asyncpg.Connection,
        product_id: UUID,
        cmd: products.UpdateProduct,
        scope: store.Scope | None = None,
    ) -> products.Product:
        current = await self._product_for_update(conn, product_id, scope)
        now = self.clock()
        producer = await store.get_producer(conn, current.producer_id)
        assert producer is not None
        new_set = None
        if cmd.product_set is not None and cmd.product_set != current.product_set:
            new_set = classification.product_set_on(cmd.product_set, now.date())
        if cmd.name is not None:
            twin = await store.products_by_key(
                conn, [(producer.id, store.key_of(domain.check_name(cmd.name)))]
            )
            if twin and next(iter(twin.values())).id != product_id:
                raise Conflict("name", "the producer already has a product with this name")
        updated, events = products.update_product(
            current, cmd, producer=producer, product_set=new_set, now=now
        )
        if events:
            await store.save_product(conn, updated)
            await self.publish(conn, list(events))
        return updated

    async def deregister_product(
        self,
        conn: asyncpg.Connection,
        product_id: UUID,
        reason: str,
        scope: store.Scope | None = None,
    ) -> products.Product:
        current = await self._product_for_update(conn, product_id, scope)
        now = self.clock()
        live = certs.live_certificate(await store.certificates_of(conn, product_id), now.date())
        done, events = products.deregister_product(current, reason, live=live, now=now)
        if events:
            await store.save_product(conn, done)
            await self.publish(conn, list(events))
        return done

    # ------------------------------------------------------------ applications

    async def draft_application(
        self,
        conn: asyncpg.Connection,
        cmd: apps.DraftApplication,
        application_id: UUID | None = None,
        scope: store.Scope | None = None,
    ) -> apps.Application:
        product = await store.get_product(conn, cmd.product_id, for_update=True, scope=scope)
        if product is None:
            raise domain.RuleViolation("product_id", f"product {cmd.product_id} is not registered")
        open_id = await store.open_application_of(conn, product.id)
        if open_id is not None:
            raise Conflict(
                "product_id",
                f"product {product.public_code} already has application {open_id} in progress",
            )
        if (
            application_id is not None
            and await store.get_application(conn, application_id) is not None
        ):
            raise _taken("application_id")
        app = apps.draft_application(
            cmd, application_id=application_id or uuid4(), product=product, now=self.clock()
        )
        await store.insert_application(conn, app)
        return app

    async def _application_for_update(
        self, conn: asyncpg.Connection, application_id: UUID, scope: store.Scope | None = None
    ) -> apps.Application:
        current = await store.get_application(conn, application_id, for_update=True, scope=scope)
        if current is None:
            raise NotFound("application_id", f"application {application_id} does not exist")
        return current

    async def revise_application(
        self,
        conn: asyncpg.Connection,
        application_id: UUID,
        cmd: apps.ReviseApplication,
        scope: store.Scope | None = None,
    ) -> apps.Application:
        current = await self._application_for_update(conn, application_id, scope)
        revised = apps.revise_application(current, cmd, now=self.clock())
        await store.save_application(conn, revised)
        return revised

    async def submit_application(
        self, conn: asyncpg.Connection, application_id: UUID, scope: store.Scope | None = None
    ) -> apps.Application:
        current = await self._application_for_update(conn, application_id, scope)
        product = await store.get_product(conn, current.product_id)
        producer = await store.get_producer(conn, current.producer_id)
        assert product is not None and producer is not None
        now = self.clock()
        product_set = classification.product_set(
            classification.Scheme(product.classification), product.product_set
        )
        held = await store.certificates_of(conn, product.id)
        live = certs.live_certificate(held, now.date())
        submitted, events = apps.submit_application(
            current,
            product=product,
            producer=producer,
            product_set=product_set,
            live=live,
            now=now,
            latest=certs.certificate_on(held, now.date()),
        )
        await store.save_application(conn, submitted)
        await self.publish(conn, list(events))
        return submitted

    async def file_application(
        self,
        conn: asyncpg.Connection,
        cmd: apps.DraftApplication,
        application_id: UUID,
        scope: store.Scope | None = None,
    ) -> tuple[apps.Application, bool]:
        """Draft and submit in one step (the Kafka command); a repeat has no second effect."""
        existing = await store.get_application(conn, application_id, scope=scope)
        if existing is not None:
            if existing.product_id != cmd.product_id:
                raise Conflict("application_id", f"{application_id} belongs to another product")
            if existing.status is not apps.ApplicationStatus.DRAFT:
                return existing, False
        else:
            await self.draft_application(conn, cmd, application_id, scope)
        return await self.submit_application(conn, application_id, scope), True

    async def withdraw_application(
        self,
        conn: asyncpg.Connection,
        application_id: UUID,
        reason: str,
        scope: store.Scope | None = None,
    ) -> apps.Application:
        current = await self._application_for_update(conn, application_id, scope)
        done, events = apps.withdraw_application(current, reason, now=self.clock())
        await store.save_application(conn, done)
        await self.publish(conn, list(events))
        return done

    # ------------------------------------------------------------ evaluation's facts

    async def apply_result(
        self,
        conn: asyncpg.Connection,
        application_id: UUID | None,
        status: apps.ApplicationStatus,
        reasons: tuple[str, ...] = (),
    ) -> None:
        if application_id is None:
            return
        current = await store.get_application(conn, application_id, for_update=True)
        if current is None:
            raise NotFound(
                "application_id", f"application {application_id} is not one the registry filed"
            )
        moved = apps.apply_result(current, status, reasons, now=self.clock())
        if moved is not current:
            await store.save_application(conn, moved)

    async def record_certificate(
        self,
        conn: asyncpg.Connection,
        certificate: certs.Certificate,
        application_id: UUID | None,
    ) -> None:
        if await store.get_product(conn, certificate.product_id, for_update=True) is None:
            raise NotFound(
                "product_id",
                f"certificate {certificate.number} names unknown product {certificate.product_id}",
            )
        await store.record_certificate(conn, certificate, self.clock())
        await self._project(conn, certificate.product_id)
        await self.apply_result(conn, application_id, apps.ApplicationStatus.CERTIFIED)

    async def end_certificate(
        self,
        conn: asyncpg.Connection,
        product_id: UUID,
        certificate_id: UUID,
        *,
        revoked_on: date | None = None,
        grounds: tuple[str, ...] = (),
        expired_on: date | None = None,
    ) -> None:
        if await store.get_product(conn, product_id, for_update=True) is None:
            raise NotFound("product_id", f"unknown product {product_id}")
        if not await store.end_certificate(
            conn, certificate_id, revoked_on=revoked_on, grounds=grounds, expired_on=expired_on
        ):
            raise NotFound(
                "certificate_id", f"certificate {certificate_id} was never reported to the registry"
            )
        await self._project(conn, product_id)

    async def _project(self, conn: asyncpg.Connection, product_id: UUID) -> None:
        history = await store.certificates_of(conn, product_id)
        await store.set_current_certificate(
            conn, product_id, certs.certificate_on(history, date.max)
        )
