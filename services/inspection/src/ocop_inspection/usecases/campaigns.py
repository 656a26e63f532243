"""Campaigns: planning, drawing the sample, adding a producer by hand, closing, reporting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from ocop_inspection import domain, publishing, store
from ocop_inspection.usecases.common import UseCases
from ocop_runtime.refusals import Conflict, NotFound, RuleViolation


@dataclass(frozen=True)
class DrawResult:
    draw: store.Draw
    items: list[domain.Drawn]
    sample_products: int
    sample_producers: int


class Campaigns(UseCases):
    async def _campaign(
        self, conn: store.Conn, campaign_id: UUID, *, lock: bool = True
    ) -> domain.Campaign:
        found = await store.get_campaign(conn, campaign_id, for_update=lock)
        if found is None:
            raise NotFound("campaign_id", f"campaign {campaign_id} does not exist")
        return found

    async def plan_campaign(self, conn: asyncpg.Connection, c: domain.Campaign) -> bool:
        """Plan ``c``; False when the same plan was already made under its id (a resend)."""
        existing = await store.get_campaign(conn, c.id, for_update=True)
        planned = domain.plan(c)
        if existing is not None:
            same = replace(
                existing, status=planned.status, planned_at=None, closed_at=None, reported_at=None
            ) == replace(planned, planned_at=None)
            if same:
                return False
            raise Conflict("id", f"campaign {c.id} exists with another plan")
        now = await self.now(conn)
        planned = replace(planned, planned_at=now)
        await store.insert_campaign(conn, planned)
        await self._publish(conn, [publishing.campaign_planned(planned, now)])
        return True

    async def amend_campaign(
        self, conn: asyncpg.Connection, campaign_id: UUID, changes: dict[str, Any]
    ) -> domain.Campaign:
        c = await self._campaign(conn, campaign_id)
        if c.status is not domain.CampaignStatus.PLANNED:
            raise Conflict("status", f"only a planned campaign is amended (it is {c.status})")
        amended = domain.plan(replace(c, **changes))
        await store.update_campaign(conn, amended)
        return amended

    async def draw_sample(
        self,
        conn: asyncpg.Connection,
        campaign_id: UUID,
        rule: domain.RuleDraw | domain.RiskDraw,
        as_of: date | None,
    ) -> DrawResult:
        """Draw from the products certified on ``as_of`` (default: the campaign's first day);
        a product already in the sample is not drawn twice."""
        c = await self._campaign(conn, campaign_id)
        domain.may_sample(c)
        day = as_of or c.starts_on
        population = await store.candidates(conn, day)
        if isinstance(rule, domain.RiskDraw):
            units = rule.units or c.units
            rule = replace(rule, units=units)
            drawn = domain.draw_by_risk(population, rule, day)
            method, seed = domain.Method.RISK, rule.seed
        else:
            drawn = domain.draw_by_rule(population, rule, day)
            method, seed = domain.Method.RULE, None
        if not drawn:
            raise RuleViolation(
                "sample", f"no certified product on {day} matches: nothing was drawn"
            )
        items = domain.new_items(await store.sampled_products(conn, campaign_id), drawn)
        now = await self.now(conn)
        parameters = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(rule).items()}
        draw = store.Draw(
            id=uuid4(),
            campaign_id=campaign_id,
            method=method,
            seed=seed,
            parameters={**parameters, "as_of": day.isoformat()},
            population=len(population),
            drawn=len(items),
            drawn_at=now,
        )
        await store.insert_draw(conn, draw, items)
        await self._publish(
            conn,
            [publishing.sample_drawn(campaign_id, method, seed, items, len(population), now)],
        )
        producers, products = await store.sample_ids(conn, campaign_id)
        return DrawResult(draw, items, len(products), len(producers))

    async def add_producer(
        self, conn: asyncpg.Connection, campaign_id: UUID, producer_id: UUID, reason: str
    ) -> DrawResult:
        """A producer added to the sample by hand, with its products certified on the
        campaign's first day; the reason is recorded."""
        c = await self._campaign(conn, campaign_id)
        domain.may_sample(c)
        if not reason.strip():
            raise RuleViolation("reason", "say why the producer is added")
        if await store.get_producer(conn, producer_id) is None:
            raise NotFound("producer_id", f"producer {producer_id} is not known to inspection")
        population = [
            p for p in await store.candidates(conn, c.starts_on) if p.producer_id == producer_id
        ]
        already = await store.sampled_products(conn, campaign_id)
        reasons = (f"added by hand: {reason.strip()}",)
        items = [
            domain.Drawn(
                p.product_id, p.producer_id, p.unit, domain.risk_of(p, c.starts_on)[0], reasons
            )
            for p in population
            if p.product_id not in already
        ]
        producer = await store.get_producer(conn, producer_id)
        assert producer is not None
        now = await self.now(conn)
        draw = store.Draw(
            id=uuid4(),
            campaign_id=campaign_id,
            method=domain.Method.MANUAL,
            seed=None,
            parameters={"producer_id": str(producer_id), "reason": reason.strip()},
            population=len(population),
            drawn=len(items),
            drawn_at=now,
        )
        await store.insert_draw(conn, draw, items)
        unit = producer.district_code or producer.commune_code
        await store.add_sample_producer(conn, campaign_id, producer_id, unit, reasons[0])
        await self._publish(
            conn,
            [
                publishing.sample_drawn(
                    campaign_id, domain.Method.MANUAL, None, items, len(population), now
                )
            ],
        )
        producers, products = await store.sample_ids(conn, campaign_id)
        return DrawResult(draw, items, len(products), len(producers))

    async def campaign_report(self, conn: store.Conn, campaign_id: UUID) -> domain.Report:
        c = await self._campaign(conn, campaign_id, lock=False)
        producers, products = await store.sample_ids(conn, campaign_id)
        visits, findings = await store.report_facts(conn, campaign_id)
        return domain.report(c, producers, products, visits, findings)

    async def close_campaign(self, conn: asyncpg.Connection, campaign_id: UUID) -> domain.Campaign:
        c = await self._campaign(conn, campaign_id)
        now = await self.now(conn)
        closed = domain.close(c, now)
        await store.update_campaign(conn, closed)
        r = await self.campaign_report(conn, campaign_id)
        await self._publish(conn, [publishing.campaign_closed(closed, r, now)])
        return closed

    async def publish_report(self, conn: asyncpg.Connection, campaign_id: UUID) -> domain.Report:
        c = await self._campaign(conn, campaign_id)
        now = await self.now(conn)
        reported = domain.mark_reported(c, now)
        r = await self.campaign_report(conn, campaign_id)
        await store.update_campaign(conn, reported)
        event = publishing.campaign_reported(r, now)
        await store.save_report(conn, campaign_id, event.model_dump(mode="json"))
        await self._publish(conn, [event])
        return r
