"""Statistics to the statistics topic, coalesced (the dashboards follow the topic:
:mod:`ocop_insights.live`).

After a batch of events is applied the consumer wakes the :class:`Publisher`; it recomputes
every statistic for today from one snapshot of the facts, and stages a
``StatisticPublished`` in the outbox (the relay publishes it, keyed by statistic) for each
statistic whose content changed since it was last published. It runs at most once per
``interval`` seconds, so a burst of events gives one snapshot per key per interval, not one per
event. It also runs when the day changes (expiry windows move with the calendar).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from ocop_contracts.events import StatisticPublished, StatisticRow
from ocop_insights.domain.facts import local_date
from ocop_insights.domain.statistics import SCOPE, Statistic
from ocop_insights.store.statistics import compute_all
from ocop_runtime.outbox import stage_events

log = logging.getLogger("ocop.insights.publishing")


def to_event(statistic: Statistic, computed_at: datetime) -> StatisticPublished:
    definition = statistic.definition
    return StatisticPublished(
        statistic_key=definition.key,
        statistic=definition.name,
        scope=SCOPE,
        as_of=statistic.as_of,
        measures=list(definition.measures),
        rows=[StatisticRow(key=r.key, label=r.label, values=r.values) for r in statistic.rows],
        totals=statistic.totals,
        computed_at=computed_at,
    )


def to_json(statistic: Statistic) -> dict[str, Any]:
    """The HTTP shape: the event's fields, without when it was computed."""
    return to_event(statistic, datetime.now(UTC)).model_dump(mode="json", exclude={"computed_at"})


def digest(statistic: Statistic) -> str:
    text = json.dumps(statistic.content(), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


async def publish_changes(pool: asyncpg.Pool, day: date) -> list[StatisticPublished]:
    """Stage a snapshot of every statistic whose content changed; return them."""
    statistics = await compute_all(pool, day)
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        # One publisher at a time per schema (replicas): the digests are read under the lock.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ocop.insights.publisher'))")
        last = {
            r["key"]: r["digest"] for r in await conn.fetch("SELECT key, digest FROM published")
        }
        changed = [s for s in statistics if last.get(s.definition.key) != digest(s)]
        if not changed:
            return []
        events = [to_event(s, now) for s in changed]
        await stage_events(conn, events, service="insights")
        await conn.execute(
            "INSERT INTO published (key, digest, published_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])"
            " ON CONFLICT (key) DO UPDATE SET digest = EXCLUDED.digest,"
            " published_at = EXCLUDED.published_at",
            [s.definition.key for s in changed],
            [digest(s) for s in changed],
            [now] * len(changed),
        )
    return events


class Publisher:
    """Wakes on :meth:`changed` (the batch consumer's ``after_commit``) and publishes what
    changed, at most once per ``interval`` seconds."""

    def __init__(
        self,
        interval: float = 1.0,
        today: Callable[[], date] = lambda: local_date(datetime.now(UTC)),
    ) -> None:
        self.interval = interval
        self._today = today
        self._wake = asyncio.Event()
        self.published = 0  # snapshots staged since start

    def changed(self) -> None:
        self._wake.set()

    async def run(self, pool: asyncpg.Pool) -> None:
        loop = asyncio.get_running_loop()
        last_day: date | None = None
        self._wake.set()  # publish what changed while the service was down
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for may swallow a cancellation
            # that comes as the event is set, and the service could then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(self.interval, 1.0)):
                    await self._wake.wait()
            day = self._today()
            if not self._wake.is_set() and day == last_day:
                continue
            self._wake.clear()
            started = loop.time()
            try:
                events = await publish_changes(pool, day)
            except Exception as exc:  # the database is away: try again on the next round
                log.warning("statistics not published now (%s: %s)", type(exc).__name__, exc)
                self._wake.set()
            else:
                last_day = day
                self.published += len(events)
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))
