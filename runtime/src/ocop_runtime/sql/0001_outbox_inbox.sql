-- Delivery tables every service schema carries (applied by ocop_runtime.migrations to each schema).

-- Transactional outbox: written in the same transaction as the state change; the relay publishes
-- unpublished rows in id order and stamps published_at.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    ce_type      text        NOT NULL,
    ce_source    text        NOT NULL,
    ce_time      timestamptz NOT NULL,
    payload      text        NOT NULL,
    traceparent  text,
    tracestate   text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Wake the relay at commit (NOTIFY is delivered only when the inserting transaction commits).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ocop_outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Inbox: one row per event a consumer has applied, inserted in the effect's transaction.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    ce_type      text        NOT NULL,
    topic        text        NOT NULL,
    kafka_partition integer  NOT NULL,
    kafka_offset bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, event_id)
);

-- Dead letters this service's consumers sent to their DLQ topic: a local record for operators.
CREATE TABLE dead_letters (
    id              bigserial   PRIMARY KEY,
    consumer        text        NOT NULL,
    event_id        text,
    ce_type         text,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    reason          text        NOT NULL,
    attempts        integer     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
