"""Evaluation keeps registry's producers and products through its batched consumer: several
versions of one producer or product in one batch leave the newest, and an older version
arriving later changes nothing. Real broker and database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from ocop_contracts import topics
from ocop_contracts.events import LegalForm, ProducerUpdated
from ocop_runtime.kafka import ensure_topics
from ocop_runtime.testing import own_topics, producer_registered, running, wait_until
from tests.flow import evaluation_app, producer_copy, scalar, send_events
from tests.insights_events import product


def _producer_update(producer_id: Any, version: int, name: str) -> ProducerUpdated:
    return ProducerUpdated(
        producer_id=producer_id,
        version=version,
        legal_form=LegalForm.COOPERATIVE,
        name=name,
        commune_code="00004",
        updated_at=datetime.now(UTC),
    )


async def test_a_batch_with_several_versions_of_a_copy_keeps_the_newest_and_a_late_one_changes_nothing(
    make_settings: Any,
    kafka_bootstrap: str,
    database_url: str,
    unique: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer_id, product_id = uuid4(), uuid4()
    first = product(product_id, producer_id=producer_id)
    # Sent before evaluation starts, one key each: its first fetch takes them in this order.
    await ensure_topics(
        kafka_bootstrap,
        [own_topics().physical(t) for t in (topics.REGISTRY_PRODUCERS, topics.REGISTRY_PRODUCTS)],
        partitions=3,
        replication_factor=1,
    )
    await send_events(
        kafka_bootstrap,
        [
            producer_registered(producer_id, name="HTX một"),
            _producer_update(producer_id, 3, "HTX ba"),
            _producer_update(producer_id, 2, "HTX hai"),
            first,
            product(product_id, producer_id=producer_id, version=3).model_copy(
                update={"name": "Chè ba"}
            ),
            product(product_id, producer_id=producer_id, version=2).model_copy(
                update={"name": "Chè hai"}
            ),
        ],
    )
    schema = f"evaluation_{unique}"
    caplog.set_level(logging.INFO, logger="ocop.batching")
    async with running(evaluation_app(make_settings)) as client:

        async def all_six() -> bool:
            count = await scalar(database_url, f"SELECT count(*) FROM {schema}.inbox")
            return bool(count == 6)

        await wait_until(all_six, what="the six events in evaluation's inbox")
        copy = await producer_copy(client, str(producer_id))
        assert copy is not None and (copy["version"], copy["name"]) == (3, "HTX ba")
        stored = f"SELECT version || ' ' || name FROM {schema}.products WHERE product_id = $1"
        assert await scalar(database_url, stored, product_id) == "3 Chè ba"
        # The batch went through in one piece: no record was applied on its own.
        assert not [r for r in caplog.records if "one record at a time" in r.getMessage()]

        await send_events(kafka_bootstrap, [_producer_update(producer_id, 2, "HTX muộn")])

        async def seven() -> bool:
            count = await scalar(database_url, f"SELECT count(*) FROM {schema}.inbox")
            return bool(count == 7)

        await wait_until(seven, what="the late version in evaluation's inbox")
        copy = await producer_copy(client, str(producer_id))
        assert copy is not None and (copy["version"], copy["name"]) == (3, "HTX ba")
