-- Local copy of registry's producers: what scoring and conflict-of-interest checks need.
CREATE TABLE producers (
    producer_id   uuid        PRIMARY KEY,
    legal_form    text        NOT NULL,
    name          text,
    commune_code  text        NOT NULL,
    version       integer     NOT NULL,
    registered_at timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
