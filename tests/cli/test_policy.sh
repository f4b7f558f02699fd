#!/bin/bash
# test_policy.sh - end-to-end tests of hive's retry semantics (issue 10,
# SPEC section 12): flaky checks (checks[].retries), retry.deadline,
# runtime.stall_timeout, the circuit breaker (off by default, per flow,
# keyed on adapter + command + model), `task retry --mode` for one retry,
# stored log paths in the next prompt, retry_after above backoff.max, and
# the policy rejections (exit 2, one line naming the field, nothing written).
#
# Real git repos in temp dirs, real processes as runtimes and checks
# (shell scripts in the test repo), a fresh data dir per test (lib.sh).
# The only waits are for wall-clock times hive itself recorded, and
# `flow run`, which waits them out by itself.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_policy.sh
source "$(dirname "$0")/lib.sh"

task_json() { "$HIVE_BIN" --json task show "$1" >"$S/task.json" 2>/dev/null || fail "task show $1 failed"; }
flow_json() { "$HIVE_BIN" --json flow status "$1" >"$S/flow.json" 2>/dev/null || fail "flow status $1 failed"; }
verify() { expect_exit 0 events verify; }

# attempt_id N [KEY]: full id of the task's attempt number N.
attempt_id() {
	"$HIVE_BIN" --json attempt list --task "${2:-fix}" 2>/dev/null |
		python3 -c "import json,sys; print(''.join(a['id'] for a in json.load(sys.stdin)['attempts'] if a['attempt_number'] == $1))"
}

# flowspec NAME TASKS_JSON [DEFAULTS_EXTRA]: $S/flow.json for project p over $R.
flowspec() {
	cat >"$S/flow.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s",
                          "env": {"OUT": "$O"}}${3:+, $3}},
 "tasks": $2}
EOF
}

create_start() { expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start "$1"; }

# n_events: how many events the log holds.
n_events() { "$HIVE_BIN" events list --json 2>/dev/null | wc -l; }

# A check that fails on its first run ever and passes afterwards: the run
# count lives in $O (outside every worktree), as a flaky test's state would.
flaky_check() {
	script flaky.sh <<'EOF'
#!/bin/sh
n=$(cat "$OUT/flaky-runs" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$OUT/flaky-runs"
echo "flaky run $n"
if [ "$n" = 1 ]; then echo "FAIL: connection reset (run $n)"; exit 1; fi
echo "ok - flaky passed on run $n"
EOF
}

# ---- checks[].retries ---------------------------------------------------------------

# 1 a flaky check re-runs without the runtime: no agent attempt spent, check_flaky recorded
test_01_flaky_check_costs_no_attempt() {
	sandbox
	flaky_check
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "run" >> "$OUT/agent-runs"
EOF
	mkrepo
	# check scripts get a scrubbed environment: pass $O on the command line
	flowspec f '[{"key": "fix", "title": "Fix it",
	  "checks": [{"name": "flaky", "command": "OUT='"$O"' sh flaky.sh", "retries": 2}],
	  "retry": {"max_attempts": 3}}]'
	create_start f
	expect_exit 0 flow run f
	task_json fix
	pa "task succeeded with one attempt" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 1'
	assert_eq "$(wc -l <"$O/agent-runs")" 1 "agent runs"
	assert_eq "$(cat "$O/flaky-runs")" 2 "check runs"
	events_dump
	pa "two check_completed: run 1 failed and retrying, run 2 passed" "
[(P(e)['run'], P(e)['passed'], P(e).get('retrying', False)) for e in of('check_completed')] == [(1, False, True), (2, True, False)]"
	pa "check_started says which run" "[P(e)['run'] for e in of('check_started')] == [1, 2]"
	pa "check_flaky names the check, the passing run and the failure" "
