#!/usr/bin/env bash
# Install Microsoft's SARIF Multitool (npm @microsoft/sarif-multitool-linux, pinned) into
# <repo>/.sarif-multitool and print the binary's absolute path on stdout.
#
# tests/report.rs runs its `validate` on `check --format sarif` when
# COMPOSE_HARDEN_SARIF_MULTITOOL points at it (and says SKIPPED otherwise). Idempotent; progress
# goes to stderr, so `BIN=$(scripts/sarif-multitool.sh)` captures only the path.
set -euo pipefail

VERSION="5.7.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DIR="$ROOT/.sarif-multitool"
BIN="$DIR/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

log() { printf 'sarif-multitool: %s\n' "$*" >&2; }
die() { printf 'sarif-multitool: error: %s\n' "$*" >&2; exit 1; }

probe() {
    local v
    [ -x "$BIN" ] || return 1
    v="$(DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 "$BIN" --version 2>&1)" || return 1
    case "$v" in "SARIF Multitool $VERSION"*) ;; *) return 1 ;; esac
    printf '%s\n' "$BIN"
}

if probe; then
    log "using existing $DIR (SARIF Multitool $VERSION)"
    exit 0
fi

[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] || die "only linux-x64 is packaged here"
command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install npm)"

rm -rf -- "$DIR"
mkdir -p "$DIR"
log "installing @microsoft/sarif-multitool-linux@$VERSION with npm (about 30 MB download)"
if ! npm install --prefix "$DIR" --no-audit --no-fund --no-save \
        "@microsoft/sarif-multitool-linux@$VERSION" >&2; then
    rm -rf -- "$DIR"
    die "npm install failed (see npm output above; registry access needed)"
fi
chmod u+x "$BIN" 2>/dev/null || true
probe || die "installed, but $BIN does not run"
