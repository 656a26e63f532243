"""The expiry scheduler: every ``OCOP_SCHEDULER_SECONDS`` it sends the notices due and expires
what has ended, on the evaluation clock. Several replicas may run it: rows are claimed with
SKIP LOCKED and every step is idempotent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ocop_evaluation.usecases import Evaluation
from ocop_runtime.app import ServiceContext
from ocop_runtime.db import transaction

log = logging.getLogger("ocop.evaluation.scheduler")


def expiry_scheduler(
    evaluation: Evaluation, every_seconds: float
) -> Callable[[ServiceContext], Coroutine[Any, Any, None]]:
    async def run(ctx: ServiceContext) -> None:
        while True:
            try:
                async with transaction(ctx.pool, "expiry_sweep") as conn:
                    counts = await evaluation.sweep(conn)
                if any(counts.values()):
                    log.info("expiry sweep: %s", counts)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("expiry sweep failed; trying again in %.0f s", every_seconds)
            await asyncio.sleep(every_seconds)

    return run
