-- Producers (chủ thể OCOP). Household businesses' personal data stays in this schema only.
CREATE TABLE producers (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL,
    legal_form    text        NOT NULL CHECK (legal_form IN
                      ('enterprise', 'cooperative', 'cooperative_group', 'household_business')),
    commune_code  text        NOT NULL,
    version       integer     NOT NULL,
    registered_at timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX producers_registered ON producers (registered_at, id);
