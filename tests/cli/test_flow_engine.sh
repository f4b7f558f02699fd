#!/bin/bash
# test_flow_engine.sh - the flow engine end to end.
#
# Every test builds a fresh git repository and a fresh hive data dir in its
# sandbox (lib.sh), runs real processes as runtimes (small shell scripts
# written into the repo), and ends by checking `hive events verify`.
# Nothing waits on timing luck: processes synchronise through marker files,
# polled with a bound; each test runs under lib.sh's timeout so a hang is a
# failure, not a stuck run.  Needs bash, git, python3, coreutils.
#
# usage: HIVE_BIN=/abs/path/hive bash tests/cli/test_flow_engine.sh
#        (CLI_ONLY=REGEX runs some tests; CLI_VERBOSE=1 shows each refusal)
source "$(dirname "$0")/lib.sh"

export GIT_AUTHOR_NAME=hive-test GIT_AUTHOR_EMAIL=test@hive.invalid
export GIT_COMMITTER_NAME=hive-test GIT_COMMITTER_EMAIL=test@hive.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# Each test sets S=$T (its sandbox) and D=$HIVE_DIR (its data dir).

# wait_for_event TYPE TASK [SECONDS]: bounded poll until the log holds an
# event TYPE for TASK.  An agent's marker file can appear before hive has
# committed runtime_started (it spawns, then records the pgid), so tests that
# interrupt a runner wait for both.
_has_event() { [ -n "$("$HIVE_BIN" events list --json --type "$1" --task "$2" 2>/dev/null)" ]; }
wait_for_event() { wait_until "${3:-10}" _has_event "$1" "$2"; }

# make_repo [FILE CONTENT]...: a fresh repo in $S/repo with one commit.
make_repo() {
	R="$S/repo"
	mkdir -p "$R"
	git -C "$R" init -q
	echo "a test repository" >"$R/README"
	while [ $# -ge 2 ]; do
		mkdir -p "$(dirname "$R/$1")"
		printf '%s' "$2" >"$R/$1"
		case $1 in *.sh) chmod +x "$R/$1" ;; esac
		shift 2
	done
	git -C "$R" add -A
	git -C "$R" commit -q -m "initial"
}

# spec NAME JSON: write $S/NAME.json.
spec() { printf '%s\n' "$2" >"$S/$1.json"; }

# create_and_start SPECNAME FLOW: flow create --file + flow start, both 0.
create_and_start() {
	expect_exit 0 flow create --file "$S/$1.json"
	expect_exit 0 flow start "$2"
}

# the project clause every spec uses: created on first use, repo beside the spec
PROJ='{"name": "p", "repo": "repo"}'

# ---- 1. success first time --------------------------------------------------------

# 1 - a flow that succeeds first time
test_01_succeeds_first_time() {
	S=$T D=$HIVE_DIR
	make_repo agent.sh '#!/bin/sh
echo "made by the agent" > made.txt
'
	spec f '{"name": "f1", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "30s"}},
	  "tasks": [{"key": "make", "title": "Make a file",
	             "checks": [{"name": "exists", "command": "test -f made.txt"}]}]}'
	create_and_start f f1
	expect_exit 0 flow run f1
	expect_exit 0 --json flow status f1
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "flow state: $(json_py 'd["flow"]["state"]')"
	[ "$(json_py '[t["state"] for t in d["tasks"]]')" = '["success"]' ] || fail "task states: $(json_py '[t["state"] for t in d["tasks"]]')"
	expect_exit 0 --json attempt list --flow f1
	[ "$(json_py 'len(d["attempts"])')" = 1 ] || fail "attempt list has $(json_py 'len(d["attempts"])') attempts, want 1"
	[ "$(json_py 'd["attempts"][0]["outcome"]')" = success ] || fail "attempt outcome $(json_py 'd["attempts"][0]["outcome"]')"
	local aid
	aid=$(json_py 'd["attempts"][0]["id"]')
	expect_exit 0 attempt inspect "$aid" --diff
	grep -q '^+++ b/made.txt' "$OUT" || fail "inspect --diff does not show made.txt: $(cat "$OUT")"
	grep -q '^+made by the agent' "$OUT" || fail "inspect --diff lacks the new line"
	# a unique prefix of the id works as well as the id
	expect_exit 0 attempt inspect "${aid:0:13}" --context
	grep -qi 'no retry context\|had no\|none' "$OUT" || fail "inspect --context for attempt 1: $(cat "$OUT")"
	grep -qi 'first attempt' "$OUT" || fail "inspect --context does not say it was the first attempt: $(cat "$OUT")"
	# the user's checkout did not get the file
	[ ! -e "$R/made.txt" ] || fail "made.txt leaked into the user's checkout"
	expect_exit 0 events verify
}

# ---- 2. check failure, then a successful retry ---------------------------------------

