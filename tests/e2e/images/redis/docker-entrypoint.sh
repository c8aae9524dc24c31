#!/bin/sh
# redis:7 stand-in. Started as root: hand /data to redis (CHOWN) and re-execute as redis with
# gosu (SETUID, SETGID).
set -e

if [ "${1#-}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec gosu redis "$0" "$@"
fi
exec "$@"
