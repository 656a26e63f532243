#!/usr/bin/env bash
# Run by the postgres image once, on the first start of an empty data volume
# (mounted as /docker-entrypoint-initdb.d/10-ocop.sh). One database, and per service a role
# ocop_<name>_owner owning schema <name> (migrations log in as it) and the login role ocop_<name>
# the service runs as, which owns nothing (the owner grants it its privileges at start-up, on the
# audit trail INSERT and SELECT only): a role can touch only its own schema.
# Passwords come from OCOP_<NAME>_DB_PASSWORD and OCOP_<NAME>_OWNER_DB_PASSWORD.
set -Eeo pipefail

ocop_init() {
    local db="${POSTGRES_DB:?}" user="${POSTGRES_USER:-postgres}"
    local name var password owner_var owner_password
    local -a pw_arg

    psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -v db="$db" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

    for name in registry evaluation trade inspection insights; do
        var="OCOP_${name^^}_DB_PASSWORD"
        password="${!var:-}"
        if [[ -z "$password" ]]; then
            echo "ocop init: $var is not set" >&2
            return 1
        fi
        owner_var="OCOP_${name^^}_OWNER_DB_PASSWORD"
        owner_password="${!owner_var:-}"
        if [[ -z "$owner_password" ]]; then
            echo "ocop init: $owner_var is not set" >&2
            return 1
        fi
        pw_arg=()
        if [[ -n "$password" ]]; then pw_arg+=(-v pw="$password"); fi
        if [[ -n "$owner_password" ]]; then pw_arg+=(-v owner_pw="$owner_password"); fi
        # psql variables (:'pw', :"role") quote the values, so passwords need no escaping here.
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" \
            -v db="$db" -v role="ocop_$name" -v owner="ocop_${name}_owner" -v schema="$name" \
            "${pw_arg[@]}" <<'SQL'
\if :{?pw}
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
\else
CREATE ROLE :"role" LOGIN;
\endif
\if :{?owner_pw}
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_pw';
\else
CREATE ROLE :"owner" LOGIN;
\endif
GRANT CONNECT ON DATABASE :"db" TO :"role", :"owner";
CREATE SCHEMA :"schema" AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA :"schema" TO :"role";
ALTER ROLE :"role" SET search_path = :"schema";
ALTER ROLE :"owner" SET search_path = :"schema";
SQL
        echo "ocop init: role ocop_${name}_owner owns schema $name; ocop_$name runs the service"
    done
}

ocop_init