# 2 - check failure, then a successful retry with context
test_02_check_failure_then_retry_with_context() {
	S=$T D=$HIVE_DIR
	make_repo agent.sh '#!/bin/sh
if [ "$HIVE_ATTEMPT_NUMBER" -ge 2 ]; then
  echo fixed > fixed.txt
else
  echo "not yet" > notes.txt
fi
'
	spec f '{"name": "f2", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "30s"}},
	  "tasks": [{"key": "fix", "title": "Fix it",
	             "checks": [{"name": "fixed", "command": "test -f fixed.txt || { echo FAIL: fixed.txt missing; exit 3; }"}],
	             "retry": {"max_attempts": 3}}]}'
	create_and_start f f2
	expect_exit 1 flow tick f2
	expect_exit 0 --json flow status f2
	[ "$(json_py 'd["tasks"][0]["state"]')" = retry ] || fail "after tick 1 task state $(json_py 'd["tasks"][0]["state"]'), want retry"
	[ "$(json_py 'd["tasks"][0]["last_outcome"]')" = check_failed ] || fail "after tick 1 outcome $(json_py 'd["tasks"][0]["last_outcome"]')"
	expect_exit 0 flow tick f2
	expect_exit 0 --json flow status f2
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "after tick 2 flow state $(json_py 'd["flow"]["state"]')"
	[ "$(json_py 'd["tasks"][0]["state"]')" = success ] || fail "after tick 2 task state $(json_py 'd["tasks"][0]["state"]')"

	events_dump --task f2/fix
	# the four events that open attempt 2, consecutive in the task's stream
	local order
	order=$(events_py '
i = next(k for k, e in enumerate(E) if e["type"] == "task_state_changed" and e["payload"].get("from") == "retry" and e["payload"].get("to") == "running")
[e["type"] for e in E[i:i + 4]]')
	[ "$order" = '["task_state_changed", "retry_context_assembled", "attempt_started", "runtime_started"]' ] ||
		fail "attempt 2 opening events: $order"
	[ "$(events_py '[e["payload"]["attempt_number"] for e in E if e["type"] == "attempt_started"]')" = '[1, 2]' ] ||
		fail "attempt numbers: $(events_py '[e["payload"]["attempt_number"] for e in E if e["type"] == "attempt_started"]')"
	[ "$(events_py 'sum(1 for e in E if e["type"] == "retry_context_assembled")')" = 1 ] ||
		fail "retry_context_assembled count $(events_py 'sum(1 for e in E if e["type"] == "retry_context_assembled")')"
	[ "$(events_py '[e for e in E if e["type"] == "task_retry_scheduled"][0]["payload"]["outcome"]')" = check_failed ] ||
		fail "task_retry_scheduled outcome wrong"
	# the context names the failed check and its output, and was delivered as shown
	expect_exit 0 --json attempt list --task f2/fix
	local a2
	a2=$(json_py '[a["id"] for a in d["attempts"] if a["attempt_number"] == 2][0]')
	expect_exit 0 attempt inspect "$a2" --context
	grep -q 'attempt 2 of 3' "$OUT" || fail "context lacks 'attempt 2 of 3': $(cat "$OUT")"
	grep -q 'Attempt 1 failed: check_failed' "$OUT" || fail "context lacks the attempt 1 heading"
	grep -q 'FAIL: fixed.txt missing' "$OUT" || fail "context lacks the check output"
	grep -q '"fixed"' "$OUT" || fail "context does not name the check"
	local prompt="$D/attempts/$a2/prompt.md"
	grep -q 'FAIL: fixed.txt missing' "$prompt" 2>/dev/null || fail "prompt.md of attempt 2 lacks the context"
	# mode clean: attempt 2 started from the task base, so notes.txt of attempt 1 is gone
	# (the worktree was released when the task succeeded: read its result branch)
	! git -C "$R" cat-file -e hive/f2/fix:notes.txt 2>/dev/null || fail "mode clean kept attempt 1's notes.txt"
	expect_exit 0 events verify
}

# ---- 3. dependency chain ---------------------------------------------------------

# 3 - dependency chain: B sees A's result
test_03_dependency_chain() {
	S=$T D=$HIVE_DIR
	make_repo agent.sh '#!/bin/sh
echo "from $1" > "$1.txt"
'
	spec f '{"name": "f3", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "30s"},
	               "retry": {"max_attempts": 1}},
	  "tasks": [{"key": "b", "title": "B", "depends_on": ["a"],
	             "runtime": {"adapter": "exec", "command": ["./agent.sh", "b"]},
	             "checks": [{"name": "has-a", "command": "test -f a.txt && grep -q \"from a\" a.txt"},
	                        {"name": "has-b", "command": "test -f b.txt"}]},
	            {"key": "a", "title": "A",
	             "runtime": {"adapter": "exec", "command": ["./agent.sh", "a"]}}]}'
	create_and_start f f3
	expect_exit 0 flow run f3 --max-parallel 2
	expect_exit 0 --json flow status f3
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "flow state $(json_py 'd["flow"]["state"]')"
	[ "$(json_py 'sorted((t["key"], t["state"]) for t in d["tasks"])')" = '[["a", "success"], ["b", "success"]]' ] ||
		fail "tasks: $(json_py 'sorted((t["key"], t["state"]) for t in d["tasks"])')"
	# B started only after A succeeded
	events_dump --flow f3
	[ "$(events_py '
tid = {e["task_id"]: e["payload"]["key"] for e in E if e["type"] == "task_created"}
sa = [e["seq"] for e in E if e["type"] == "task_state_changed" and tid[e["task_id"]] == "a" and e["payload"]["to"] == "success"][0]
sb = [e["seq"] for e in E if e["type"] == "attempt_started" and tid[e["task_id"]] == "b"][0]
sa < sb')" = True ] || fail "b's attempt started before a succeeded"
	git -C "$R" cat-file -e hive/f3/b:a.txt || fail "a.txt missing from b's result"
	[ "$(git -C "$R" branch --list 'hive/f3/*' | wc -l)" = 2 ] || fail "want branches hive/f3/a and hive/f3/b"
	expect_exit 0 events verify
}