len(of('check_flaky')) == 1 and P(one('check_flaky'))['name'] == 'flaky' and P(one('check_flaky'))['passed_run'] == 2 and
P(one('check_flaky'))['failures'] == [{'run': 1, 'exit_code': 1, 'timed_out': False}] and P(one('check_flaky'))['retries'] == 2"
	pa "check_flaky comes after the passing run and before attempt_completed" "
of('check_completed')[1]['seq'] < one('check_flaky')['seq'] < one('attempt_completed')['seq']"
	pa "the attempt succeeded: a flaky pass does not fail it" "P(one('attempt_completed'))['outcome'] == 'success' and P(one('attempt_completed'))['failed_checks'] == []"
	local a1
	a1=$(attempt_id 1)
	pa "each run has its own stored log" "
'FAIL: connection reset' in T(D + '/attempts/$a1/check-0-flaky.log') and 'passed on run 2' in T(D + '/attempts/$a1/check-0-flaky.run2.log')"
	verify
}

# 2 a check failing every run fails after 1 + retries runs; a flaky check shows in the next context's patterns
test_02_flaky_in_patterns_and_exhausted_reruns() {
	sandbox
	flaky_check
	echo 1 >"$R/value.txt"
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$HIVE_ATTEMPT_NUMBER" = 2 ] && echo 2 > value.txt
exit 0
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix it",
	  "checks": [{"name": "flaky", "command": "OUT='"$O"' sh flaky.sh", "retries": 1},
	             {"name": "value", "command": "v=$(cat value.txt); echo value=$v; [ $v = 2 ]", "retries": 2}],
	  "retry": {"max_attempts": 3}}]'
	create_start f
	expect_exit 0 flow run f
	task_json fix
	pa "task succeeded on attempt 2" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	local a1 a2
	a1=$(attempt_id 1) a2=$(attempt_id 2)
	events_dump
	pa "attempt 1: value ran 3 times (1 + retries), every run failed; only the last is not retrying" "
[(P(e)['run'], P(e)['passed'], P(e).get('retrying', False)) for e in of('check_completed', '$a1') if P(e)['name'] == 'value'] ==
[(1, False, True), (2, False, True), (3, False, False)]"
	pa "attempt 1 failed on value only, flaky passed on its re-run" "
P(one('attempt_completed', '$a1'))['failed_checks'] == ['value'] and len(of('check_flaky', '$a1')) == 1 and not of('check_flaky', '$a2')"
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.txt"
	assert_contains "$S/ctx.txt" '- check flaky is flaky: it failed, then passed when re-run (checks[].retries), in attempt 1; it did not fail the attempt'
	assert_contains "$S/ctx.txt" 'Required check "value" failed (exit 1) in all 3 runs:'
	assert_not_contains "$S/ctx.txt" 'Required check "flaky" failed'
	verify
}

# ---- retry.deadline -----------------------------------------------------------------

# 3 retry.deadline fails the task with that reason; the instant is in attempt_started; --reset-count starts a new one
test_03_deadline_fails_the_task() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "agent gives up" >&2
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix it",
	  "retry": {"max_attempts": 50, "deadline": "3s", "backoff": {"initial": "1s", "max": "1s"}}}]'
	create_start f
	expect_exit 1 flow run f
	task_json fix
	events_dump
	pa "task failed well before 50 attempts" 'J("task.json")["state"] == "failed" and 2 <= J("task.json")["attempts"] <= 4'
	pa "the deadline instant is recorded in attempt 1's attempt_started only" "
(lambda s: 'deadline_at_ms' in P(s[0]) and P(s[0])['deadline_at'].endswith('Z') and all('deadline_at_ms' not in P(e) for e in s[1:]))(of('attempt_started'))"
	pa "deadline_at = attempt 1's start + 3 s" "
