#!/usr/bin/env bash
# Build the root filesystem the end-to-end images start from, without any image registry:
# `debootstrap --variant=minbase bookworm` with the Debian packages the stand-in images need,
# packed as a tarball for `docker import`.
#
#   scripts/e2e/rootfs.sh OUT.tar
#
# Needs root and debootstrap (apt-get install debootstrap). The end-to-end test (tests/e2e.rs)
# caches OUT.tar under the target directory, keyed by this file's hash: editing this script
# (e.g. the package list) rebuilds it, anything else reuses it.
set -euo pipefail

out="${1:?usage: rootfs.sh OUT.tar}"
mirror="${E2E_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

packages=(
    postgresql-15 postgresql-client-15   # the database and the psql clients
    redis-server redis-tools             # the cache and redis-cli
    nginx-light                          # the static web front
    gosu                                 # user switch of the postgres/redis/influxdb entrypoints
    libcap2-bin                          # setcap, as the telegraf entrypoint calls it
    socat                                # the collector and influxdb stand-ins' listeners
    procps                               # ps, for debugging a running stand-in
)

build="$out.build"
rm -rf -- "$build" "$out.partial"
mkdir -p -- "$build"
trap 'rm -rf -- "$build" "$out.partial"' EXIT

include="$(IFS=,; printf '%s' "${packages[*]}")"
debootstrap --variant=minbase --include="$include" bookworm "$build" "$mirror" >&2

# Keep the image small and free of state the package scripts left behind.
rm -rf -- "$build"/var/cache/apt/archives/*.deb "$build"/var/lib/apt/lists/* \
          "$build"/var/lib/postgresql/15/main "$build"/etc/postgresql/15/main
tar --numeric-owner -C "$build" -cf "$out.partial" .
mv -- "$out.partial" "$out"