# ---- 4. two dependencies merged; a merge conflict ----------------------------------

# 4 - two dependencies merged; a conflict fails the dependant
test_04_merge_and_conflict() {
	S=$T D=$HIVE_DIR
	make_repo agent.sh '#!/bin/sh
# $1: what to do: write FILE TEXT
printf "%s\n" "$3" > "$2"
' shared.txt 'line one
base
line three
'
	spec ok '{"name": "f4", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "30s"},
	               "retry": {"max_attempts": 1}},
	  "tasks": [{"key": "a", "title": "A", "runtime": {"adapter": "exec", "command": ["./agent.sh", "write", "a.txt", "A"]}},
	            {"key": "b", "title": "B", "runtime": {"adapter": "exec", "command": ["./agent.sh", "write", "b.txt", "B"]}},
	            {"key": "c", "title": "C", "depends_on": ["a", "b"],
	             "runtime": {"adapter": "exec", "command": ["./agent.sh", "write", "c.txt", "C"]},
	             "checks": [{"name": "both", "command": "grep -qx A a.txt && grep -qx B b.txt"}]}]}'
	create_and_start ok f4
	expect_exit 0 flow run f4 --max-parallel 2
	expect_exit 0 --json flow status f4
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "merge flow state $(json_py 'd["flow"]["state"]')"
	git -C "$R" cat-file -e hive/f4/c:a.txt && git -C "$R" cat-file -e hive/f4/c:b.txt || fail "c's result lacks a.txt or b.txt"

	# the conflict: a and b both rewrite shared.txt differently (same project, new flow)
	spec bad '{"name": "f4x", "project": "p",
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "30s"},
	               "retry": {"max_attempts": 3}},
	  "tasks": [{"key": "a", "title": "A", "runtime": {"adapter": "exec", "command": ["./agent.sh", "write", "shared.txt", "from A"]}},
	            {"key": "b", "title": "B", "runtime": {"adapter": "exec", "command": ["./agent.sh", "write", "shared.txt", "from B"]}},
	            {"key": "c", "title": "C", "depends_on": ["a", "b"]},
	            {"key": "d", "title": "D", "depends_on": ["c"]}]}'
	create_and_start bad f4x
	expect_exit 1 flow run f4x --max-parallel 2
	expect_exit 0 --json flow status f4x
	[ "$(json_py 'd["flow"]["state"]')" = failed ] || fail "conflict flow state $(json_py 'd["flow"]["state"]'), want failed"
	local states
	states=$(json_py '{t["key"]: t["state"] for t in d["tasks"]}')
	[ "$states" = '{"a": "success", "b": "success", "c": "failed", "d": "pending"}' ] ||
		fail "conflict task states: $states (want d pending and blocked)"
	events_dump --flow f4x --type task_blocked
	[ "$(events_py 'len(E)')" = 1 ] || fail "want one task_blocked event (for d), got $(events_py 'len(E)')"
	expect_exit 0 flow status f4x
	grep -E '^c ' "$OUT" | grep -q 'shared.txt' || fail "flow status row of c does not name shared.txt: $(cat "$OUT")"
	grep -E '^d ' "$OUT" | grep -qi 'block' || fail "flow status row of d does not say blocked: $(cat "$OUT")"
	expect_exit 0 task show f4x/c
	grep -q 'shared.txt' "$OUT" || fail "task show f4x/c does not name shared.txt: $(cat "$OUT")"
	grep -qi 'conflict' "$OUT" || fail "task show f4x/c does not say conflict: $(cat "$OUT")"
	# a merge conflict is not something a retry can fix: c never started an attempt
	expect_exit 0 --json attempt list --task f4x/c
	[ "$(json_py 'len(d["attempts"])')" = 0 ] || fail "c has $(json_py 'len(d["attempts"])') attempts after a merge conflict, want 0"
	expect_exit 0 events verify
}

# ---- 5. parallel attempts that provably overlap --------------------------------------

# 5 - parallel attempts overlap (each waits for the other)
test_05_parallel_attempts_overlap() {
	S=$T D=$HIVE_DIR
	mkdir -p "$S/markers"
	make_repo agent.sh '#!/bin/sh
# $1 = me, $2 = the other task, $3 = marker dir (outside the worktree)
touch "$3/$1.start"
i=0
while [ ! -e "$3/$2.start" ]; do
  i=$((i + 1))
  [ $i -gt 200 ] && { echo "gave up waiting for $2" >&2; exit 7; }
  sleep 0.05
done
echo "$1 saw $2" > "$1.txt"
'
	local M="$S/markers"
	spec f '{"name": "f5", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "15s"},
	               "retry": {"max_attempts": 1}},
	  "tasks": [{"key": "p", "title": "P", "runtime": {"adapter": "exec", "command": ["./agent.sh", "p", "q", "'"$M"'"]}},
	            {"key": "q", "title": "Q", "runtime": {"adapter": "exec", "command": ["./agent.sh", "q", "p", "'"$M"'"]}}]}'
	create_and_start f f5
	expect_exit 0 flow run f5 --max-parallel 2
	expect_exit 0 --json flow status f5
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "flow state $(json_py 'd["flow"]["state"]') (tasks: $(json_py '[(t["key"], t["state"], t.get("last_outcome")) for t in d["tasks"]]'))"
	# The overlap itself is proven by the agents: each waits for the other's
	# start marker and exits 7 (failing the flow, max_attempts 1) when it never
	# comes.  The log's order between the two attempts is not asserted: one
	# runtime may see the other's marker and exit before the other thread has
	# committed its runtime_started.  Each attempt's own order is.
	events_dump --flow f5 --type runtime_started --type runtime_exited
	[ "$(events_py '
at = {}
for e in E: at.setdefault(e["attempt_id"], []).append(e["type"])
len(at) == 2 and all(v == ["runtime_started", "runtime_exited"] for v in at.values())')" = True ] || fail "runtime events per attempt: $(events_py '[(e["seq"], e["type"]) for e in E]')"
	[ "$(git -C "$S/repo" show hive/f5/p:p.txt)" = "p saw q" ] || fail "p did not see q running"
	[ "$(git -C "$S/repo" show hive/f5/q:q.txt)" = "q saw p" ] || fail "q did not see p running"
	expect_exit 0 events verify
}