abs(P(of('attempt_started')[0])['deadline_at_ms'] - int(__import__('datetime').datetime.strptime(of('attempt_started')[0]['time'][:23], '%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=__import__('datetime').timezone.utc).timestamp() * 1000) - 3000) < 1000"
	pa "the task failed with the deadline as its reason" "
[P(e)['reason'] for e in of('task_state_changed') if P(e)['to'] == 'failed'][-1].startswith('retry.deadline exceeded:')"
	pa "every retry before it carried the deadline" "all(P(e)['deadline_at'] == P(of('attempt_started')[0])['deadline_at'] for e in of('task_retry_scheduled'))"
	flow_json f
	pa "flow status says why" '"retry.deadline exceeded" in [t for t in J("flow.json")["tasks"]][0]["note"]'
	local first
	first=$(pv "P(of('attempt_started')[0])['deadline_at_ms']")
	# a reset starts a new deadline at the next attempt
	expect_exit 0 task retry fix --reset-count
	expect_exit 1 flow run f
	events_dump
	local n
	n=$(pv "len(of('attempt_started'))")
	pa "after --reset-count, the next attempt records a new, later deadline" "
(lambda s: [i for i, e in enumerate(s) if 'deadline_at_ms' in P(e)][1] > 0 and
 P([e for e in s if 'deadline_at_ms' in P(e)][1])['deadline_at_ms'] > $first)(of('attempt_started'))"
	[ "$n" -gt 2 ] || fail "no attempt after the reset"
	verify
}

# ---- task retry --mode -------------------------------------------------------------

# 4 task retry --mode applies to that retry only; later retries follow the policy
test_04_mode_for_one_retry() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
n=$(cat notes.txt 2>/dev/null | wc -l)
echo "$n" > "$OUT/seen-$HIVE_ATTEMPT_NUMBER"
echo "attempt $HIVE_ATTEMPT_NUMBER" >> notes.txt
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix it", "retry": {"max_attempts": 2, "mode": "clean"}}]'
	create_start f
	expect_exit 1 flow run f
	assert_eq "$(cat "$O/seen-1") $(cat "$O/seen-2")" "0 0" "clean attempts 1 and 2 saw no notes"
	expect_exit 0 task retry fix --reset-count --mode continue
	task_json fix
	pa "the override is recorded until the next attempt starts" 'J("task.json")["mode"] == "continue"'
	expect_exit 1 flow run f
	assert_eq "$(cat "$O/seen-3")" 1 "attempt 3 (continue) saw attempt 2's notes"
	assert_eq "$(cat "$O/seen-4")" 0 "attempt 4 (an automatic retry) started clean again"
	task_json fix
	pa "no override left" '"mode" not in J("task.json")'
	events_dump
	pa "task_retry_requested recorded the mode" 'P(one("task_retry_requested"))["mode"] == "continue"'
	verify
}

# ---- logs named in the prompt -------------------------------------------------------

# 5 the next context names the stored logs by absolute path; hive's copies hold the output
test_05_logs_named_in_context() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "agent stdout line"
i=0; while [ $i -lt 300 ]; do i=$((i + 1)); echo "Traceback line $i: ImportError agentlib" >&2; done
exit 3
EOF
	script check.sh <<'EOF'
#!/bin/sh
echo "FAIL: value"; exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix it", "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 2}}]'
	create_start f
	expect_exit 1 flow run f
	local a1 a2
	a1=$(attempt_id 1) a2=$(attempt_id 2)
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.txt"
	assert_contains "$S/ctx.txt" "Full logs:"
	assert_contains "$S/ctx.txt" "    runtime stdout: $D/attempts/$a1/stdout.log"
	assert_contains "$S/ctx.txt" "    runtime stderr: $D/attempts/$a1/stderr.log"
	pa "the named stderr log holds all 300 lines the excerpt left out" \
		"T(D + '/attempts/$a1/stderr.log').count('ImportError agentlib') == 300"
	pa "the prompt the agent got names them too" "'$D/attempts/$a1/stderr.log' in T(D + '/attempts/$a2/prompt.md')"
	expect_exit 0 --json attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.json"
	pa "payload prior_attempts[0].logs" "
