#!/usr/bin/env bash
# Run by the postgres image once, on the first start of an empty data volume
# (mounted as /docker-entrypoint-initdb.d/10-ocop.sh). One database, and per service one login
# role ocop_<name> owning one schema <name>: a role can touch only its own schema.
# Passwords come from OCOP_<NAME>_DB_PASSWORD; OCOP_INSIGHTS_DB_PASSWORD may be empty, in which
# case ocop_insights gets no password and cannot log in until an ALTER ROLE ... PASSWORD.
set -Eeo pipefail

ocop_init() {
    local db="${POSTGRES_DB:?}" user="${POSTGRES_USER:-postgres}"
    local name var password
    local -a pw_arg

    psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -v db="$db" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

    for name in registry evaluation trade inspection insights; do
        var="OCOP_${name^^}_DB_PASSWORD"
        password="${!var:-}"
        if [[ -z "$password" && "$name" != insights ]]; then
            echo "ocop init: $var is not set" >&2
            return 1
        fi
        pw_arg=()
        if [[ -n "$password" ]]; then pw_arg=(-v pw="$password"); fi
        # psql variables (:'pw', :"role") quote the values, so passwords need no escaping here.
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" \
            -v db="$db" -v role="ocop_$name" -v schema="$name" "${pw_arg[@]}" <<'SQL'
\if :{?pw}
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
\else
CREATE ROLE :"role" LOGIN;
\endif
GRANT CONNECT ON DATABASE :"db" TO :"role";
CREATE SCHEMA :"schema" AUTHORIZATION :"role";
ALTER ROLE :"role" SET search_path = :"schema";
SQL
        echo "ocop init: role ocop_$name owns schema $name"
    done
}

ocop_init
