-- Producers a council member declared ties to (a relative, an employer, a share): an actual
-- conflict of interest, flagged at every level.
ALTER TABLE council_members ADD COLUMN ties text[] NOT NULL DEFAULT '{}';
