#!/usr/bin/env bash
# postgres:15 stand-in. Started as root: create and restrict the data directory, hand it to
# postgres (`find` must descend the 0700 directory: DAC_OVERRIDE on a restart) and re-execute
# as postgres with gosu (SETUID, SETGID). As postgres: initialise the cluster with
# POSTGRES_PASSWORD only when the data directory is empty, then run the server.
set -Eeo pipefail

if [ "$1" = postgres ]; then
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$PGDATA"
        chmod 00700 "$PGDATA" || :
        mkdir -p /var/run/postgresql || :
        chmod 03775 /var/run/postgresql || :
        find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
        exec gosu postgres "$BASH_SOURCE" "$@"
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        if [ -z "$POSTGRES_PASSWORD" ]; then
            echo >&2 "error: the database is uninitialised and POSTGRES_PASSWORD is not set"
            exit 1
        fi
        initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
        printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        if [ "$POSTGRES_DB" != postgres ]; then
            psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
                 -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
        fi
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
        echo "PostgreSQL init process complete"
    else
        echo "PostgreSQL data directory contains a database; skipping initialisation"
    fi
fi
exec "$@"
