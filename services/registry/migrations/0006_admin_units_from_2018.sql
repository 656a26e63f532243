-- Administrative units start in 2018 (the programme's first year), not 2019: the versions that
-- started on 1 January 2019 move to 1 January 2018, with the products and successions pointing
-- at them (their foreign keys now follow a change of a unit version's key).
ALTER TABLE products
    DROP CONSTRAINT IF EXISTS products_commune_code_commune_valid_from_fkey,
    ADD CONSTRAINT products_commune_code_commune_valid_from_fkey
        FOREIGN KEY (commune_code, commune_valid_from) REFERENCES admin_units (code, valid_from)
        ON UPDATE CASCADE;
ALTER TABLE admin_unit_successions
    DROP CONSTRAINT IF EXISTS admin_unit_successions_old_code_old_valid_from_fkey,
    DROP CONSTRAINT IF EXISTS admin_unit_successions_new_code_new_valid_from_fkey,
    ADD CONSTRAINT admin_unit_successions_old_code_old_valid_from_fkey
        FOREIGN KEY (old_code, old_valid_from) REFERENCES admin_units (code, valid_from)
        ON UPDATE CASCADE,
    ADD CONSTRAINT admin_unit_successions_new_code_new_valid_from_fkey
        FOREIGN KEY (new_code, new_valid_from) REFERENCES admin_units (code, valid_from)
        ON UPDATE CASCADE;
UPDATE admin_units SET valid_from = DATE '2018-01-01' WHERE valid_from = DATE '2019-01-01';
