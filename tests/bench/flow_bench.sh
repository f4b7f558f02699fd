#!/bin/bash
# Flow benchmark: a 50-task flow with a no-op runtime (`true`) and a no-op
# check (`true`), run to completion; prints the time per task for durable
# and relaxed durability and for --max-parallel 1 and 2, side by side in one
# run.  Prints figures; never fails on a number.
set -euo pipefail
HIVE=${HIVE_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/hive}
N=${FLOW_BENCH_TASKS:-50}
root=$(mktemp -d "${TMPDIR:-/tmp}/hive-flowbench-XXXXXX")
trap 'rm -rf "$root"' EXIT

mkdir "$root/repo"
echo "bench" > "$root/repo/README"
git -C "$root/repo" init -q
git -C "$root/repo" add README
git -C "$root/repo" -c user.name=bench -c user.email=bench@hive.invalid commit -qm init

spec() { # $1 = flow name
	{
		printf '{"name": "%s", "project": {"name": "bench", "repo": "repo"},\n' "$1"
		printf ' "defaults": {"runtime": {"command": ["true"]}},\n "tasks": [\n'
		for i in $(seq 1 "$N"); do
			printf '  {"key": "t%d", "title": "no-op %d", "checks": [{"name": "noop", "command": "true"}]}%s\n' \
				"$i" "$i" "$([ "$i" -lt "$N" ] && echo ,)"
		done
		printf ' ]}\n'
	}
}

run_case() { # $1 = durability, $2 = max-parallel
	local dir="$root/data-$1-$2" name="bench-$1-$2"
	spec "$name" > "$root/$name.json"
	HIVE_DURABILITY=$1 "$HIVE" --dir "$dir" flow create --file "$root/$name.json" >/dev/null
	HIVE_DURABILITY=$1 "$HIVE" --dir "$dir" flow start "$name" >/dev/null
	local t0 t1
	t0=$(date +%s%N)
	HIVE_DURABILITY=$1 "$HIVE" --dir "$dir" flow run "$name" --max-parallel "$2" >/dev/null
	t1=$(date +%s%N)
	local ms=$(( (t1 - t0) / 1000000 ))
	local events
	events=$("$HIVE" --dir "$dir" events list --json | wc -l)
	printf 'flow of %d no-op tasks (%s, --max-parallel %d): %d ms total, %.1f ms per task, %d events\n' \
		"$N" "$1" "$2" "$ms" "$(echo "$ms / $N" | bc -l)" "$events"
}

for d in durable relaxed; do
	for p in 1 2; do
		run_case "$d" "$p"
	done
done
