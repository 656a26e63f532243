"""Follow the registry's producers: count new producers by commune in a local SQLite database.

Run ``python consume.py`` (settings from the environment: settings.py). Stop or kill it at any
time: the effect and the event's ``ce_id`` are stored in one transaction and the offset is
committed after it, so a restart neither loses an event nor counts one twice.
"""

from __future__ import annotations

import asyncio
import sqlite3

from aiokafka import AIOKafkaConsumer, TopicPartition
from settings import Settings

from ocop_contracts import Envelope, EnvelopeError, UnknownEventType, decode_event, topics
from ocop_contracts.catalogue import ValidationError
from ocop_contracts.events import ProducerRegistered

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (ce_id TEXT PRIMARY KEY, ce_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS producers_by_commune (
    commune_code TEXT PRIMARY KEY, producers INTEGER NOT NULL
);
"""


def apply(db: sqlite3.Connection, envelope: Envelope, value: bytes) -> bool:
    """Apply one event once; False when its ce_id was seen before (delivery is at least once)."""
    try:
        event = decode_event(envelope.type, value)  # a validated pydantic model
    except UnknownEventType:
        event = None  # a type newer than this code: mark it seen and move on
    with db:  # one transaction: the effect and the event id, or neither
        seen = db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (envelope.id, envelope.type))
        if seen.rowcount == 0:
            return False
        if isinstance(event, ProducerRegistered):
            db.execute(
                "INSERT INTO producers_by_commune VALUES (?, 1) ON CONFLICT (commune_code)"
                " DO UPDATE SET producers = producers + 1",
                (event.commune_code,),
            )
    return True


async def main(settings: Settings) -> None:
    db = sqlite3.connect(settings.database)
    db.executescript(SCHEMA)
    consumer = AIOKafkaConsumer(
        settings.topic(topics.REGISTRY_PRODUCERS),
        group_id=f"agency.{settings.agency}.producers-by-commune",  # your own group
        auto_offset_reset="earliest",  # a new group starts from the beginning
        enable_auto_commit=False,  # commit only after the effect, below
        **settings.kafka(),
    )
    await consumer.start()
    try:
        async for record in consumer:
            try:
                envelope = Envelope.from_headers(record.headers)  # ce_id, ce_type, ce_time …
                outcome = "applied" if apply(db, envelope, record.value) else "duplicate"
                print(outcome, envelope.type, envelope.id, flush=True)
            except (EnvelopeError, ValidationError) as exc:  # not a valid ocop record
                print("skipped", record.topic, record.partition, record.offset, exc, flush=True)
            partition = TopicPartition(record.topic, record.partition)
            await consumer.commit({partition: record.offset + 1})
    finally:
        await consumer.stop()
        db.close()


if __name__ == "__main__":
    asyncio.run(main(Settings.from_environment()))
