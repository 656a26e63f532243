-- The facts the statistics are computed from, each with its date, so that any statistic can be
-- asked for at a past date. Every table is filled by set-based upserts that give the same rows
-- whatever order the events arrive in (a certificate before its product, an update before its
-- registration) and however often.

-- Producers: the latest version wins; a deregistration is kept beside it.
CREATE TABLE producers (
    producer_id     uuid PRIMARY KEY,
    version         integer NOT NULL DEFAULT 0,  -- 0: known only from its deregistration
    legal_form      text,
    commune_code    text,
    district_code   text,
    registered_on   date,
    deregistered_on date
);

-- Products: the latest version wins; a deregistration is kept beside it.
CREATE TABLE products (
    product_id        uuid PRIMARY KEY,
    version           integer NOT NULL DEFAULT 0,
    producer_id       uuid,
    legal_form        text,
    classification    text,
    product_set       text,
    sector            text,
    statistics_sector text,
    registered_on     date,
    deregistered_on   date
);

-- Where a product was made, version by version, from the day each version took effect: a
-- statistic by unit takes the place in force on its date.
CREATE TABLE product_places (
    product_id    uuid    NOT NULL,
    version       integer NOT NULL,
    since         date    NOT NULL,
    commune_code  text    NOT NULL,
    district_code text,
    PRIMARY KEY (product_id, version)
);

-- Certificates as issued (first certification, re-evaluation, upgrade).
CREATE TABLE certificates (
    certificate_id uuid PRIMARY KEY,
    product_id     uuid     NOT NULL,
    kind           text     NOT NULL,
    star           smallint NOT NULL,
    level          text     NOT NULL,
    decision_date  date     NOT NULL,
    valid_from     date     NOT NULL,
    valid_until    date     NOT NULL,
    replaces       uuid,
    application_id uuid
);
CREATE INDEX certificates_product ON certificates (product_id);
CREATE INDEX certificates_replaces ON certificates (replaces) WHERE replaces IS NOT NULL;

-- How a certificate ended before its term (revoked) or at it (expired).
CREATE TABLE certificate_ends (
    certificate_id uuid NOT NULL,
    reason         text NOT NULL,
    ended_on       date NOT NULL,
    PRIMARY KEY (certificate_id, reason)
);

-- Nominations of a city 4-star to the central council (potential 5 stars).
CREATE TABLE nominations (
    application_id uuid PRIMARY KEY,
    product_id     uuid NOT NULL,
    nominated_on   date NOT NULL
);
CREATE INDEX nominations_product ON nominations (product_id);

-- Applications to a round, and what the councils decided on them.
CREATE TABLE applications (
    application_id    uuid PRIMARY KEY,
    product_id        uuid NOT NULL,
    kind              text,
    round_year        integer,
    statistics_sector text,
    submitted_on      date,
    withdrawn_on      date
);

CREATE TABLE results (
    application_id uuid NOT NULL,
    level          text NOT NULL,  -- the council's level; 'none' for not recognised
    product_id     uuid NOT NULL,
    outcome        text NOT NULL,
    star           smallint,
    decided_on     date NOT NULL,
    PRIMARY KEY (application_id, level)
);
CREATE INDEX results_product ON results (product_id);

-- Yearly targets of the programme, as data (plan vs actual).
CREATE TABLE targets (
    measure text    NOT NULL,
    year    integer NOT NULL,
    value   integer NOT NULL,
    source  text    NOT NULL,
    PRIMARY KEY (measure, year)
);
INSERT INTO targets (measure, year, value, source) VALUES
    ('new_products', 2021, 400, 'Hanoi OCOP plan 2021-2025: at least 400 new products a year'),
    ('new_products', 2022, 400, 'Hanoi OCOP plan 2021-2025: at least 400 new products a year'),
    ('new_products', 2023, 400, 'Hanoi OCOP plan 2021-2025: at least 400 new products a year'),
    ('new_products', 2024, 400, 'Hanoi OCOP plan 2021-2025: at least 400 new products a year'),
    ('new_products', 2025, 400, 'Hanoi OCOP plan 2021-2025: at least 400 new products a year'),
    ('new_products_since_2021', 2025, 2000, 'Hanoi OCOP plan 2021-2025: +2,000 products by 2025');

-- What was last published per statistic key (a digest of its content), so only changes are.
CREATE TABLE published (
    key          text        PRIMARY KEY,
    digest       text        NOT NULL,
    published_at timestamptz NOT NULL
);
