#!/bin/bash
# crash.sh - SIGKILL `hive flow run` at chosen points of an attempt's life,
# then require that `hive events verify` passes and that a new `flow run`
# completes the flow.
#
#   HIVE_BIN=/abs/hive bash tests/crash/crash.sh [--kills N] [--seed S] [--keep]
#                                                 [--phases "finish checks"]
#
# Each case is a fresh data dir and a real git repo in a temp dir, with a
# flow of two tasks (b depends on a).  The runtime is a shell script that
# changes files and sleeps; each task has two checks, one of which sleeps.
# The runtime and the checks touch marker files, so a case can aim at a
# phase of task a's first attempt, cycling through:
#   runtime     0-200 ms after the runtime started (it runs ~200 ms)
#   checkpoint  0-30 ms after the runtime's last act (exit, output files,
#               the checkpoint commit, changes_recorded)
#   checks      0-100 ms after the first check started (it runs ~100 ms)
#   finish      0-30 ms after the last check's last act (check_completed,
#               attempt_completed, the next task's start)
#   recovery    a kill in the runtime as above, then a second runner killed
#               0-60 ms after it starts, while it recovers the first
# (--phases picks some of them.)  The delay comes from bash's RANDOM seeded with S*1000+case, so a case
# replays the same way (up to the scheduler's timing).
#
# After each kill: `events verify` exits 0 ("verify held"); `flow run`
# brings the flow to completed and verify still passes ("rerun completed");
# no process of the case is left running; the user's checkout is untouched.
# A runner that ended before the kill landed is counted as "missed", not as
# a kill.  The type of the last event each kill left is tallied, to show
# where the kills fell.  Second to last line: "crash: K kills (...), verify held V/K, rerun completed
# R/C, missed M, failed F"; exit 1 when F > 0.
set -u
: "${HIVE_BIN:?set HIVE_BIN to the hive binary under test}"
KILLS=8 SEED=1 KEEP=0 ONLY=()
while [ $# -gt 0 ]; do
	case $1 in
	--kills) KILLS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--phases) read -ra ONLY <<<"$2"; shift 2 ;;
	*) echo "crash.sh: unknown argument $1 (use --kills N --seed S --phases LIST --keep)" >&2; exit 2 ;;
	esac
done
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/hive-crash-XXXXXX")
[ $KEEP = 1 ] || trap 'rm -rf "$ROOT"' EXIT
PHASES=(runtime checkpoint checks finish recovery)
[ ${#ONLY[@]} -gt 0 ] && PHASES=("${ONLY[@]}")
declare -A landed_by_phase last_event
kills=0 verify_held=0 reruns=0 rerun_ok=0 missed=0 failed=0

# ---- one case ------------------------------------------------------------------

setup_case() { # DIR
	local c=$1
	mkdir -p "$c/repo" "$c/marks" "$c/home"
	git -C "$c/repo" init -q -b main
	printf 'line 1\n' >"$c/repo/notes.txt"
	printf 'old\n' >"$c/repo/obsolete.txt"
	cat >"$c/repo/agent.sh" <<'EOF'
#!/bin/sh
# a runtime: marks its start, edits, adds and removes files, works a while
[ -e "$MARKS/runtime-start" ] || : >"$MARKS/runtime-start"
echo "attempt $HIVE_ATTEMPT_ID" >>notes.txt
mkdir -p gen && seq 1 200 >"gen/$HIVE_TASK_ID.txt"
rm -f obsolete.txt
sleep 0.2
printf '{"summary": "edited notes"}' >"$HIVE_RESULT_FILE"
[ -e "$MARKS/runtime-end" ] || : >"$MARKS/runtime-end"
EOF
	cat >"$c/check.sh" <<'EOF'
#!/bin/sh
# the slow check: marks its start, looks at the runtime's work, marks its end
[ -e "$MARKS/check-start" ] || : >"$MARKS/check-start"
sleep 0.1
grep -q attempt notes.txt && test ! -e obsolete.txt
rc=$?
[ -e "$MARKS/check-end" ] || : >"$MARKS/check-end"
exit $rc
EOF
	chmod +x "$c/repo/agent.sh" "$c/check.sh"
	git -C "$c/repo" add -A
	git -C "$c/repo" -c user.name=t -c user.email=t@t commit -qm init
	cat >"$c/spec.json" <<EOF
{"name": "crash", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"command": ["./agent.sh"], "timeout": "1m", "env": {"MARKS": "$c/marks"}},
              "retry": {"max_attempts": 6, "backoff": {"initial": "0s"}}},
 "tasks": [{"key": "a", "title": "A",
            "checks": [{"name": "quick", "command": "test -s notes.txt"},
                       {"name": "slow", "command": "MARKS=$c/marks $c/check.sh"}]},
           {"key": "b", "title": "B", "depends_on": ["a"],
            "checks": [{"name": "quick", "command": "test -s notes.txt"}]}]}
EOF
	hv flow create --file "$c/spec.json" && hv flow start crash
}

hv() { HIVE_DIR=$C/data HOME=$C/home "$HIVE_BIN" "$@" >>"$C/log" 2>&1 </dev/null; }

wait_mark() { # NAME: up to 30 s
	local i
	for ((i = 0; i < 6000; i++)); do
		[ -e "$C/marks/$1" ] && return 0
		kill -0 "$RUNNER" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}

sleep_ms() { sleep "$(printf '0.%03d' "$1")"; }

