#!/bin/bash
# Issue 9's flow benchmark, side by side in one run: `hive flow run` next to
# tests/bench/handrolled.sh (the shell+git script doing the same per-task
# work) on the same kind of repository.
#   1. a 60-task no-op flow: wall time of hive (create+start+run) / script
#      (goal <= 0.5x);
#   2. an N-task no-op flow (HISTORY_BENCH_TASKS, default 1000): median gap
#      between attempt starts for the first 50 tasks and the last 50
#      (goal: last <= 1.25x first), and hive's peak RSS (goal <= 20 MB)
#      with where it is at its peak (rss_sample.sh: data.mdb, heap,
#      libraries, binary).
# HISTORY_BENCH_SCRIPT=0 skips the script's N-task run.
# Prints figures; never fails on a number.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
HIVE=${HIVE_BIN:-$here/../../hive}
N=${HISTORY_BENCH_TASKS:-1000}
SMALL=${HISTORY_BENCH_SMALL:-60}
root=$(mktemp -d "${TMPDIR:-/tmp}/hive-histbench-XXXXXX")
trap 'rm -rf "$root"' EXIT

new_repo() { # $1 = dir: a small project (40 files in a few directories)
	mkdir -p "$1/src" "$1/tests" "$1/docs"
	for i in $(seq 1 20); do printf 'int f%d(void) { return %d; }\n' "$i" "$i" > "$1/src/f$i.c"; done
	for i in $(seq 1 15); do printf 'test %d\n' "$i" > "$1/tests/t$i.txt"; done
	for i in $(seq 1 5); do printf '# doc %d\n' "$i" > "$1/docs/d$i.md"; done
	printf 'build/\n' > "$1/.gitignore"
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" -c user.name=bench -c user.email=bench@hive.invalid commit -qm init
}

spec() { # $1 = flow name, $2 = tasks
	printf '{"name": "%s", "project": {"name": "bench", "repo": "repo"},\n' "$1"
	printf ' "defaults": {"runtime": {"command": ["true"]}},\n "tasks": [\n'
	for i in $(seq 1 "$2"); do
		printf '  {"key": "t%d", "title": "no-op %d", "checks": [{"name": "noop", "command": "true"}]}%s\n' \
			"$i" "$i" "$([ "$i" -lt "$2" ] && echo ,)"
	done
	printf ' ]}\n'
}

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# sample_rss PID: where the RSS of PID's child (hive under /usr/bin/time)
# is at its peak (rss_sample.sh), into rss_parts.
sample_rss() {
	local c="" i
	for i in $(seq 1 100); do
		c=$(cat "/proc/$1/task/$1/children" 2>/dev/null) && [ -n "$c" ] && break
		sleep 0.01
	done
	[ -n "$c" ] && bash "$here/rss_sample.sh" $c >rss_parts
}

# hive_run CASE TASKS: create+start+run a flow in $root/CASE; prints wall ms.
# Peak RSS of `flow run` (kB) goes to $root/CASE/rss, where it is at the
# peak to $root/CASE/rss_parts.
hive_run() {
	local d=$root/$1
	mkdir -p "$d"
	new_repo "$d/repo"
	spec "$1" "$2" > "$d/flow.json"
	local t0 t1
	t0=$(ms_now)
	(cd "$d" && "$HIVE" --dir data flow create --file flow.json >/dev/null &&
	 "$HIVE" --dir data flow start "$1" >/dev/null &&
	 { /usr/bin/time -o rss -f '%M' "$HIVE" --dir data flow run "$1" --max-parallel 1 >/dev/null & t=$!
	   sample_rss $t & wait $t; wait; })
	t1=$(ms_now)
	echo $((t1 - t0))
}

# script_run CASE TASKS: the hand-rolled script; prints wall ms.
script_run() {
	local d=$root/$1
	mkdir -p "$d"
	new_repo "$d/repo"
	local t0 t1
	t0=$(ms_now)
	bash "$here/handrolled.sh" "$d/repo" "$d/wt" "$2" "$d/log.jsonl" "$1" ||
		echo "handrolled.sh failed ($1)" >&2
	t1=$(ms_now)
	echo $((t1 - t0))
}

# Attempt start times in microseconds, one a line, in order.
hive_starts() {
	"$HIVE" --dir "$root/$1/data" events list --type attempt_started --json |
		sed -n 's/.*"time":"[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z".*/\1 \2 \3/p' |
		awk '{ t = ($1 * 3600 + $2 * 60 + $3) * 1e6; if (t < last) day += 86400e6; last = t; printf "%.0f\n", t + day }'
}
script_starts() {
	sed -n 's/.*"time_us":\([0-9]*\),.*"step":"attempt_started".*/\1/p' "$root/$1/log.jsonl"
}

# gaps: stdin = start times; prints "first50 last50" median gaps in ms.
gaps() {
	awk '{ t[NR] = $1 }
	function med(a, b,   n, i, j, v, x) { n = 0
		for (i = a; i <= b; i++) v[++n] = t[i + 1] - t[i]
		for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
	END { k = (NR - 1 < 50) ? NR - 1 : 50
		printf "%.1f %.1f\n", med(1, k) / 1000, med(NR - k, NR - 1) / 1000 }'
}

ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0) ? $1 / $2 : 0 }'; }

echo "== flow benchmark vs the hand-rolled script ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
# script, hive, hive, script: whichever runs first pays for what the
# previous run left behind (ext4 skips recently deleted inodes for a while,
# and the page cache is cold), so each side runs once early and once late
s1=$(script_run script-small "$SMALL")
h1=$(hive_run hive-small "$SMALL")
h2=$(hive_run hive-small2 "$SMALL")
s2=$(script_run script-small2 "$SMALL")
s=$((s1 + s2)) h=$((h1 + h2))
echo "$SMALL-task no-op flow, twice each (script, hive, hive, script): script $s1 + $s2 ms, hive $h1 + $h2 ms: hive/script = $(ratio "$h" "$s")x (goal <= 0.5x)"

h=$(hive_run hive-big "$N")
read -r f l < <(hive_starts hive-big | gaps)
echo "$N-task no-op flow, hive: $h ms; median gap between attempt starts: first 50 $f ms, last 50 $l ms: last/first = $(ratio "$l" "$f")x (goal <= 1.25x); peak RSS $(( $(cat "$root/hive-big/rss") / 1024 )) MB (goal <= 20 MB)"
echo "$N-task no-op flow, hive's RSS (sampled every 100 ms): $(cat "$root/hive-big/rss_parts" 2>/dev/null)"
if [ "${HISTORY_BENCH_SCRIPT:-1}" != 0 ]; then
	s=$(script_run script-big "$N")
	read -r f l < <(script_starts script-big | gaps)
	echo "$N-task no-op flow, script: $s ms; median gap: first 50 $f ms, last 50 $l ms: last/first = $(ratio "$l" "$f")x"
fi
