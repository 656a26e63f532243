-- A person's erasure reaches the audit trail too: the details (refusal reasons, which may quote
-- what was sent) of the rows about the erased records are blanked by erase_audit_details(), which
-- runs as the table's owner. The service's role may call it, but still holds no UPDATE on
-- audit_log; the trigger lets only the owner through, and only to blank a detail.
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)
       AND NEW.detail = '[erased]'
       AND (NEW.id, NEW.at, NEW.subject, NEW.roles, NEW.units, NEW.command, NEW.aggregate_id,
            NEW.origin, NEW.channel, NEW.trace_id, NEW.outcome)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.subject, OLD.roles, OLD.units, OLD.command, OLD.aggregate_id,
            OLD.origin, OLD.channel, OLD.trace_id, OLD.outcome) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

GRANT UPDATE (detail) ON audit_log TO CURRENT_USER;

CREATE FUNCTION erase_audit_details(aggregate_ids text[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    erased bigint;
BEGIN
    UPDATE audit_log SET detail = '[erased]'
     WHERE aggregate_id = ANY(aggregate_ids) AND detail IS NOT NULL AND detail <> '[erased]';
    GET DIAGNOSTICS erased = ROW_COUNT;
    RETURN erased;
END $$;

-- Runs as the owner: it sees only this schema (and temporary objects last, never first).
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION erase_audit_details(text[]) SET search_path = %I, pg_temp',
        current_schema()
    );
END $$;