# ---- 6. timeout kills the runtime's grandchild -----------------------------------------

# 6 - timeout kills the runtime's whole process group
test_06_timeout_kills_process_group() {
	S=$T D=$HIVE_DIR
	kill_on_exit "$S/grandchild.pid"
	kill_on_exit "$S/agent.pid"
	make_repo agent.sh '#!/bin/sh
echo $$ > "$1/agent.pid"
sleep 300 &
echo $! > "$1/grandchild.pid.tmp" && mv "$1/grandchild.pid.tmp" "$1/grandchild.pid"
sleep 300
'
	spec f '{"name": "f6", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh", "'"$S"'"], "timeout": "1s"},
	               "retry": {"max_attempts": 1}},
	  "tasks": [{"key": "slow", "title": "Sleep too long", "checks": [{"name": "never", "command": "true"}]}]}'
	create_and_start f f6
	expect_exit 1 flow run f6
	expect_exit 0 --json attempt list --task f6/slow
	[ "$(json_py '[a["outcome"] for a in d["attempts"]]')" = '["timeout"]' ] ||
		fail "outcomes $(json_py '[a["outcome"] for a in d["attempts"]]'), want [timeout]"
	expect_exit 0 --json attempt inspect 'f6/slow#1'
	[ "$(json_py 'd["runtime_exited"]["termination_reason"]')" = timeout ] ||
		fail "termination_reason $(json_py 'd["runtime_exited"]["termination_reason"]')"
	# documented in docs/events.md: a runtime hive ended has no exit code of its own
	[ "$(json_py '"exit_code" in d["runtime_exited"] and d["runtime_exited"]["exit_code"] is None')" = True ] ||
		fail "runtime_exited.exit_code on timeout is not null: $(json_py 'd["runtime_exited"]')"
	if [ -s "$S/grandchild.pid" ]; then
		pid_gone "$(cat "$S/grandchild.pid")" 10 || fail "grandchild sleep $(cat "$S/grandchild.pid") still alive after the timeout"
		pid_gone "$(cat "$S/agent.pid")" 10 || fail "agent $(cat "$S/agent.pid") still alive after the timeout"
	else
		fail "the agent never wrote the grandchild's pid"
	fi
	expect_exit 0 --json task show f6/slow
	[ "$(json_py 'd["state"]')" = failed ] || fail "task state $(json_py 'd["state"]'), want failed"
	# checks never run when the runtime did not exit 0
	events_dump --task f6/slow --type check_started
	[ "$(events_py 'len(E)')" = 0 ] || fail "a check ran after a timeout"
	expect_exit 0 events verify
}

# ---- 7. missing runtime binary -----------------------------------------------------------

# 7 - missing runtime binary: runtime_unavailable, no retry
test_07_missing_runtime_binary() {
	S=$T D=$HIVE_DIR
	make_repo
	spec f '{"name": "f7", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["hive-test-no-such-agent-binary"], "timeout": "30s"},
	               "retry": {"max_attempts": 3}},
	  "tasks": [{"key": "t", "title": "Nobody home"},
	            {"key": "u", "title": "Missing relative", "runtime": {"adapter": "exec", "command": ["./not-there.sh"]}}]}'
	create_and_start f f7
	expect_exit 1 flow run f7
	expect_exit 0 --json attempt list --flow f7
	[ "$(json_py 'sorted(a["outcome"] for a in d["attempts"])')" = '["runtime_unavailable", "runtime_unavailable"]' ] ||
		fail "outcomes $(json_py '[a["outcome"] for a in d["attempts"]]'), want one runtime_unavailable per task"
	expect_exit 0 --json flow status f7
	[ "$(json_py 'd["flow"]["state"]')" = failed ] || fail "flow state $(json_py 'd["flow"]["state"]')"
	[ "$(json_py '[(t["key"], t["state"], t["attempts"]) for t in d["tasks"]]')" = '[["t", "failed", 1], ["u", "failed", 1]]' ] ||
		fail "tasks $(json_py '[(t["key"], t["state"], t["attempts"]) for t in d["tasks"]]')"
	# the attempt says why the runtime could not start
	expect_exit 0 --json attempt list --task f7/t
	expect_exit 0 attempt inspect "$(json_py 'd["attempts"][0]["id"]')"
	grep -q 'hive-test-no-such-agent-binary.*No such file' "$OUT" || fail "inspect does not say why: $(cat "$OUT")"
	events_dump --flow f7 --type task_retry_scheduled
	[ "$(events_py 'len(E)')" = 0 ] || fail "a retry was scheduled for runtime_unavailable"
	expect_exit 0 events verify
}

# ---- 8. SIGKILL of the runner mid-attempt ---------------------------------------------------

