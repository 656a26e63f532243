-- Parking: a row the broker can never accept as it is (too large, a topic the service may not
-- write or that does not exist) is set aside with its reason instead of blocking the relay; the
-- later rows of its key are parked behind it ("waiting behind parked row N"), so a key's order
-- holds. An operator clears the park (ocop_runtime.outbox.retry_parked) to have them sent again.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz, ADD COLUMN parked_reason text;

-- The relay's scan: rows neither published nor parked, in id order. It replaces the index on
-- unpublished rows, so parked rows never slow the scan.
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;

-- "Is this key waiting behind a parked row?", asked for every row the relay reads: an empty
-- index in normal operation.
CREATE INDEX outbox_parked ON outbox (key, id) WHERE published_at IS NULL AND parked_at IS NOT NULL;

-- Housekeeping deletes published rows and inbox rows by age, a small batch at a time.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX inbox_processed_at ON inbox (processed_at);
