#!/usr/bin/env bash
# influxdb:2.7 stand-in. Started as root: create the data directories, restrict them (chmod of
# directories influxdb owns: FOWNER), hand them to influxdb (`find` descends them: CHOWN,
# DAC_OVERRIDE) and re-execute as influxdb with gosu (SETUID, SETGID). As influxdb, in setup
# mode and only on first start: store the admin token (init-only, like the real bolt file).
set -eo pipefail

bolt_dir=/var/lib/influxdb2
engine_dir=/var/lib/influxdb2/engine
config_dir=/etc/influxdb2

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$bolt_dir" "$engine_dir"
    chmod 700 "$bolt_dir" "$engine_dir" || :
    mkdir -p "$config_dir" || :
    chmod 775 "$config_dir" || :
    find "$bolt_dir" \! -user influxdb -exec chown influxdb '{}' +
    find "$engine_dir" \! -user influxdb -exec chown influxdb '{}' +
    find "$config_dir" \! -user influxdb -exec chown influxdb '{}' +
    exec gosu influxdb "$BASH_SOURCE" "$@"
fi

if [ ! -f "$bolt_dir/influxd.bolt" ] && [ "${DOCKER_INFLUXDB_INIT_MODE:-}" = setup ]; then
    # The real setup writes a temporary server config to /tmp first.
    printf '{"bolt-path":"%s/influxd.bolt"}\n' "$bolt_dir" > /tmp/config.json
    (umask 077 && printf '%s\n' "$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN" > "$bolt_dir/influxd.bolt")
    rm -f /tmp/config.json
    echo "influxdb setup complete"
fi
exec "$@"