# 8 - runner SIGKILLed mid-attempt: next run kills the orphan, retries
test_08_runner_sigkilled_mid_attempt() {
	S=$T D=$HIVE_DIR
	kill_on_exit "$S/agent.pid"
	make_repo agent.sh '#!/bin/sh
if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
  echo $$ > "$1/agent.pid"
  touch "$1/started"
  exec sleep 300
fi
echo done > done.txt
'
	spec f '{"name": "f8", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh", "'"$S"'"], "timeout": "10m"}},
	  "tasks": [{"key": "t", "title": "Survive a dead runner",
	             "checks": [{"name": "done", "command": "test -f done.txt"}],
	             "retry": {"max_attempts": 3}}]}'
	create_and_start f f8
	bg_start "$HIVE_BIN" flow run f8 >"$S/bg.out" 2>"$S/bg.err" </dev/null
	local hpid=$BG_PID
	# kill as soon as the agent runs, without waiting for runtime_started:
	# whether or not the runner got to record the agent's pgid, the next run
	# must find and kill it (hive falls back to HIVE_ATTEMPT_ID in /proc)
	wait_until 20 test -e "$S/started" ||
		fail "attempt 1 never started (runner output: $(cat "$S/bg.out" "$S/bg.err"))"
	local apid
	apid=$(cat "$S/agent.pid")
	kill -9 "$hpid"
	wait "$hpid" 2>/dev/null
	san_check "$S/bg.err"
	pid_alive "$apid" || fail "the agent $apid died with the runner; want it orphaned and alive"
	expect_exit 0 --json task show f8/t
	[ "$(json_py 'd["state"]')" = running ] || fail "after the kill task state $(json_py 'd["state"]'), want running"

	expect_exit 0 flow run f8
	pid_gone "$apid" 10 || fail "the orphaned agent $apid is still alive after the next run"
	events_dump --task f8/t
	[ "$(events_py 'sum(1 for e in E if e["type"] == "attempt_crashed")')" = 1 ] || fail "want exactly one attempt_crashed event"
	expect_exit 0 --json attempt list --task f8/t
	[ "$(json_py '[(a["attempt_number"], a["outcome"]) for a in d["attempts"]]')" = '[[1, "crashed"], [2, "success"]]' ] ||
		fail "attempts $(json_py '[(a["attempt_number"], a["outcome"]) for a in d["attempts"]]')"
	expect_exit 0 --json flow status f8
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "flow state $(json_py 'd["flow"]["state"]')"
	expect_exit 0 events verify
}

# ---- 9. a second runner is refused ------------------------------------------------------------

# 9 - a second runner is refused (exit 4, names the holder)
test_09_second_runner_refused() {
	S=$T D=$HIVE_DIR
	make_repo agent.sh '#!/bin/sh
touch "$1/started"
i=0
while [ ! -e "$1/release" ] && [ $i -lt 600 ]; do i=$((i + 1)); sleep 0.05; done
echo ok > ok.txt
'
	spec f '{"name": "f9", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh", "'"$S"'"], "timeout": "60s"}},
	  "tasks": [{"key": "t", "title": "Hold the lock", "checks": [{"name": "ok", "command": "test -f ok.txt"}]}]}'
	create_and_start f f9
	bg_start "$HIVE_BIN" flow run f9 >"$S/bg.out" 2>"$S/bg.err" </dev/null
	local hpid=$BG_PID
	if wait_until 20 test -e "$S/started" && wait_for_event runtime_started f9/t 20; then
		local before
		run_hive events list --json
		before=$(wc -l <"$OUT")
		expect_exit 4 flow tick f9
		grep -q "^hive: " "$ERR" || fail "tick refusal is not a 'hive: ' line: $(cat "$ERR")"
		[ "$(wc -l <"$ERR")" = 1 ] || fail "tick refusal is not one line: $(cat "$ERR")"
		grep -q "pid $hpid" "$ERR" || fail "tick refusal does not name the holder (pid $hpid): $(cat "$ERR")"
		expect_exit 4 flow run f9
		grep -q "pid $hpid" "$ERR" || fail "run refusal does not name the holder: $(cat "$ERR")"
		# a running task cannot be retried by hand
		expect_exit 4 task retry f9/t
		# the refusals wrote nothing (the runner itself may append meanwhile,
		# but the agent is parked, so the log is still)
		run_hive events list --json
		[ "$(wc -l <"$OUT")" = "$before" ] || fail "the log changed while the runner was parked"
	else
		fail "the runner never started its attempt: $(cat "$S/bg.err")"
	fi
	touch "$S/release"
	local i rc=""
	for ((i = 0; i < 600; i++)); do
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$hpid" 2>/dev/null; then
		fail "the first runner did not finish after release"
		kill -9 "$hpid"
	fi
	wait "$hpid"
	rc=$?
	[ "$rc" = 0 ] || fail "the first runner exited $rc: $(cat "$S/bg.err")"
	san_check "$S/bg.err"
	# and the lock is free again
	expect_exit 0 flow tick f9
	expect_exit 0 events verify
}

# ---- 10. the user's checkout is untouched --------------------------------------------------------

