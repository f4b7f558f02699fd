#!/bin/bash
# recycle_gaps.sh - the two gaps around a task's worktree in a 60-task
# no-op flow (the repository of tests/bench/history_bench.sh: 40 files),
# from the events' own timestamps, for one or more hive binaries side by
# side (docs/benchmarks.md "Spare worktrees"):
#   completed->released  attempt_completed -> worktree_released (the
#                        worktree removed, or parked as a spare)
#   released->started    worktree_released -> the next attempt_started
#                        (a fresh checkout, or a spare adopted)
# plus the wall time and the CPU time of `flow run` with its children.
# Medians over the flow's tasks; REPEATS rounds (default 3), the binaries
# interleaved in each so they share the machine's load.  Never fails on a
# number.
#
#   bash tests/bench/recycle_gaps.sh OLD_HIVE NEW_HIVE
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: recycle_gaps.sh HIVE_BIN..." >&2; exit 2; }
N=${RECYCLE_BENCH_TASKS:-60}
root=$(mktemp -d "${TMPDIR:-/tmp}/hive-recycle-XXXXXX")
trap 'rm -rf "$root"' EXIT

one() { # BIN DIR
	local bin=$1 d=$2
	mkdir -p "$d/repo/src" "$d/repo/tests" "$d/repo/docs"
	for i in $(seq 1 20); do printf 'int f%d(void) { return %d; }\n' "$i" "$i" >"$d/repo/src/f$i.c"; done
	for i in $(seq 1 15); do printf 'test %d\n' "$i" >"$d/repo/tests/t$i.txt"; done
	for i in $(seq 1 5); do printf '# doc %d\n' "$i" >"$d/repo/docs/d$i.md"; done
	printf 'build/\n' >"$d/repo/.gitignore"
	git -C "$d/repo" init -q && git -C "$d/repo" add -A &&
		git -C "$d/repo" -c user.name=b -c user.email=b@hive.invalid commit -qm init
	{ printf '{"name": "g", "project": {"name": "bench", "repo": "repo"},\n'
	  printf ' "defaults": {"runtime": {"command": ["true"]}},\n "tasks": [\n'
	  for i in $(seq 1 "$N"); do
		printf '  {"key": "t%d", "title": "no-op %d", "checks": [{"name": "noop", "command": "true"}]}%s\n' \
			"$i" "$i" "$([ "$i" -lt "$N" ] && echo ,)"
	  done
	  printf ' ]}\n'; } >"$d/flow.json"
	local t0 t1
	t0=$(date +%s%N)
	(cd "$d" && "$bin" --dir data flow create --file flow.json >/dev/null && "$bin" --dir data flow start g >/dev/null &&
	 /usr/bin/time -o cpu -f '%U %S' "$bin" --dir data flow run g --max-parallel 1 >/dev/null)
	t1=$(date +%s%N)
	"$bin" --dir "$d/data" events list --json | python3 -c '
import datetime, json, statistics, sys
ms = lambda e: datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000
done = rel = None
a, b = [], []
for e in map(json.loads, sys.stdin):
    if e["type"] == "attempt_completed":
        done = ms(e)
    elif e["type"] == "worktree_released" and e["payload"].get("reason") == "task_succeeded":
        a.append(ms(e) - done); rel = ms(e)
    elif e["type"] == "attempt_started" and rel is not None:
        b.append(ms(e) - rel); rel = None
print("completed->released %.2f ms, released->started %.2f ms" % (statistics.median(a), statistics.median(b)), end="")'
	echo ", wall $(((t1 - t0) / 1000000)) ms, cpu $(awk '{ printf "%.2f", $1 + $2 }' "$d/cpu") s"
}

echo "== worktree gaps, $N-task no-op flow ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq 1 "${REPEATS:-3}"); do
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		echo "[$r] $bin: $(one "$bin" "$root/r$r-$k")"
	done
done