J('ctx.json')['prior_attempts'][0]['logs'] == {'stdout': D + '/attempts/$a1/stdout.log', 'stderr': D + '/attempts/$a1/stderr.log', 'checks': {}}"
	events_dump
	pa "runtime_exited records the paths" "P(one('runtime_exited', '$a1'))['stderr_path'] == D + '/attempts/$a1/stderr.log'"
	verify
}

# 6 a check's log is named; a log hive truncated is marked so
test_06_check_log_named_and_truncation_marked() {
	sandbox
	script check.sh <<'EOF'
#!/bin/sh
i=0; while [ $i -lt 3000 ]; do i=$((i + 1)); echo "line $i of a long check output that goes on"; done
echo "FAIL: the decisive line"; exit 1
EOF
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix it", "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 2}}]'
	create_start f
	HIVE_MAX_OUTPUT_BYTES=64K expect_exit 1 flow run f
	local a1 a2
	a1=$(attempt_id 1) a2=$(attempt_id 2)
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.txt"
	assert_contains "$S/ctx.txt" "    check \"unit\": $D/attempts/$a1/check-0-unit.log (truncated: "
	assert_contains "$S/ctx.txt" "bytes written, the file keeps the head and the tail)"
	pa "the named log is hive's bounded copy" "'FAIL: the decisive line' in T(D + '/attempts/$a1/check-0-unit.log')"
	verify
}

# ---- retry_after beyond backoff.max -------------------------------------------------

# 7 a verdict's retry_after raises the delay above backoff.max, up to retry.max_retry_after
test_07_retry_after_above_backoff_max() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo '{"summary": "rate limited", "retry_after": "'"$AFTER"'"}' > "$HIVE_RESULT_FILE"
exit 1
EOF
	mkrepo
	cat >"$S/flow.json" <<EOF
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"}},
 "tasks": [{"key": "a", "title": "A", "runtime": {"env": {"AFTER": "5m"}},
            "retry": {"max_attempts": 3, "backoff": {"initial": "10ms", "max": "100ms"}}},
           {"key": "b", "title": "B", "runtime": {"env": {"AFTER": "3h"}},
            "retry": {"max_attempts": 3, "backoff": {"initial": "10ms", "max": "100ms"}, "max_retry_after": "10m"}}]}
EOF
	create_start f
	expect_exit 1 flow tick f --max-parallel 2
	events_dump
	pa "5m above backoff.max 100ms is honoured" "
[P(e)['delay_ms'] for e in of('task_retry_scheduled') if P(e)['next_attempt'] == 2 and e['task_id'] == [t['task_id'] for t in of('task_created') if P(t)['key'] == 'a'][0]] == [300000]"
	pa "3h is capped at max_retry_after 10m, and says so" "
(lambda e: P(e)['delay_ms'] == 600000 and P(e)['retry_after_capped'] is True and P(e)['retry_after_requested_ms'] == 10800000)(
 [e for e in of('task_retry_scheduled') if e['task_id'] == [t['task_id'] for t in of('task_created') if P(t)['key'] == 'b'][0]][0])"
	verify
}

# ---- runtime.stall_timeout -----------------------------------------------------------

# 9 a silent runtime is stalled (outcome timeout, reason stalled); a chatty one is not
test_09_stall_timeout() {
	sandbox
	script silent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "thinking..."
sleep 30
EOF
	script chatty.sh <<'EOF'
#!/bin/sh
cat >/dev/null
i=0; while [ $i -lt 8 ]; do i=$((i + 1)); echo "step $i"; sleep 0.25; done
EOF
	mkrepo
	cat >"$S/flow.json" <<EOF
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./chatty.sh"], "timeout": "60s", "stall_timeout": "1s"},
              "retry": {"max_attempts": 2}},
 "tasks": [{"key": "silent", "title": "Silent", "runtime": {"command": ["./silent.sh"]}},
           {"key": "chatty", "title": "Chatty"}]}
