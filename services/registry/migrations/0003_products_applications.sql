-- Producers gain their business registration, address and contacts; products, their public
-- codes and the projection of evaluation's certificates; applications with their dossiers.
ALTER TABLE producers
    ADD COLUMN registration_number   text,
    ADD COLUMN address               text,
    ADD COLUMN district_code         text,
    ADD COLUMN deregistered_at       timestamptz,
    ADD COLUMN deregistration_reason text;
-- A registration number identifies one producer of a legal form (the import's business key).
CREATE UNIQUE INDEX producers_registration ON producers (legal_form, registration_number)
    WHERE registration_number IS NOT NULL;
CREATE INDEX producers_commune ON producers (commune_code);

-- Personal data: names, phones, national ids and home addresses of the people behind a
-- producer. Never published; kept apart so that export and erasure touch one table.
CREATE TABLE producer_contacts (
    producer_id  uuid    NOT NULL REFERENCES producers (id),
    position     integer NOT NULL,
    full_name    text    NOT NULL,
    role         text    NOT NULL,
    phone        text,
    email        text,
    national_id  text,
    home_address text,
    PRIMARY KEY (producer_id, position)
);

CREATE TABLE products (
    id                    uuid        PRIMARY KEY,
    producer_id           uuid        NOT NULL REFERENCES producers (id),
    name                  text        NOT NULL,
    name_key              text        NOT NULL,  -- lower-cased name: (producer, name) is the business key
    public_code           text        NOT NULL UNIQUE,
    classification        text        NOT NULL CHECK (classification IN ('1048', '148')),
    product_set           text        NOT NULL,
    sector                text        NOT NULL,
    statistics_sector     text        NOT NULL,
    commune_code          text        NOT NULL,
    commune_valid_from    date        NOT NULL,
    district_code         text,
    registered_on         date        NOT NULL,
    version               integer     NOT NULL,
    registered_at         timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    deregistered_at       timestamptz,
    deregistration_reason text,
    -- The latest certificate, projected from evaluation's events (never edited by hand).
    certificate_id        uuid,
    star                  smallint,
    certificate_number    text,
    certificate_from      date,
    certificate_until     date,
    certificate_revoked   date,
    certificate_expired   date,
    FOREIGN KEY (commune_code, commune_valid_from) REFERENCES admin_units (code, valid_from)
);
CREATE UNIQUE INDEX products_business_key ON products (producer_id, name_key)
    WHERE deregistered_at IS NULL;
CREATE INDEX products_registered ON products (registered_at, id);
CREATE INDEX products_name ON products (name_key, id);
CREATE INDEX products_producer ON products (producer_id);
CREATE INDEX products_commune ON products (commune_code, commune_valid_from);
CREATE INDEX products_district ON products (district_code);
CREATE INDEX products_set ON products (product_set);
CREATE INDEX products_star ON products (star);

-- Public codes are numbered per commune and year.
CREATE TABLE product_code_sequences (
    commune_code  text    NOT NULL,
    year          integer NOT NULL,
    last_sequence integer NOT NULL,
    PRIMARY KEY (commune_code, year)
);

-- Every certificate evaluation reported, for the state on any day (the lookup's as_of).
CREATE TABLE certificates (
    id                 uuid        PRIMARY KEY,
    product_id         uuid        NOT NULL REFERENCES products (id),
    number             text        NOT NULL,
    star               smallint    NOT NULL CHECK (star BETWEEN 3 AND 5),
    score              double precision,
    level              text        NOT NULL,
    decision_number    text        NOT NULL,
    decision_date      date        NOT NULL,
    valid_from         date        NOT NULL,
    valid_until        date        NOT NULL,
    rulebook           text        NOT NULL,
    replaces_id        uuid,
    revoked_on         date,
    revocation_grounds text[]      NOT NULL DEFAULT '{}',
    expired_on         date,
    recorded_at        timestamptz NOT NULL
);
CREATE INDEX certificates_product ON certificates (product_id, valid_from);

CREATE TABLE applications (
    id                    uuid             PRIMARY KEY,
    product_id            uuid             NOT NULL REFERENCES products (id),
    producer_id           uuid             NOT NULL REFERENCES producers (id),
    kind                  text             NOT NULL,
    round_year            integer          NOT NULL,
    status                text             NOT NULL,
    documents             jsonb            NOT NULL,
    self_assessment_score double precision,
    regime                text,
    submitted_at          timestamptz,
    reasons               text[]           NOT NULL DEFAULT '{}',
    version               integer          NOT NULL,
    created_at            timestamptz      NOT NULL,
    updated_at            timestamptz      NOT NULL
);
-- One application in progress per product.
CREATE UNIQUE INDEX applications_one_open ON applications (product_id)
    WHERE status IN ('draft', 'submitted', 'returned', 'accepted');
CREATE INDEX applications_created ON applications (created_at, id);
CREATE INDEX applications_producer ON applications (producer_id);
