#!/usr/bin/env bash
# Whole-process benchmark of `compose-harden diff` (baseline profile, every rule, diff written)
# on generated files of 10, 1,000, 10,000 and 30,000 services: median wall time (hyperfine,
# with warmups and repeated runs), peak RSS and output sizes (/usr/bin/time -v).
#
#   bash scripts/bench.sh [BINARY]        # default: target/release/compose-harden
#   SIZES="10 1000" RUNS=20 bash scripts/bench.sh
#
# The files come from benches/support/workload.rs (the generator the criterion benches use),
# through the bench-workload example. Needs hyperfine (Debian: apt-get install -y hyperfine)
# and GNU time (/usr/bin/time). Prints a Markdown table for docs/performance.md, with the
# machine, the date and the load average at the start and the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZES=${SIZES:-"10 1000 10000 30000"}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}

command -v hyperfine >/dev/null || { echo "hyperfine is missing (Debian: apt-get install -y hyperfine)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (Debian: apt-get install -y time)" >&2; exit 2; }

cargo build --release --quiet --bin compose-harden --example bench-workload
BIN=$(realpath "${1:-target/release/compose-harden}")
GEN=target/release/examples/bench-workload
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

printf 'machine: %s, %s cores, %s\n' "$(uname -m)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf 'date: %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
printf 'binary: %s\n' "$BIN"
printf 'load at start: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

printf '| services | input | median | min | peak RSS | RSS / input | stdout | stderr |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $SIZES; do
    f="$WORK/s$n.yml"
    "$GEN" "$n" >"$f"
    (cd "$WORK" && "$BIN" diff -f "s$n.yml" >"out$n.diff" 2>"err$n.txt") || true
    runs=$RUNS
    [ "$n" -ge 30000 ] && runs=$(( RUNS < 5 ? RUNS : 5 ))
    hyperfine -N --style none --warmup "$WARMUP" --runs "$runs" \
        --export-json "$WORK/h$n.json" "$BIN diff -f $f" >/dev/null
    read -r median min < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print(r['median'], r['min'])" "$WORK/h$n.json")
    rss=$(cd "$WORK" && /usr/bin/time -f '%M' "$BIN" diff -f "s$n.yml" 2>&1 >/dev/null | tail -1)
    size=$(stat -c %s "$f")
    python3 - "$n" "$size" "$median" "$min" "$rss" "$(stat -c %s "$WORK/out$n.diff")" "$(stat -c %s "$WORK/err$n.txt")" "$WORK/points" <<'PY'
import sys
n, size, med, mn, rss, out, err = sys.argv[1:8]
size, med, mn, rss, out, err = int(size), float(med), float(mn), int(rss) * 1024, int(out), int(err)
def b(x):
    return f"{x/1e6:.1f} MB" if x >= 1e6 else f"{x/1e3:.1f} KB"
def t(x):
    return f"{x*1e3:.1f} ms" if x < 1 else f"{x:.2f} s"
print(f"| {int(n):,} | {b(size)} | {t(med)} | {t(mn)} | {b(rss)} | {rss/size:.0f}x | {b(out)} | {b(err)} |")
open(sys.argv[8], "a").write(f"{n} {size} {med}\n")
PY
done
python3 - "$WORK/points" <<'PY'
import math, sys
pts = {int(n): (int(s), float(t)) for n, s, t in (l.split() for l in open(sys.argv[1]))}
if 1000 in pts and 30000 in pts:
    (s1, t1), (s2, t2) = pts[1000], pts[30000]
    print(f"\ntime exponent from 1,000 to 30,000 services: {math.log(t2 / t1) / math.log(s2 / s1):.2f}")
PY
printf '\nload at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
