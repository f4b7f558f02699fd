#!/bin/bash
# Query benchmark: `hive attempt list --flow F` on a store where most
# attempts belong to other flows (default 20 flows x 100 attempts = 2000).
# The store is built with real attempts (a runtime that always fails, no
# backoff).  Prints the median of 5 runs per binary; never fails on a number.
#   HIVE_BIN=./hive [QUERY_BENCH_OLD=/path/to/older/hive] [QUERY_BENCH_FLOWS=20]
#   [QUERY_BENCH_ATTEMPTS=100] [QUERY_BENCH_DIR=keep/the/store/here] bash tests/bench/query_bench.sh
set -euo pipefail
HIVE=${HIVE_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/hive}
FLOWS=${QUERY_BENCH_FLOWS:-20}
N=${QUERY_BENCH_ATTEMPTS:-100}
root=${QUERY_BENCH_DIR:-}
if [ -z "$root" ]; then
	root=$(mktemp -d "${TMPDIR:-/tmp}/hive-querybench-XXXXXX")
	trap 'rm -rf "$root"' EXIT
fi
export HIVE_DIR=$root/data HIVE_DURABILITY=relaxed

if [ ! -d "$HIVE_DIR" ]; then
	mkdir -p "$root/repo"
	git -C "$root/repo" init -q
	git -C "$root/repo" -c user.name=bench -c user.email=bench@hive.invalid commit -q --allow-empty -m init
	"$HIVE" project create bench --repo "$root/repo" >/dev/null
	for f in $(seq 1 "$FLOWS"); do
		printf '{"name": "f%d", "project": "bench", "defaults": {"runtime": {"command": ["false"]},
		  "retry": {"max_attempts": %d},
		  "circuit_breaker": {"failure_threshold": 1000000}}, "tasks": [{"key": "t", "title": "always fails"}]}\n' "$f" "$N" \
			>"$root/f$f.json"
		"$HIVE" flow create --file "$root/f$f.json" >/dev/null
		"$HIVE" flow start "f$f" >/dev/null
		"$HIVE" flow run "f$f" >/dev/null 2>&1 || true
	done
fi

median_ms() { # BINARY ARGS...
	local t=() i t0 t1
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N)
		"$@" >/dev/null
		t1=$(date +%s%N)
		t+=($(( (t1 - t0) / 100000 )))
	done
	local m
	m=$(printf '%s\n' "${t[@]}" | sort -n | sed -n 3p)
	printf '%d.%d' $((m / 10)) $((m % 10))
}

count='import json,sys; print(len(json.load(sys.stdin)))'
total=$("$HIVE" --json attempt list | python3 -c "$count")
mine=$("$HIVE" --json attempt list --flow f1 | python3 -c "$count")
echo "query bench: $total attempts in $FLOWS flows; attempt list --flow f1 lists $mine"
printf '  %-40s %8s ms\n' "$HIVE attempt list --flow f1" "$(median_ms "$HIVE" attempt list --flow f1)"
printf '  %-40s %8s ms\n' "$HIVE attempt list (all)" "$(median_ms "$HIVE" attempt list)"
if [ -n "${QUERY_BENCH_OLD:-}" ]; then
	printf '  %-40s %8s ms\n' "$QUERY_BENCH_OLD attempt list --flow f1" \
		"$(median_ms "$QUERY_BENCH_OLD" attempt list --flow f1)"
fi