snapshot() {
	{
		echo "HEAD $(git -C "$R" rev-parse HEAD)"
		echo "REF $(git -C "$R" symbolic-ref HEAD)"
		echo "--- status"
		git -C "$R" status --porcelain --untracked-files=all
		echo "--- diff"
		git -C "$R" diff
		echo "--- cached"
		git -C "$R" diff --cached
		echo "--- stash"
		git -C "$R" stash list
		echo "--- branches (not hive/*)"
		git -C "$R" for-each-ref --format='%(refname) %(objectname)' refs/heads refs/tags | grep -v '^refs/heads/hive/'
		echo "--- files"
		(cd "$R" && find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
	} >"$1"
}

# 10 - the user's checkout and branches are untouched
test_10_user_checkout_untouched() {
	S=$T D=$HIVE_DIR
	make_repo agent.sh '#!/bin/sh
echo "agent was here" >> tracked.txt
echo new > agent-new.txt
rm -f README
' tracked.txt 'original
'
	git -C "$R" checkout -q -b feature
	echo "user's uncommitted edit" >>"$R/tracked.txt"
	echo "user's scratch" >"$R/untracked.txt"
	spec f '{"name": "f10", "project": '"$PROJ"',
	  "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "30s"}},
	  "tasks": [{"key": "edit", "title": "Edit files",
	             "checks": [{"name": "edited", "command": "grep -q \"agent was here\" tracked.txt && ! grep -q uncommitted tracked.txt"}]}]}'
	snapshot "$S/before"
	create_and_start f f10
	expect_exit 0 flow run f10
	snapshot "$S/after"
	diff -u "$S/before" "$S/after" >"$S/snapdiff" || fail "the user's checkout changed: $(head -c 600 "$S/snapdiff")"
	[ "$(git -C "$R" branch --list 'hive/*' | sed 's/^[* +]*//')" = "hive/f10/edit" ] ||
		fail "hive branches: $(git -C "$R" branch --list 'hive/*')"
	# the task branch holds the agent's work on top of the flow's base (the user's HEAD)
	git -C "$R" merge-base --is-ancestor feature hive/f10/edit || fail "hive/f10/edit does not descend from the user's HEAD"
	git -C "$R" cat-file -e hive/f10/edit:agent-new.txt 2>/dev/null || fail "hive/f10/edit lacks agent-new.txt"
	expect_exit 0 events verify
}

# ---- 11. malformed specs and bad flags ---------------------------------------------------------------

# bad CODE DESCRIPTION PATTERN ARGS...: hive ARGS exits CODE, prints exactly
# one stderr line starting "hive: " that matches PATTERN (grep -E, case
# insensitive), and leaves the event log as it was.
bad() {
	local code=$1 what=$2 pat=$3
	shift 3
	local before after
	before=$("$HIVE_BIN" events list --json | sha256sum)
	run_hive "$@"
	after=$("$HIVE_BIN" events list --json | sha256sum)
	local lines short
	lines=$(wc -l <"$ERR")
	short=$(head -c 300 "$ERR")
	if [[ ! $RC =~ ^($code)$ ]]; then
		fail "$what: exit $RC, want $code (stderr: $short)"
	elif [ "$lines" != 1 ] || [[ $(cat "$ERR") != "hive: "* ]]; then
		fail "$what: stderr is not one 'hive: ' line: $short"
	elif [ -n "$pat" ] && ! grep -qiE -- "$pat" "$ERR"; then
		fail "$what: message does not match /$pat/: $short"
	fi
	# a hint to "see hive WORDS" names a command that exists
	local hint
	hint=$(grep -oE 'see hive [a-z]+( [a-z]+)?' "$ERR" | head -1)
	if [ -n "$hint" ] && "$HIVE_BIN" --dir "$S/hint" ${hint#see hive } </dev/null 2>&1 >/dev/null | grep -q 'unknown command'; then
		fail "$what: the message points to a command that does not exist: ${hint#see }"
	fi
	[ -z "${CLI_VERBOSE:-}" ] || echo "       [$RC] $what: $(cat "$ERR")"
	[ "$before" = "$after" ] || fail "$what: the event log changed"
	[ ! -s "$OUT" ] || fail "$what: printed to stdout: $(cat "$OUT")"
	CASES=$((CASES + 1))
}

# badspec CODE DESCRIPTION PATTERN JSON: `flow create --file` of that spec.
badspec() {
	# every spec gets a valid runtime unless it brings its own defaults
	local body=$4
	case $body in *'"defaults"'*) ;; *) body=${body/\"project\": /$RT, \"project\": } ;; esac
	printf '%s' "$body" >"$S/bad.json"
	bad "$1" "$2" "$3" flow create --file "$S/bad.json"
}