EOF
	create_start f
	local t0=$SECONDS
	expect_exit 1 flow run f --max-parallel 2
	[ $((SECONDS - t0)) -lt 25 ] || fail "the silent runtime was not stopped early"
	events_dump
	pa "the silent runtime was stalled twice: outcome timeout, termination_reason stalled" "
(lambda t: [P(e)['termination_reason'] for e in of('runtime_exited') if e['task_id'] == t] == ['stalled', 'stalled'] and
 [P(e)['outcome'] for e in of('attempt_completed') if e['task_id'] == t] == ['timeout', 'timeout'] and
 all(P(e)['exit_code'] is None and 1000 <= P(e)['duration_ms'] < 15000 for e in of('runtime_exited') if e['task_id'] == t))(
 [e['task_id'] for e in of('task_created') if P(e)['key'] == 'silent'][0])"
	pa "the chatty runtime (2 s in all, 250 ms between lines) was not" "
(lambda t: [P(e)['termination_reason'] for e in of('runtime_exited') if e['task_id'] == t] == ['exited'])(
 [e['task_id'] for e in of('task_created') if P(e)['key'] == 'chatty'][0])"
	pa "stall_timeout is inherited from defaults.runtime as stall_timeout_ms" "
[P(e)['runtime'].get('stall_timeout_ms') for e in of('task_created')] == [1000, 1000]"
	local a2
	a2=$(attempt_id 2 silent)
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.txt"
	assert_contains "$S/ctx.txt" 'Runtime was stopped for printing nothing for runtime.stall_timeout (stalled)'
	assert_contains "$S/ctx.txt" 'thinking...'
	verify
}

# 10 without stall_timeout nothing is stopped for silence; a bad one is refused
test_10_stall_off_by_default_and_validated() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
sleep 2
echo "done at the end"
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Quiet then done"}]'
	create_start f
	expect_exit 0 flow run f
	events_dump
	pa "no stall limit: the quiet runtime ran to its end" \
		"P(one('runtime_exited'))['termination_reason'] == 'exited' and 'stall_timeout_ms' not in P(one('task_created'))['runtime']"
	local bad
	for bad in '"0s"' '"soon"' 5; do
		cat >"$S/bad.json" <<EOF
{"name": "g", "project": "p", "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "x", "title": "X", "runtime": {"stall_timeout": $bad}}]}
EOF
		reject "stall_timeout $bad" 'bad\.json: tasks\[0\]\.runtime\.stall_timeout: ' flow create --file "$S/bad.json"
	done
	verify
}

# ---- circuit breaker ------------------------------------------------------------------

# 11 off by default: many runtime failures in a row open no circuit, and status shows none
test_11_circuit_off_by_default() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "a", "title": "A"}, {"key": "b", "title": "B"}, {"key": "c", "title": "C"}]' \
		'"retry": {"max_attempts": 3}'
	create_start f
	expect_exit 1 flow run f --max-parallel 3
	events_dump
	pa "9 runtime failures, no circuit event" "len(of('attempt_completed')) == 9 and not [e for e in EV if e['type'].startswith('circuit_')]"
	pa "flow_created records the breaker as off (null)" "P(one('flow_created'))['defaults']['circuit_breaker'] is None"
	flow_json f
	pa "flow status lists no circuit" 'J("flow.json")["circuits"] == []'
	expect_exit 0 flow status f
	assert_not_contains "$OUT" "circuit"
	verify
}

# 12 configured: per flow, keyed on adapter + full command + model; a broken
# command does not block a healthy one; status shows state and reopen time;
# flow run says it waits for the circuit
test_12_circuit_keyed_on_command() {
	sandbox
	script broken.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "cannot reach the model server" >&2
exit 1
EOF
	script healthy.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "$HIVE_ATTEMPT_NUMBER" >> "$OUT/healthy-runs"
EOF
	mkrepo
	flowspec f '[{"key": "b1", "title": "B1", "runtime": {"command": ["./broken.sh"]}},
	  {"key": "b2", "title": "B2", "runtime": {"command": ["./broken.sh"]}},
	  {"key": "h1", "title": "H1", "runtime": {"command": ["./healthy.sh"]}, "depends_on": ["b1"]},
	  {"key": "h2", "title": "H2", "runtime": {"command": ["./healthy.sh"]}}]' \
		'"retry": {"max_attempts": 3, "backoff": {"initial": "0s"}}, "circuit_breaker": {"failure_threshold": 2, "reset_timeout": "1h"}'
	create_start f
	expect_exit 1 flow tick f --max-parallel 3
	events_dump
	pa "b1 and b2 failed once each: the circuit of ./broken.sh opened, naming adapter, command, key" "
