-- The inbox key names the sender: an event id is unique only within its topic and source, so
-- another sender reusing an id (by accident or on purpose) must not make a real event look like
-- a duplicate. Rows written before this change came from the service that owns their topic.
ALTER TABLE inbox ADD COLUMN source text NOT NULL DEFAULT '';
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
ALTER TABLE inbox ADD PRIMARY KEY (consumer, topic, source, event_id);
ALTER TABLE inbox ALTER COLUMN source DROP DEFAULT;
