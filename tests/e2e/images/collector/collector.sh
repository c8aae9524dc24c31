#!/bin/sh
# A BMP collector stand-in whose image is not in compose-harden's table: started as root it
# hands its volume to the collector user (CHOWN) and drops to it with gosu (SETUID, SETGID),
# as many images outside the table do; then it appends what routers send on 5000 to the volume.
set -e
if [ "$(id -u)" = 0 ]; then
    mkdir -p /var/lib/collector
    find /var/lib/collector \! -user collector -exec chown collector '{}' +
    exec gosu collector "$0" "$@"
fi
exec socat -u TCP-LISTEN:5000,reuseaddr,fork OPEN:/var/lib/collector/bmp.raw,creat,append