len(of('circuit_opened')) == 1 and P(one('circuit_opened'))['adapter'] == 'exec' and P(one('circuit_opened'))['command'] == ['./broken.sh'] and
P(one('circuit_opened'))['circuit'].startswith('exec-') and P(one('circuit_opened'))['failures'] == 2 and P(one('circuit_opened'))['reopens_at'].endswith('Z')"
	pa "each attempt_started names its circuit; ./healthy.sh has another" "
(lambda k: len(set(k['b1'] + k['b2'])) == 1 and len(set(k['h2'])) == 1 and k['b1'][0] != k['h2'][0])(
 {P(t)['key']: [P(e)['circuit'] for e in of('attempt_started') if e['task_id'] == t['task_id']] for t in of('task_created')})"
	flow_json f
	pa "flow status: the open circuit with its reopen time, and the closed one" "
(lambda c: [x['command'] for x in c] == [['./broken.sh'], ['./healthy.sh']] and c[0]['state'] == 'open' and
 c[0]['consecutive_failures'] == 2 and c[0]['failure_threshold'] == 2 and c[0]['reopens_at'] == P(one('circuit_opened'))['reopens_at'] and
 c[1]['state'] == 'closed' and 'reopens_at' not in c[1])(J('flow.json')['circuits'])"
	pa "b1 and b2 wait for the circuit in their status note" "
all('waiting for the circuit breaker: exec ./broken.sh is open until ' + P(one('circuit_opened'))['reopens_at'] in t['note'] for t in J('flow.json')['tasks'] if t['key'] in ('b1', 'b2'))"
	expect_exit 0 flow status f
	assert_contains "$OUT" "circuit exec ./broken.sh: open (2 of 2 failures), reopens $(pv "P(one('circuit_opened'))['reopens_at']")"
	assert_contains "$OUT" "circuit exec ./healthy.sh: closed (0 of 2 failures)"
	# the healthy runtime is not blocked by the broken one's open circuit
	task_json h2
	pa "h2 ran and succeeded despite the open circuit of another command" 'J("task.json")["state"] == "success"'
	verify
}

# 12b flow run's narration names the circuit, not "the next retry"
test_12b_flow_run_waits_for_the_circuit() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "a", "title": "A"}]' \
		'"retry": {"max_attempts": 5, "backoff": {"initial": "0s"}}, "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "1500ms"}'
	create_start f
	"$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err" </dev/null
	grep -q "waiting: circuit exec ./agent.sh open for " "$T/run.out" "$T/run.err" ||
		fail "flow run did not say it waits for the circuit: $(cat "$T/run.out" "$T/run.err")"
	if grep -q "waiting: retry of" "$T/run.out" "$T/run.err"; then
		fail "flow run called a circuit wait a retry wait: $(cat "$T/run.out" "$T/run.err")"
	fi
	events_dump
	pa "it probed after reset_timeout: half-open, failed, opened again" "len(of('circuit_half_opened')) >= 1 and len(of('circuit_opened')) >= 2"
	verify
}

# ---- rejections ----------------------------------------------------------------------

# reject DESC PATTERN ARGS...: exit 2, one stderr line matching PATTERN, no event written.
reject() {
	local desc=$1 pat=$2
	shift 2
	local before
	before=$(n_events)
	expect_exit 2 "$@"
	expect_stderr_line "$pat"
	assert_eq "$(n_events)" "$before" "events after a refused $desc"
}

