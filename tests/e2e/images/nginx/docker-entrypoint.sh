#!/bin/sh
# nginx:1.27 stand-in: run the configuration scripts in /docker-entrypoint.d, then nginx (as
# root: the master creates /var/cache/nginx/*_temp owned by nginx and starts `user nginx`
# workers, so CHOWN, SETGID and SETUID).
set -e

if [ "$1" = nginx ]; then
    for f in /docker-entrypoint.d/*.sh; do
        [ -x "$f" ] && "$f"
    done
fi
exec "$@"
