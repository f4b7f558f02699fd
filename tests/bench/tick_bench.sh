#!/bin/bash
# Per-task cost of `hive flow run` against the flow's size (issue 9): the
# CPU time (user + system, the runtime and check processes included) and
# wall time of `flow run` per task, for a small and a large no-op flow side
# by side (--max-parallel 1, durable).  CPU time is what the scheduling
# work costs and barely moves with the machine's load; the ratio large /
# small should stay near 1.0 (docs/benchmarks.md, "Per-tick cost and flow
# size").  Prints figures; never fails on a number.
#   HIVE_BIN (default ./hive), TICK_BENCH_SMALL (60), TICK_BENCH_LARGE (1000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
HIVE=${HIVE_BIN:-$here/../../hive}
SMALL=${TICK_BENCH_SMALL:-60}
LARGE=${TICK_BENCH_LARGE:-1000}
root=$(mktemp -d "${TMPDIR:-/tmp}/hive-tickbench-XXXXXX")
trap 'rm -rf "$root"' EXIT

# run N: create, start and run an N-task no-op flow; prints "cpu_ms wall_ms maxrss_kb"
run() {
	local d=$root/$1
	mkdir -p "$d/repo"
	(cd "$d/repo" && for i in $(seq 1 20); do echo "int f$i;" > "f$i.c"; done &&
	 git init -q && git add -A && git -c user.name=bench -c user.email=bench@hive.invalid commit -qm init)
	{
		printf '{"name": "f", "project": {"name": "bench", "repo": "repo"},\n'
		printf ' "defaults": {"runtime": {"command": ["true"]}},\n "tasks": [\n'
		for i in $(seq 1 "$1"); do
			printf '  {"key": "t%d", "title": "no-op %d", "checks": [{"name": "noop", "command": "true"}]}%s\n' \
				"$i" "$i" "$([ "$i" -lt "$1" ] && echo ,)"
		done
		printf ' ]}\n'
	} > "$d/flow.json"
	(cd "$d" && "$HIVE" --dir data flow create --file flow.json >/dev/null &&
	 "$HIVE" --dir data flow start f >/dev/null &&
	 /usr/bin/time -o time -f '%U %S %e %M' "$HIVE" --dir data flow run f --max-parallel 1 >/dev/null)
	awk '{ printf "%.0f %.0f %d\n", ($1 + $2) * 1000, $3 * 1000, $4 }' "$d/time"
}

echo "== per-task cost of flow run against the flow's size ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
read -r sc sw sm < <(run "$SMALL")
read -r lc lw lm < <(run "$LARGE")
awk -v n="$SMALL" -v c="$sc" -v w="$sw" -v m="$sm" \
	'BEGIN { printf "%d-task flow: cpu %.1f ms/task, wall %.1f ms/task, peak RSS %.0f MB\n", n, c / n, w / n, m / 1024 }'
awk -v n="$LARGE" -v c="$lc" -v w="$lw" -v m="$lm" \
	'BEGIN { printf "%d-task flow: cpu %.1f ms/task, wall %.1f ms/task, peak RSS %.0f MB\n", n, c / n, w / n, m / 1024 }'
awk -v s="$SMALL" -v l="$LARGE" -v sc="$sc" -v lc="$lc" \
	'BEGIN { printf "cpu per task, %d / %d tasks: %.2fx (goal: about 1.0x)\n", l, s, (lc / l) / (sc / s) }'
