-- Local copy of registry's products (with what their events say of the producer).
CREATE TABLE products (
    product_id          uuid        PRIMARY KEY,
    producer_id         uuid        NOT NULL,
    producer_legal_form text        NOT NULL,
    producer_name       text,       -- NULL for household businesses
    name                text        NOT NULL,
    public_code         text        NOT NULL,
    product_set         text        NOT NULL,
    statistics_sector   text        NOT NULL,
    commune_code        text        NOT NULL,
    district_code       text,
    version             integer     NOT NULL,
    deregistered_at     timestamptz,
    received_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX products_producer ON products (producer_id);

-- Local copy of evaluation's certificates: what eligibility by date needs.
-- A certificate covers the days valid_from .. valid_until, and none from ended_on on.
CREATE TABLE certificates (
    certificate_id uuid        PRIMARY KEY,
    product_id     uuid        NOT NULL,
    star           integer     NOT NULL CHECK (star BETWEEN 3 AND 5),
    valid_from     date        NOT NULL,
    valid_until    date        NOT NULL,
    state          text        NOT NULL CHECK (state IN ('live', 'expired', 'revoked', 'replaced', 'ended')),
    ended_on       date,
    end_reason     text,
    received_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX certificates_product ON certificates (product_id);

-- Promotion events: fairs, culture and product weeks, livestreams, online markets, forums,
-- workshops, Tết spaces.
CREATE TABLE promotions (
    id                 uuid        PRIMARY KEY,
    kind               text        NOT NULL,
    name               text        NOT NULL,
    organiser          text        NOT NULL,
    venue              text        NOT NULL,
    unit_code          text,
    district_code      text,
    starts_on          date        NOT NULL,
    ends_on            date        NOT NULL CHECK (ends_on >= starts_on),
    capacity           integer     NOT NULL CHECK (capacity >= 1),
    admits_other_goods boolean     NOT NULL,
    status             text        NOT NULL CHECK (status IN
        ('planned', 'registration_open', 'running', 'closed', 'reported', 'cancelled')),
    cancel_reason      text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX promotions_dates ON promotions (starts_on, id);

-- A producer's application to take part in a promotion event, and its decision.
CREATE TABLE participations (
    id           uuid        PRIMARY KEY,
    event_id     uuid        NOT NULL REFERENCES promotions (id),
    producer_id  uuid        NOT NULL,
    product_ids  uuid[]      NOT NULL,
    other_goods  text[]      NOT NULL,
    stalls       integer     NOT NULL CHECK (stalls >= 1),
    status       text        NOT NULL CHECK (status IN ('accepted', 'refused', 'withdrawn')),
    reasons      text[]      NOT NULL DEFAULT '{}',
    decided_at   timestamptz NOT NULL
);
CREATE INDEX participations_event ON participations (event_id, status);
CREATE INDEX participations_producer ON participations (producer_id);
-- One accepted participation per producer and event.
CREATE UNIQUE INDEX participations_one_per_producer ON participations (event_id, producer_id)
    WHERE status = 'accepted';

-- Points of sale of OCOP products.
CREATE TABLE outlets (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL,
    operator      text        NOT NULL,
    location_type text        NOT NULL,
    unit_code     text        NOT NULL,
    district_code text,
    address       text,
    opened_on     date        NOT NULL,
    closed_on     date        CHECK (closed_on >= opened_on),
    close_reason  text,
    created_at    timestamptz NOT NULL
);
CREATE INDEX outlets_opened ON outlets (opened_on, id);

-- Goods on sale at a point of sale, on one basis.
CREATE TABLE listings (
    id               uuid        PRIMARY KEY,
    outlet_id        uuid        NOT NULL REFERENCES outlets (id),
    basis            text        NOT NULL,
    goods_name       text        NOT NULL,
    product_id       uuid,
    producer_id      uuid,
    star             integer,
    certificate_id   uuid,
    status           text        NOT NULL CHECK (status IN ('live', 'suspended', 'delisted')),
    listed_on        date        NOT NULL,
    suspended_on     date,
    suspension_reason text,
    suspension_detail text,
    delisted_on      date,
    delist_reason    text,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX listings_outlet ON listings (outlet_id, id);
CREATE INDEX listings_product ON listings (product_id) WHERE product_id IS NOT NULL;
-- A product is listed once at an outlet until it is delisted.
CREATE UNIQUE INDEX listings_one_per_product ON listings (outlet_id, product_id)
    WHERE product_id IS NOT NULL AND status <> 'delisted';

-- What an event or an outlet brought a producer (and product) over a period.
CREATE TABLE outcomes (
    id                  uuid        PRIMARY KEY,
    event_id            uuid        REFERENCES promotions (id),
    outlet_id           uuid        REFERENCES outlets (id),
    producer_id         uuid        NOT NULL,
    product_id          uuid,
    period_start        date        NOT NULL,
    period_end          date        NOT NULL CHECK (period_end >= period_start),
    sales_vnd           bigint      NOT NULL CHECK (sales_vnd >= 0),
    quantity            bigint      NOT NULL CHECK (quantity >= 0),
    contracts_signed    integer     NOT NULL CHECK (contracts_signed >= 0),
    contracts_value_vnd bigint      NOT NULL CHECK (contracts_value_vnd >= 0),
    buyers_met          integer     NOT NULL CHECK (buyers_met >= 0),
    recorded_at         timestamptz NOT NULL,
    CHECK ((event_id IS NULL) <> (outlet_id IS NULL))
);
CREATE INDEX outcomes_event ON outcomes (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX outcomes_outlet ON outcomes (outlet_id) WHERE outlet_id IS NOT NULL;
CREATE INDEX outcomes_producer ON outcomes (producer_id);