# 8 policies that can never take effect and conflicting flags are refused, naming the field
test_08_rejections() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
EOF
	mkrepo
	expect_exit 0 project create p --repo "$R"
	spec() { # TASK_EXTRA: one task with a check and the given members
		cat >"$S/bad.json" <<EOF
{"name": "f", "project": "p",
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "fix", "title": "Fix", "checks": [{"name": "unit", "command": "true"${2:-}}]${1:-}}]}
EOF
	}
	spec ', "retry": {"backoff": {"initial": "2m"}}'
	reject "initial > max" 'bad\.json: tasks\[0\]\.retry\.backoff\.initial: 2m is more than backoff\.max 1m' flow create --file "$S/bad.json"
	spec ', "retry": {"backoff": {"initial": "5s", "max": "1s"}}'
	reject "initial > max" 'bad\.json: tasks\[0\]\.retry\.backoff\.initial: 5s is more than backoff\.max 1s' flow create --file "$S/bad.json"
	spec ', "retry": {"budgets": [{"on": ["timeout", "crashed"]}, {"on": ["timeout"], "max_attempts": 9}]}'
	reject "shadowed budget" 'bad\.json: tasks\[0\]\.retry\.budgets\[1\]\.on: timeout already taken by an earlier budget' flow create --file "$S/bad.json"
	spec ', "retry": {"budgets": [{"on": ["timeout"], "backoff": {"initial": "2h"}}]}'
	reject "budget initial > max" 'bad\.json: tasks\[0\]\.retry\.budgets\[0\]\.backoff\.initial: 2h is more than backoff\.max 1m' flow create --file "$S/bad.json"
	spec ', "retry": {"deadline": "soon"}'
	reject "bad deadline" 'bad\.json: tasks\[0\]\.retry\.deadline: invalid duration "soon"' flow create --file "$S/bad.json"
	spec '' ', "retries": 11'
	reject "too many check retries" 'bad\.json: tasks\[0\]\.checks\[0\]\.retries: must be from 0 to 10' flow create --file "$S/bad.json"
	spec '' ', "retries": "2"'
	reject "check retries not a number" 'bad\.json: tasks\[0\]\.checks\[0\]\.retries: must be an integer' flow create --file "$S/bad.json"
	# a budget for check_failed on a task with no required check
	reject "unreachable check_failed budget" \
		'^hive: task\.retry\.budgets\[0\]\.on\[0\]: check_failed cannot occur: the task has no required check' \
		task create p "No checks" --runtime-command true --retry '{"budgets": [{"on": ["check_failed"]}]}'
	reject "unreachable check_failed budget (optional checks only)" \
		'^hive: task\.retry\.budgets\[0\]\.on\[1\]: check_failed cannot occur' \
		task create p "Optional only" --runtime-command true --optional-check lint=true \
		--retry '{"budgets": [{"on": ["timeout", "check_failed"]}]}'
	reject "conflicting flags" '^hive: task create: --max-attempts conflicts with max_attempts in --retry; give the attempt count once$' \
		task create p "Both" --runtime-command true --max-attempts 2 --retry '{"max_attempts": 3}'
	# what is allowed: --max-attempts with a --retry that does not set it; a budget
	# above the top-level max_attempts (with budgets it is their default only)
	expect_exit 0 task create p "Fine" --runtime-command true --check unit=true --max-attempts 2 \
		--retry '{"backoff": {"initial": "1s", "max": "1s"}, "budgets": [{"on": ["check_failed"], "max_attempts": 5}]}'
	expect_exit 0 --json task show fine && cp "$OUT" "$S/fine.json"
	pa "max_attempts 2 and the budget of 5 kept" 'J("fine.json")["retry"]["max_attempts"] == 2 and J("fine.json")["retry"]["budgets"][0]["max_attempts"] == 5'
	verify
}

run_tests "$@"
