-- Certificates decided before the system, loaded from the city's records (POST
-- /imports/certificates). One row per product and decision: what makes a re-import idempotent.
CREATE TABLE history_rows (
    product_id      uuid        NOT NULL,
    decision_number text        NOT NULL,
    action          text        NOT NULL,
    decision_date   date        NOT NULL,
    fingerprint     text        NOT NULL,  -- the row's values, to tell a repeat from a clash
    certificate_id  uuid,                  -- the certificate the row issued or ended
    imported_at     timestamptz NOT NULL,
    PRIMARY KEY (product_id, decision_number)
);

-- Nominations to the central council for 5★, and the central outcome when known.
CREATE TABLE nominations (
    product_id       uuid    NOT NULL,
    decision_number  text    NOT NULL,
    decision_date    date    NOT NULL,
    to_level         text    NOT NULL,
    score            numeric,
    outcome          text    CHECK (outcome IN ('upgraded', 'not_upgraded')),
    outcome_decision text,
    outcome_date     date,
    PRIMARY KEY (product_id, decision_number)
);
CREATE INDEX nominations_open ON nominations (product_id) WHERE outcome IS NULL;

-- The producer's registration number, from registry's events, to find a product by its
-- producer's number and its name.
ALTER TABLE producers ADD COLUMN registration_number text;
CREATE INDEX producers_registration ON producers (registration_number);
