#!/bin/sh
# A BMP collector stand-in: runs as root, appends what routers send on 5000 to its volume.
set -e
mkdir -p /var/lib/collector
exec socat -u TCP-LISTEN:5000,reuseaddr,fork OPEN:/var/lib/collector/bmp.raw,creat,append
