#!/bin/bash
# The hand-rolled shell+git script hive replaces (issue 9's benchmark
# baseline): for each of N independent no-op tasks, do the same per-task
# work as `hive flow run` does, sequentially:
#   git worktree add at the base on branch hive/<flow>/<key>,
#   the runtime (RUNTIME, default `true`) fed a prompt on stdin,
#   git add -A + commit (only when something changed, as hive does),
#   git diff --numstat base..result,
#   the check (CHECK, default `true`) via sh -c,
#   one JSON line appended to LOG per step (no fsync).
# usage: handrolled.sh REPO WORKDIR N LOG [FLOW]
set -euo pipefail
repo=$1 work=$2 n=$3 log=$4 flow=${5:-script}
runtime=${RUNTIME:-true}
check=${CHECK:-true}
base=$(git -C "$repo" rev-parse HEAD)
mkdir -p "$work"
work=$(cd "$work" && pwd)

now() { printf '%s' "${EPOCHREALTIME/./}"; } # microseconds, no fork
step() { # $1 = key, $2 = step, $3 = extra JSON members
	printf '{"time_us":%s,"flow":"%s","task":"%s","step":"%s"%s}\n' "$(now)" "$flow" "$1" "$2" "${3:-}" >> "$log"
}

for i in $(seq 1 "$n"); do
	key=t$i wt=$work/t$i
	step "$key" attempt_started
	git -C "$repo" worktree add -q -B "hive/$flow/$key" "$wt" "$base"
	(cd "$wt" && $runtime) <<< "Task $key: no-op $i"
	step "$key" runtime_exited ',"exit_code":0'
	git -C "$wt" add -A
	if ! git -C "$wt" diff --cached --quiet; then
		git -C "$wt" -c user.name=hive -c user.email=hive@localhost commit -qm "hive checkpoint $key"
	fi
	stat=$(git -C "$wt" diff --numstat "$base" HEAD | wc -l)
	step "$key" changes_recorded ",\"files\":$stat"
	rc=0
	(cd "$wt" && sh -c "$check") || rc=$?
	step "$key" check_completed ",\"exit_code\":$rc"
	step "$key" attempt_completed ",\"outcome\":\"$([ $rc -eq 0 ] && echo success || echo check_failed)\""
done
