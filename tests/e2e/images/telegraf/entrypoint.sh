#!/bin/bash
# telegraf stand-in. Started as root: try to give the agent file capabilities (allowed to fail,
# as in the official image), then drop to telegraf with setpriv (SETUID, SETGID).
set -e

if [ $EUID -ne 0 ]; then
    exec "$@"
else
    setcap cap_net_raw,cap_net_bind_service+ep /usr/bin/telegraf || echo "Failed to set additional capabilities on /usr/bin/telegraf"
    export HOME=$(getent passwd telegraf | cut -d : -f 6)
    exec setpriv --reuid telegraf --regid telegraf --init-groups "$@"
fi