# 11 - malformed specs and bad flags are refused, log untouched
test_11_malformed_input_refused() {
	S=$T D=$HIVE_DIR
	CASES=0
	make_repo
	# a base state: project p, a flow with a pending task, a started flow with a ready task
	expect_exit 0 project create p --repo "$R"
	RT='"defaults": {"runtime": {"adapter": "exec", "command": ["true"]}}'
	spec pend '{"name": "pend", "project": "p", '"$RT"', "tasks": [{"key": "t1", "title": "T1"}, {"key": "t2", "title": "T2"}]}'
	expect_exit 0 flow create --file "$S/pend.json"
	spec rdy '{"name": "rdy", "project": "p", '"$RT"', "tasks": [{"key": "r1", "title": "R1"}, {"key": "t1", "title": "T1 again"}]}'
	create_and_start rdy rdy
	local TA='"tasks": [{"key": "a", "title": "A"}]'

	badspec 2 "JSON syntax error" '(line )?3[:, ]+(column |col )?[0-9]+' '{"name": "x",
 "project": "p",
 "tasks": [ {"key": "a" "title": "A"} ]}'
	badspec 2 "trailing garbage" '' '{"name": "x", "project": "p", '"$TA"'} extra'
	badspec 2 "unknown top-level key" 'colour' '{"name": "x", "project": "p", "colour": "red", '"$TA"'}'
	badspec 2 "unknown task key" 'flavour' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A", "flavour": 1}]}'
	badspec 2 "unknown depends_on" 'ghost' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A", "depends_on": ["ghost"]}]}'
	badspec 2 "dependency cycle" 'cycle' '{"name": "x", "project": "p", "tasks": [
	  {"key": "a", "title": "A", "depends_on": ["c"]}, {"key": "b", "title": "B", "depends_on": ["a"]},
	  {"key": "c", "title": "C", "depends_on": ["b"]}]}'
	badspec 2 "self dependency" '' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A", "depends_on": ["a"]}]}'
	badspec 2 "bad duration" 'timeout' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "checks": [{"name": "c", "command": "true", "timeout": "10 parsecs"}]}]}'
	badspec 2 "bad backoff duration" 'initial' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"backoff": {"initial": "-5s"}}}]}'
	badspec 2 "wrong type" 'max_attempts' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"max_attempts": "three"}}]}'
	badspec 2 "zero max_attempts" 'max_attempts' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"max_attempts": 0}}]}'
	badspec 2 "bad retry outcome" 'explode' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"retry_on": ["check_failed", "explode"]}}]}'
	badspec 2 "bad budget outcome" 'sneeze' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"budgets": [{"on": ["sneeze"], "max_attempts": 2}]}}]}'
	badspec 2 "bad jitter" 'jitter' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"backoff": {"jitter": "lots"}}}]}'
	badspec 2 "bad mode" 'mode' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",
	  "retry": {"mode": "sideways"}}]}'
	badspec 2 "missing title" 'title' '{"name": "x", "project": "p", "tasks": [{"key": "a"}]}'
	badspec 2 "duplicate task key" '"?a"?' '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A"}, {"key": "a", "title": "A2"}]}'
	badspec 2 "empty command argv" 'command' '{"name": "x", "project": "p", "defaults": {"runtime": {"adapter": "exec", "command": []}}, '"$TA"'}'
	badspec 2 "unknown adapter" 'adapter|teleport' '{"name": "x", "project": "p", "defaults": {"runtime": {"adapter": "teleport"}}, '"$TA"'}'
	badspec 2 "no tasks" 'tasks' '{"name": "x", "project": "p", "tasks": []}'
	badspec 3 "spec names an unknown project" 'nosuchproject' '{"name": "x", "project": "nosuchproject", '"$TA"'}'
	badspec 4 "flow name taken" 'pend' '{"name": "pend", "project": "p", '"$TA"'}'
	# a bad spec that also names a new project to create: still nothing written
	badspec 2 "new project + bad task" 'title' '{"name": "x", "project": {"name": "newp", "repo": "repo"}, "tasks": [{"key": "a"}]}'
	bad '2|3' "missing spec file" 'nope.json' flow create --file "$S/nope.json"

	bad 2 "--max-parallel 0" 'max-parallel' flow run rdy --max-parallel 0
	bad 2 "--max-parallel not a number" 'max-parallel' flow tick rdy --max-parallel lots
	bad 2 "--max-parallel without value" 'max-parallel' flow tick rdy --max-parallel
	bad 2 "unknown flag" 'frobnicate' flow status rdy --frobnicate
	bad 2 "unknown command" '' flow explode rdy
	bad 2 "missing argument" '' flow start
	bad 2 "too many arguments" '' flow start rdy extra
	bad 2 "--check without =" 'check' task create p "Bad check" --check nocommand --runtime-command true
	bad 2 "--max-attempts 0" 'max-attempts' task create p "Bad" --max-attempts 0 --runtime-command true
	bad 2 "--mode sideways" 'mode' task retry pend/t1 --mode sideways
	expect_exit 0 task create p "A loose task" --key loose --runtime-command true
	bad 3 "flow create: unknown project" 'nosuchproject' flow create nosuchproject --name y --task loose
	bad 3 "flow create: unknown task" 'ghost' flow create p --name y --task ghost
	bad 3 "flow start nosuch" 'nosuch' flow start nosuch
	bad 3 "flow run nosuch" 'nosuch' flow run nosuch
	bad 3 "task show nosuch" 'nosuch' task show nosuch
	bad 3 "attempt inspect unknown id" '' attempt inspect ffffffff
	bad 3 "ambiguous bare key" 'pend|rdy|ambiguous' task show t1
	expect_exit 0 --json task show pend/t1
	local tid
	tid=$(json_py 'd["id"]')
	bad 3 "ambiguous id prefix" 'ambiguous' task show "${tid:0:4}"
	bad 4 "task retry on a pending task" 'pending' task retry pend/t1
	bad 4 "task retry on a ready task" 'ready' task retry rdy/r1
	bad 4 "flow start twice" 'running' flow start rdy
	bad 4 "flow resume a running flow" '' flow resume rdy
	bad 4 "task in a flow that has not ended" 'flow pend\b' flow create p --name y --task pend/t1
	# with --json the one stderr line is a JSON error document
	run_hive --json flow start nosuch
	[ "$RC" = 3 ] || fail "--json flow start nosuch: exit $RC"
	python3 <"$ERR" -c 'import json,sys; d=json.load(sys.stdin); assert d["error"]["message"] and d["error"]["code"]' 2>/dev/null ||
		fail "--json error is not {\"error\": {code, message}}: $(cat "$ERR")"
	[ "$CASES" -ge 12 ] || fail "only $CASES cases ran"
	echo "    ($CASES cases)"
	expect_exit 0 events verify
}