# Start a runner in the background: $RUNNER.
start_runner() {
	HIVE_DIR=$C/data HOME=$C/home "$HIVE_BIN" flow run crash >>"$C/log" 2>&1 </dev/null &
	RUNNER=$!
}

# SIGKILL $RUNNER; 0 when the kill landed on a running runner.
kill_runner() {
	local rc=0
	kill -KILL "$RUNNER" 2>/dev/null
	wait "$RUNNER" 2>/dev/null || rc=$?
	[ $rc = 137 ]
}

# Aim at PHASE with DELAY ms; returns 0 when the kill landed.
aim() { # PHASE DELAY
	case $1 in
	runtime) wait_mark runtime-start || return 1 ;;
	checkpoint) wait_mark runtime-end || return 1 ;;
	checks) wait_mark check-start || return 1 ;;
	finish) wait_mark check-end || return 1 ;;
	esac
	sleep_ms "$2"
	kill_runner
}

case_fail() {
	failed=$((failed + 1))
	echo "  FAIL case $1: $2 (log: $C/log)"
	[ $KEEP = 1 ] || { echo "---- $C/log"; tail -20 "$C/log"; }
}

# Nothing of this case still runs (the runtime, a check, a runner).
no_leftovers() {
	! pgrep -f -- "$C/" >/dev/null 2>&1 && ! pgrep -f -- "MARKS=$C" >/dev/null 2>&1
}

run_case() { # N
	local n=$1 phase=${PHASES[$(($1 % ${#PHASES[@]}))]} delay landed=0
	RANDOM=$((SEED * 1000 + n))
	case $phase in
	runtime) delay=$((RANDOM % 200)) ;;
	checks) delay=$((RANDOM % 100)) ;;
	recovery) delay=$((RANDOM % 150)) ;;
	*) delay=$((RANDOM % 30)) ;;
	esac
	C=$ROOT/case-$n
	setup_case "$C" || { case_fail "$n" "setup failed"; return; }
	local head_before
	head_before=$(git -C "$C/repo" rev-parse main)
	start_runner
	if aim "${phase/recovery/runtime}" "$delay"; then
		landed=1
	fi
	if [ $phase = recovery ] && [ $landed = 1 ]; then
		local d2=$((RANDOM % 60))
		verify_after_kill "$n" || return
		start_runner
		sleep_ms "$d2"
		kill_runner && landed=2
		delay="$delay+$d2"
	fi
	if [ $landed = 0 ]; then
		missed=$((missed + 1))
		echo "  case $n $phase +${delay}ms: missed (the runner had already ended)"
		[ $KEEP = 1 ] || rm -rf "$C"
		return
	fi
	[ $landed = 2 ] && { verify_after_kill "$n" || return; }
	[ $phase = recovery ] || { verify_after_kill "$n" || return; }
	reruns=$((reruns + 1))
	if ! hv flow run crash; then
		case_fail "$n" "$phase +${delay}ms: the rerun did not complete the flow"
		return
	fi
	local state
	state=$(HIVE_DIR=$C/data HOME=$C/home "$HIVE_BIN" flow status crash --json 2>>"$C/log" </dev/null)
	case $state in *'"state":"completed"'*) ;; *) state="" ;; esac
	if [ -z "$state" ] || ! hv events verify; then
		case_fail "$n" "$phase +${delay}ms: flow not completed or verify failed after the rerun"
		return
	fi
	if ! no_leftovers; then
		case_fail "$n" "$phase +${delay}ms: processes of the case still run: $(pgrep -af -- "$C/" | head -3)"
		return
	fi
	if [ "$(git -C "$C/repo" rev-parse main)" != "$head_before" ] || [ -n "$(git -C "$C/repo" status --porcelain)" ]; then
		case_fail "$n" "$phase +${delay}ms: the user's checkout changed"
		return
	fi
	rerun_ok=$((rerun_ok + 1))
	echo "  case $n $phase +${delay}ms: killed, verify held, rerun completed"
	[ $KEEP = 1 ] || rm -rf "$C"
}

# One landed kill: count it, note the last event it left, require verify.
verify_after_kill() { # N
	local last
	kills=$((kills + 1))
	landed_by_phase[$phase]=$((${landed_by_phase[$phase]:-0} + 1))
	last=$(HIVE_DIR=$C/data HOME=$C/home "$HIVE_BIN" events list --tail 1 --json 2>/dev/null </dev/null |
		sed -n 's/.*"type":"\([a-z_]*\)".*/\1/p')
	last_event[${last:-none}]=$((${last_event[${last:-none}]:-0} + 1))
	if hv events verify; then
		verify_held=$((verify_held + 1))
		return 0
	fi
	case_fail "$1" "events verify failed after a kill in $phase"
	return 1
}

echo "crash: $KILLS cases from seed $SEED in $ROOT"
start=$(date +%s)
for ((i = 0; i < KILLS; i++)); do
	run_case "$i"
done
by=""
for p in "${PHASES[@]}"; do by="$by${by:+, }$p ${landed_by_phase[$p]:-0}"; done
echo "crash: $kills kills ($by), verify held $verify_held/$kills, rerun completed $rerun_ok/$reruns, missed $missed, failed $failed, $(($(date +%s) - start)) s"
by=""
for p in "${!last_event[@]}"; do by="$by${by:+, }$p ${last_event[$p]}"; done
echo "crash: last event before each kill: $by"
[ $failed = 0 ]
