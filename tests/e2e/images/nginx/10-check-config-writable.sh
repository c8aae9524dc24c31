#!/bin/sh
# Like the official image's configuration scripts: tolerate a read-only /etc/nginx.
if ! touch /etc/nginx/conf.d/default.conf 2>/dev/null; then
    echo "$0: info: can not modify /etc/nginx/conf.d/default.conf (read-only file system?)"
fi
exit 0