# ---- 12. tasks and flows from flags ---------------------------------------------------------------

# 12 - task create + flow create from flags, then run
test_12_tasks_and_flow_from_flags() {
	S=$T D=$HIVE_DIR
	make_repo
	expect_exit 0 project create p12 --repo "$R" --description "flags path"
	expect_exit 0 task create p12 "Write out" --key out --check 'exists=test -f out.txt' \
		--optional-check 'lint=false' --runtime-command 'echo "hello $HIVE_ATTEMPT_NUMBER" > out.txt' --max-attempts 2
	expect_exit 0 task create p12 "Read out" --key rd --depends-on out \
		--check 'content=grep -qx "hello 1" out.txt' --runtime-command 'cat out.txt > rd.txt'
	expect_exit 0 flow create p12 --name f12 --task out --task rd
	expect_exit 0 --json task show out
	[ "$(json_py 'd["runtime"]["command"]')" = '["/bin/sh", "-c", "echo \"hello $HIVE_ATTEMPT_NUMBER\" > out.txt"]' ] ||
		fail "--runtime-command argv: $(json_py 'd["runtime"]["command"]')"
	[ "$(json_py '[(c["name"], c["command"], c["required"]) for c in d["checks"]]')" = '[["exists", "test -f out.txt", true], ["lint", "false", false]]' ] ||
		fail "checks: $(json_py 'd["checks"]')"
	[ "$(json_py 'd["retry"]["max_attempts"]')" = 2 ] || fail "max_attempts $(json_py 'd["retry"]["max_attempts"]')"
	expect_exit 0 flow start f12
	expect_exit 0 flow run f12
	expect_exit 0 --json flow status f12
	[ "$(json_py 'd["flow"]["state"]')" = completed ] || fail "flow state $(json_py 'd["flow"]["state"]')"
	[ "$(json_py '[(t["key"], t["state"], t["attempts"]) for t in d["tasks"]]')" = '[["out", "success", 1], ["rd", "success", 1]]' ] ||
		fail "tasks $(json_py '[(t["key"], t["state"], t["attempts"]) for t in d["tasks"]]')"
	# the optional check failed, was reported, and did not fail the attempt
	expect_exit 0 --json attempt inspect 'out#1'
	[ "$(json_py '[(c["name"], c["passed"]) for c in d["checks"]]')" = '[["exists", true], ["lint", false]]' ] ||
		fail "out's checks: $(json_py '[(c["name"], c["passed"]) for c in d["checks"]]')"
	[ "$(git -C "$R" show hive/f12/rd:rd.txt 2>/dev/null)" = "hello 1" ] || fail "rd did not see out's result"
	expect_exit 0 events verify
}

# ---- 13. which steps share a durable commit -----------------------------------------

# lmdb_txnid: the id of the last write transaction committed to $D's log:
# the larger mm_txnid of data.mdb's two meta pages (LMDB's MDB_meta: after
# the 16-byte page header, magic and version (4 + 4), address and map size
# (8 + 8), two MDB_db records of 48 bytes (the first one's md_pad holds the
# page size), the last page (8), then the txnid).
lmdb_txnid() {
	python3 - "$D/data.mdb" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    first = f.read(160)
    f.seek(struct.unpack_from("<I", first, 40)[0])
    second = f.read(160)
print(max(struct.unpack_from("<Q", m, 144)[0] for m in (first, second)))
PY
}

# 13 - a step that need not be durable alone is written with the next one
# (docs/events.md, "Transactions of an attempt"): a check costs one write
# transaction (its check_started, carrying the previous check_completed),
# the runtime's exit, its changes and the move to verifying none of their
# own.  Three one-task flows that differ only in their number of checks,
# run the same way: the differences in commits are the checks' alone
# (before: two per check).  Followers still get every event, in order.
test_13_steps_share_transactions() {
	S=$T D=$HIVE_DIR
	make_repo
	local n checks name
	for n in 0 1 3; do
		checks=""
		for name in $(seq 1 "$n"); do
			checks="$checks${checks:+,}{\"name\": \"c$name\", \"command\": \"true\"}"
		done
		spec "c$n" '{"name": "c'"$n"'", "project": '"$PROJ"',
		  "defaults": {"runtime": {"adapter": "exec", "command": ["true"]}},
		  "tasks": [{"key": "k'"$n"'", "title": "no-op", "checks": ['"$checks"']}]}'
		create_and_start "c$n" "c$n"
		local before after
		before=$(lmdb_txnid)
		expect_exit 0 flow run "c$n"
		after=$(lmdb_txnid)
		eval "commits_$n=$((after - before))"
	done
	# shellcheck disable=SC2154
	assert_eq "$((commits_1 - commits_0))" 1 "write transactions the first check adds"
	# shellcheck disable=SC2154
	assert_eq "$((commits_3 - commits_1))" 2 "write transactions two more checks add"
	events_dump
	pa "the attempt's events, in order" '"attempt_started runtime_started runtime_exited changes_recorded task_state_changed check_started check_completed check_started check_completed check_started check_completed attempt_completed task_state_changed" in " ".join(e["type"] for e in EV if e.get("task_id") == [t for t in EV if t["type"] == "task_created" and t["payload"]["key"] == "k3"][0]["task_id"])'
	expect_exit 0 events verify
}

run_tests "$@"
