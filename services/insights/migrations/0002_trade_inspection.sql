-- Facts of trade promotion and inspection, each with its date (see 0001 for the rules).

-- Points of sale (điểm giới thiệu và bán sản phẩm OCOP) and what they list.
CREATE TABLE outlets (
    outlet_id     uuid PRIMARY KEY,
    location_type text,
    unit_code     text,
    district_code text,
    opened_on     date,
    closed_on     date
);

CREATE TABLE listings (
    listing_id  uuid PRIMARY KEY,
    outlet_id   uuid NOT NULL,
    basis       text,
    product_id  uuid,
    listed_on   date,
    delisted_on date
);
CREATE INDEX listings_outlet ON listings (outlet_id);

-- Promotion events (fairs, product weeks, livestreams...) and their reported outcomes.
CREATE TABLE promotions (
    event_id            uuid PRIMARY KEY,
    kind                text,
    starts_on           date,
    ends_on             date,
    cancelled_on        date,
    reported_on         date,
    producers           integer,
    products            integer,
    sales_vnd           bigint,
    contracts_signed    integer,
    contracts_value_vnd bigint
);

-- Inspection campaigns and the findings of their visits.
CREATE TABLE campaigns (
    campaign_id         uuid PRIMARY KEY,
    year                integer,
    target_producers    integer,
    target_products     integer,
    starts_on           date,
    closed_on           date,
    producers_inspected integer,
    products_inspected  integer
);

CREATE TABLE findings (
    finding_id  uuid PRIMARY KEY,
    campaign_id uuid,
    producer_id uuid NOT NULL,
    product_id  uuid NOT NULL,
    category    text NOT NULL,
    severity    text NOT NULL,
    outcome     text NOT NULL,
    visited_on  date NOT NULL
);
