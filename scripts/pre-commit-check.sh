#!/usr/bin/env bash
# pre-commit entry (see .pre-commit-hooks.yaml): `compose-harden check OPTIONS -f FILE` for each
# staged file. Arguments starting with `-` are options (use the `--name=value` form), the rest
# are files. Each file is checked on its own; the exit code is the worst of them (0, 1 or 2).
set -uo pipefail

if ! command -v compose-harden >/dev/null 2>&1; then
    printf 'compose-harden: not on PATH; install it with `cargo install --path .` in its repository (or `cargo install compose-harden`)\n' >&2
    exit 2
fi

opts=()
files=()
for a in "$@"; do
    case "$a" in
        -*) opts+=("$a") ;;
        *) files+=("$a") ;;
    esac
done

worst=0
for f in "${files[@]}"; do
    compose-harden check "${opts[@]}" -f "$f"
    rc=$?
    [ "$rc" -gt "$worst" ] && worst=$rc
done
exit "$worst"
