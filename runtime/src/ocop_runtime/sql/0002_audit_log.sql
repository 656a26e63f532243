-- Every accepted (or refused) command, HTTP or Kafka: who, when, what, from where, the trace,
-- and the outcome. Append-only: the service's own role may insert and read, never change or
-- remove (the privileges are revoked and a trigger refuses it even if they come back).
CREATE TABLE audit_log (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    subject      text        NOT NULL,
    roles        text[]      NOT NULL DEFAULT '{}',
    units        text[]      NOT NULL DEFAULT '{}',
    command      text        NOT NULL,
    aggregate_id text,
    origin       text,                 -- client address, or the Kafka sender (ce_source)
    channel      text        NOT NULL CHECK (channel IN ('http', 'kafka')),
    trace_id     text,
    outcome      text        NOT NULL,
    detail       text
);
CREATE INDEX audit_log_aggregate ON audit_log (aggregate_id, id);
CREATE INDEX audit_log_subject ON audit_log (subject, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
