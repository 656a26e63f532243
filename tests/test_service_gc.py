"""What a service builds at start-up stays out of the garbage collector's full collections
while it runs (``gc.freeze``), and is handed back at shutdown."""

from __future__ import annotations

import gc
from typing import Any

from ocop_runtime.testing import running
from tests.flow import registry_app


async def test_start_up_objects_are_frozen_while_the_service_runs_and_given_back_at_shutdown(
    make_settings: Any,
) -> None:
    gc.unfreeze()
    app = registry_app(make_settings)
    async with running(app) as registry:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the app, its routes and models, the clients
        assert (await registry.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() <= frozen  # requests add nothing frozen
    assert gc.get_freeze_count() == 0
