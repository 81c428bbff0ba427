#!/bin/bash
# One database and one login role per service (sales, shipping, invoicing), each role owning its
# database and nothing else: a service's credentials cannot read another service's data. Run by
# the postgres image's entrypoint from /docker-entrypoint-initdb.d, once, on an empty data
# directory; later password changes are ALTER ROLE (docs/deploy.md, "PostgreSQL").
#
# Settings (environment): SALES_DB_PASSWORD, SHIPPING_DB_PASSWORD, INVOICING_DB_PASSWORD, or the
# same names with _FILE naming a file that holds the value (mounted secrets). Each at least 16
# characters of A-Z a-z 0-9 _ - : it goes into the services' DATABASE_URL unescaped.
#
# The entrypoint executes this file when it is executable and sources it otherwise (a bind mount
# keeps the checkout's mode): the work runs in a subshell either way, so its shell options never
# leak into the entrypoint, and a failure still stops it (the entrypoint runs under set -e).

gatehouse_postgres_init() (
  set -euo pipefail

  secret() { # NAME: the value of $NAME, or the content of the file named by $NAME_FILE
    local file_var="${1}_FILE"
    if [ -n "${!file_var:-}" ]; then
      tr -d '\r\n' <"${!file_var}"
    else
      printf '%s' "${!1:-}"
    fi
  }

  # Every password is checked before anything is created: a half-initialised cluster would not
  # be initialised again (the entrypoint skips a non-empty data directory).
  for service in sales shipping invoicing; do
    variable="${service^^}_DB_PASSWORD"
    password=$(secret "$variable")
    if ! [[ $password =~ ^[A-Za-z0-9_-]{16,}$ ]]; then
      echo "postgres init: $variable must be at least 16 characters of A-Z a-z 0-9 _ - (openssl rand -hex 32)" >&2
      exit 1
    fi
  done

  for service in sales shipping invoicing; do
    # The password reaches psql through its environment (\getenv), never its command line, and
    # is quoted by psql (:'password'); the role name is a fixed identifier (:"role").
    SERVICE_DB_PASSWORD=$(secret "${service^^}_DB_PASSWORD") psql -v ON_ERROR_STOP=1 --no-psqlrc \
      --username "${POSTGRES_USER:-postgres}" --dbname postgres -v role="$service" <<'SQL'
\getenv password SERVICE_DB_PASSWORD
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
CREATE DATABASE :"role" OWNER :"role";
-- Only its owner may connect (PUBLIC may by default).
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
    echo "postgres init: role and database $service created"
  done

  # The maintenance database is for the superuser only.
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -c 'REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;'
)

gatehouse_postgres_init
