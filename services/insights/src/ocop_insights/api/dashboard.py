"""``GET /dashboard``: a plain HTML page with charts of the statistics, updated live over
Server-Sent Events (``GET /dashboard/events``) with each snapshot on the statistics topic. The
chart library is vendored in the package (no network, no build step at run time)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse

from ocop_insights.domain.facts import local_date
from ocop_insights.live import Broadcast
from ocop_insights.publishing import to_event
from ocop_insights.store.statistics import compute_all
from ocop_runtime.app import ServiceContext, context_of

router = APIRouter(tags=["dashboard"])

STATIC = Path(__file__).resolve().parents[1] / "static"
KEEPALIVE_SECONDS = 15.0


@router.get("/dashboard", response_class=HTMLResponse, summary="The live dashboard page")
async def dashboard() -> HTMLResponse:
    return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"))


@router.get("/dashboard/chart.umd.min.js", include_in_schema=False)
async def chart_library() -> FileResponse:
    return FileResponse(
        STATIC / "chart.umd.min.js",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _frame(payload: str) -> bytes:
    return f"event: statistic\ndata: {payload}\n\n".encode()


# Left out of the OpenAPI document: a stream that never ends is no request/response operation
# (generated clients and fuzzers would wait on it forever); docs/SECURITY.md lists it.
@router.get("/dashboard/events", include_in_schema=False)
async def dashboard_events(request: Request) -> StreamingResponse:
    """Server-Sent Events: every statistic now, then each new snapshot as it is published."""
    ctx: ServiceContext = context_of(request)
    broadcast: Broadcast = request.app.state.broadcast

    async def stream() -> AsyncIterator[bytes]:
        async with broadcast.listen() as queue:
            now = datetime.now(UTC)
            for statistic in await compute_all(ctx.pool, local_date(now)):
                yield _frame(to_event(statistic, now).model_dump_json())
            while not await request.is_disconnected():
                try:
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        event = await queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield _frame(json.dumps(event.model_dump(mode="json")))

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
