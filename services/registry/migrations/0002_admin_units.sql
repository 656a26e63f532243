-- Hanoi's administrative units, dated. A code can name different units over time (the 2025
-- reorganisation reused old commune codes), so a unit is keyed by (code, valid_from).
CREATE TABLE admin_units (
    code        text NOT NULL,
    valid_from  date NOT NULL,
    valid_to    date,              -- last day valid; NULL = still valid
    level       text NOT NULL CHECK (level IN ('district', 'commune')),
    kind        text NOT NULL,     -- quan | huyen | thi_xa | phuong | xa | thi_tran
    name        text NOT NULL,
    parent_code text,              -- district of a pre-2025 commune
    PRIMARY KEY (code, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX admin_units_by_name ON admin_units (lower(name));

-- Which old units (wholly or partly) formed each new one: many-to-many.
CREATE TABLE admin_unit_successions (
    old_code       text NOT NULL,
    old_valid_from date NOT NULL,
    new_code       text NOT NULL,
    new_valid_from date NOT NULL,
    PRIMARY KEY (old_code, old_valid_from, new_code, new_valid_from),
    FOREIGN KEY (old_code, old_valid_from) REFERENCES admin_units (code, valid_from),
    FOREIGN KEY (new_code, new_valid_from) REFERENCES admin_units (code, valid_from)
);
