"""The overdue scheduler: every ``OCOP_SCHEDULER_SECONDS`` it marks the remediations whose
deadline has passed on the inspection clock overdue (and publishes ``RemediationOverdue``).
Several replicas may run it: rows are claimed with SKIP LOCKED and each is marked once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ocop_inspection.usecases import Inspection
from ocop_runtime.app import ServiceContext
from ocop_runtime.db import transaction

log = logging.getLogger("ocop.inspection.scheduler")


async def sweep(inspection: Inspection, ctx: ServiceContext) -> int:
    """One full sweep, in batches, each in its own transaction; how many went overdue."""
    total = 0
    while True:
        async with transaction(ctx.pool, "overdue_sweep") as conn:
            marked = await inspection.sweep_overdue(conn)
        total += marked
        if marked == 0:
            return total


def overdue_scheduler(
    inspection: Inspection, every_seconds: float
) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    async def run(ctx: ServiceContext) -> None:
        while True:
            try:
                marked = await sweep(inspection, ctx)
                if marked:
                    log.info("overdue sweep: %d remediation(s) overdue", marked)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("overdue sweep failed; trying again in %.0f s", every_seconds)
            await asyncio.sleep(every_seconds)

    return run
