-- A dossier forwarded (or nominated for 5★) enters the next level's round as well: one entry
-- per application and level.
ALTER TABLE score_sheets DROP CONSTRAINT score_sheets_application_id_fkey;
ALTER TABLE entries DROP CONSTRAINT entries_pkey;
ALTER TABLE entries ADD PRIMARY KEY (application_id, level);
