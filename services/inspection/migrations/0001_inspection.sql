-- Local copies of the certified population (from registry's and evaluation's events).
CREATE TABLE producers (
    producer_id   uuid        PRIMARY KEY,
    legal_form    text        NOT NULL,
    name          text,
    commune_code  text        NOT NULL,
    district_code text,
    active        boolean     NOT NULL DEFAULT true,
    version       integer     NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE products (
    product_id    uuid        PRIMARY KEY,
    producer_id   uuid        NOT NULL,
    name          text        NOT NULL,
    public_code   text        NOT NULL,
    product_set   text        NOT NULL,
    commune_code  text        NOT NULL,
    district_code text,
    active        boolean     NOT NULL DEFAULT true,
    version       integer     NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX products_producer ON products (producer_id);

-- Certificates as evaluation publishes them; ended_on is the first day a certificate no longer
-- holds (replaced, expired or revoked), NULL while live.
CREATE TABLE certificates (
    certificate_id uuid        PRIMARY KEY,
    product_id     uuid        NOT NULL,
    star           integer     NOT NULL CHECK (star BETWEEN 3 AND 5),
    decision_date  date        NOT NULL,
    valid_from     date        NOT NULL,
    valid_until    date        NOT NULL,
    state          text        NOT NULL CHECK (state IN ('live', 'replaced', 'expired', 'revoked')),
    ended_on       date,
    received_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX certificates_product ON certificates (product_id);
CREATE INDEX certificates_decision ON certificates (decision_date);

-- Complaints about a product (a risk factor of sampling).
CREATE TABLE complaints (
    id          uuid        PRIMARY KEY,
    product_id  uuid        NOT NULL,
    received_on date        NOT NULL,
    reference   text        NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX complaints_product ON complaints (product_id);

CREATE TABLE campaigns (
    id               uuid        PRIMARY KEY,
    name             text        NOT NULL,
    year             integer     NOT NULL,
    lead_agency      text        NOT NULL,
    departments      text[]      NOT NULL,
    scope            text[]      NOT NULL,
    units            text[]      NOT NULL,
    target_producers integer     NOT NULL CHECK (target_producers >= 0),
    target_products  integer     NOT NULL CHECK (target_products >= 0),
    starts_on        date        NOT NULL,
    ends_on          date        NOT NULL CHECK (ends_on >= starts_on),
    status           text        NOT NULL CHECK (status IN ('planned', 'running', 'closed', 'reported')),
    planned_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    reported_at      timestamptz,
    report           jsonb
);

-- Each draw of a campaign's sample, with what reproduces it.
CREATE TABLE draws (
    id          uuid        PRIMARY KEY,
    campaign_id uuid        NOT NULL REFERENCES campaigns (id),
    method      text        NOT NULL CHECK (method IN ('rule', 'risk', 'manual')),
    seed        bigint,
    parameters  jsonb       NOT NULL,
    population  integer     NOT NULL,
    drawn       integer     NOT NULL,
    drawn_at    timestamptz NOT NULL
);

CREATE TABLE sample_products (
    campaign_id uuid    NOT NULL REFERENCES campaigns (id),
    product_id  uuid    NOT NULL,
    producer_id uuid    NOT NULL,
    unit        text,
    draw_id     uuid    NOT NULL REFERENCES draws (id),
    method      text    NOT NULL,
    risk        integer NOT NULL DEFAULT 0,
    reasons     text[]  NOT NULL,
    PRIMARY KEY (campaign_id, product_id)
);
CREATE INDEX sample_products_producer ON sample_products (campaign_id, producer_id);

CREATE TABLE sample_producers (
    campaign_id uuid   NOT NULL REFERENCES campaigns (id),
    producer_id uuid   NOT NULL,
    unit        text,
    method      text   NOT NULL,
    reasons     text[] NOT NULL,
    PRIMARY KEY (campaign_id, producer_id)
);

CREATE TABLE visits (
    id                    uuid        PRIMARY KEY,
    campaign_id           uuid        REFERENCES campaigns (id),
    producer_id           uuid        NOT NULL,
    visited_on            date        NOT NULL,
    product_ids           uuid[]      NOT NULL,
    unit                  text,
    minutes               text,
    reason_outside_sample text,
    recorded_by           text        NOT NULL,
    recorded_at           timestamptz NOT NULL
);
CREATE INDEX visits_campaign ON visits (campaign_id, producer_id);
CREATE INDEX visits_producer ON visits (producer_id);

CREATE TABLE findings (
    id          uuid        PRIMARY KEY,
    visit_id    uuid        NOT NULL REFERENCES visits (id),
    campaign_id uuid,
    producer_id uuid        NOT NULL,
    product_id  uuid        NOT NULL,
    category    text        NOT NULL,
    severity    text        NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
    criterion   text,
    evidence    text[]      NOT NULL,
    lab_sample  jsonb,
    outcome     text        NOT NULL,
    note        text,
    visited_on  date        NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX findings_visit ON findings (visit_id);
CREATE INDEX findings_product ON findings (product_id);
CREATE INDEX findings_campaign ON findings (campaign_id);

CREATE TABLE remediations (
    id           uuid        PRIMARY KEY,
    finding_id   uuid        NOT NULL UNIQUE REFERENCES findings (id),
    producer_id  uuid        NOT NULL,
    product_id   uuid        NOT NULL,
    campaign_id  uuid,
    required_on  date        NOT NULL,
    deadline     date        NOT NULL CHECK (deadline > required_on),
    status       text        NOT NULL CHECK (status IN ('open', 'overdue', 'completed', 'escalated')),
    completed_on date,
    late         boolean     NOT NULL DEFAULT false,
    overdue_on   date,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX remediations_due ON remediations (status, deadline);

-- Due process: the notice to the producer, its reply, and what was recommended after it.
CREATE TABLE notices (
    id                uuid        PRIMARY KEY,
    producer_id       uuid        NOT NULL,
    product_id        uuid        NOT NULL,
    finding_ids       uuid[]      NOT NULL,
    proposed          text        NOT NULL CHECK (proposed IN ('revocation', 'reevaluation')),
    grounds           text[]      NOT NULL,
    notified_on       date        NOT NULL,
    reply_by          date        NOT NULL CHECK (reply_by > notified_on),
    reply             text,
    replied_on        date,
    status            text        NOT NULL CHECK (status IN ('open', 'replied', 'recommended', 'withdrawn')),
    recommendation_id uuid,
    notified_at       timestamptz NOT NULL
);
CREATE INDEX notices_product ON notices (product_id);

CREATE TABLE recommendations (
    id             uuid        PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('revocation', 'reevaluation')),
    notice_id      uuid        NOT NULL UNIQUE REFERENCES notices (id),
    producer_id    uuid        NOT NULL,
    product_id     uuid        NOT NULL,
    certificate_id uuid,
    grounds        text[]      NOT NULL,
    findings       text[]      NOT NULL,
    recommended_at timestamptz NOT NULL
);

-- The inspection clock's offset from real time (demonstrations and tests move it forward).
CREATE TABLE clock (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    offset_days integer NOT NULL
);
INSERT INTO clock VALUES (true, 0);
