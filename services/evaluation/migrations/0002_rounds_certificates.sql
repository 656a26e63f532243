-- Local copy of registry's products: what scoring needs (the product set picks the sheet).
CREATE TABLE products (
    product_id     uuid        PRIMARY KEY,
    producer_id    uuid        NOT NULL,
    name           text        NOT NULL,
    public_code    text        NOT NULL,
    classification text        NOT NULL,
    product_set    text        NOT NULL,
    commune_code   text        NOT NULL,
    district_code  text,
    version        integer     NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Evaluation rounds (cycles) per year and level.
CREATE TABLE rounds (
    id         uuid        PRIMARY KEY,
    year       integer     NOT NULL,
    level      text        NOT NULL CHECK (level IN ('commune', 'district', 'city', 'central')),
    name       text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('open', 'closed', 'decided')),
    opened_at  timestamptz NOT NULL,
    closed_at  timestamptz,
    override   text,       -- why the round was closed with unresolved integrity flags
    decision_number text,
    decision_date   date
);
-- One open round per year and level: submitted applications join it.
CREATE UNIQUE INDEX rounds_one_open ON rounds (year, level) WHERE status = 'open';

-- Submitted applications; round_id is NULL until a round at their level opens.
CREATE TABLE entries (
    application_id  uuid        PRIMARY KEY,
    product_id      uuid        NOT NULL,
    producer_id     uuid        NOT NULL,
    kind            text        NOT NULL,
    regime          text        NOT NULL,
    product_set     text        NOT NULL,
    commune_code    text        NOT NULL,
    district_code   text,
    round_year      integer     NOT NULL,
    level           text        NOT NULL,
    submitted_on    date        NOT NULL,
    round_id        uuid        REFERENCES rounds (id),
    status          text        NOT NULL,  -- waiting, entered, withdrawn, scored, certified, not_recognised, forwarded
    result          jsonb,
    created_at      timestamptz NOT NULL
);
CREATE INDEX entries_round ON entries (round_id);
CREATE INDEX entries_waiting ON entries (round_year, level) WHERE round_id IS NULL;

CREATE TABLE council_members (
    round_id   uuid NOT NULL REFERENCES rounds (id),
    member_id  text NOT NULL,          -- the member's token subject
    name       text NOT NULL,
    role       text NOT NULL CHECK (role IN ('chair', 'member')),
    unit_code  text,                   -- unit of origin, for conflict-of-interest checks
    PRIMARY KEY (round_id, member_id)
);

CREATE TABLE score_sheets (
    round_id       uuid        NOT NULL REFERENCES rounds (id),
    application_id uuid        NOT NULL REFERENCES entries (application_id),
    member_id      text        NOT NULL,
    points         jsonb       NOT NULL,
    submitted_at   timestamptz NOT NULL,
    PRIMARY KEY (round_id, application_id, member_id)
);

CREATE TABLE certificates (
    id              uuid        PRIMARY KEY,
    number          text        NOT NULL UNIQUE,
    product_id      uuid        NOT NULL,
    application_id  uuid,
    star            smallint    NOT NULL,
    level           text        NOT NULL,
    score           numeric,
    decision_number text        NOT NULL,
    decision_date   date        NOT NULL,
    valid_until     date        NOT NULL,
    rulebook        text        NOT NULL,
    rulebook_version integer    NOT NULL,
    replaces        uuid,
    state           text        NOT NULL,
    ended_on        date,
    replaced_by     uuid,
    replacement     text,
    revocation      jsonb,
    notices_sent    integer[]   NOT NULL DEFAULT '{}',
    issued_at       timestamptz NOT NULL
);
CREATE INDEX certificates_product ON certificates (product_id, decision_date);
CREATE INDEX certificates_live_until ON certificates (valid_until) WHERE state = 'live';

CREATE TABLE certificate_numbers (
    year          integer PRIMARY KEY,
    last_sequence integer NOT NULL
);

-- Inspection's recommendations waiting for the committee's decision.
CREATE TABLE revocation_recommendations (
    id             uuid        PRIMARY KEY,
    product_id     uuid        NOT NULL,
    certificate_id uuid,
    grounds        text[]      NOT NULL,
    findings       text[]      NOT NULL,
    recommended_at timestamptz NOT NULL,
    decided        text        -- NULL while pending; 'revoked' or 'rejected'
);

-- The evaluation clock's offset from real time (demonstrations move time forward).
CREATE TABLE clock (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    offset_days integer NOT NULL
);
INSERT INTO clock VALUES (true, 0);
