#!/bin/bash
# test_retry.sh - end-to-end tests of hive's retry mechanics (SPEC sections 2-4, 6, 7, 9).
#
# Every test builds a real git repository in its sandbox (lib.sh), uses
# real processes as runtimes (shell scripts written into the test repo) and
# its own fresh data dir.  Flows are stepped with `hive flow tick`, so
# nothing depends on timing luck: the only waits are for wall-clock
# deadlines that hive itself recorded in events (circuit reset, backoff),
# polled until they have passed, and `flow run`, which waits out backoff by
# itself.  Assertions over events and files are python expressions (pa,
# lib.py).
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_retry.sh
# CLI_KEEP=1 keeps each test's sandbox for inspection.
source "$(dirname "$0")/lib.sh"


# task_json KEY, flow_json FLOW: `task show --json` into $S/task.json,
# `flow status --json` into $S/flow.json (pa reads them as J("task.json")).
task_json() { "$HIVE_BIN" --json task show "$1" >"$S/task.json" 2>/dev/null || fail "task show $1 failed"; }
flow_json() { "$HIVE_BIN" --json flow status "$1" >"$S/flow.json" 2>/dev/null || fail "flow status $1 failed"; }

# attempt_id N [KEY]: full id of the task's attempt number N.
attempt_id()
{
	"$HIVE_BIN" --json attempt list --task "${2:-fix}" 2>/dev/null |
		python3 -c "import json,sys; print(''.join(a['id'] for a in json.load(sys.stdin)['attempts'] if a['attempt_number'] == $1))"
}

verify() { expect_exit 0 events verify; }

# wait_past_ms MS: wait until the wall clock has passed epoch-millisecond MS
# (a deadline hive recorded in an event), polling.
wait_past_ms()
{
	python3 -c "
import sys, time
due = int(sys.argv[1]) / 1000.0 + 0.005
while time.time() < due:
    time.sleep(min(0.05, max(0.001, due - time.time())))" "$1"
}

# wait_dead PID WHAT: wait (bounded, 10s) until PID is gone or a zombie;
# fails the test otherwise.
wait_dead() {
	pid_gone "$1" 10 || fail "process $1 is still alive: $2"
}

# runtime_recorded: attempt 1's agent wrote its pid and hive recorded
# runtime_started with its pgid.
runtime_recorded() {
	[ -s "$O/agent-1.pid" ] && "$HIVE_BIN" --json events list --type runtime_started 2>/dev/null | grep -q pgid
}

# flowspec NAME TASKS_JSON [DEFAULTS_EXTRA]: write $S/flow.json for project p over $R.
flowspec()
{
	cat >"$S/flow.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s",
                          "env": {"OUT": "$O"}}${3:+, $3}},
 "tasks": $2}
EOF
}

# create_start NAME: create the flow from $S/flow.json and start it.
create_start() { expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start "$1"; }

# A check that fails with a recognisable line until value.txt holds 2.
value_check()
{
	echo 1 >"$R/value.txt"
	script check.sh <<'EOF'
#!/bin/sh
v=$(cat value.txt)
echo "running value test"
if [ "$v" = 2 ]; then echo "ok - value is 2"; exit 0; fi
echo "FAIL: value is $v, expected 2"
exit 1
EOF
}

# ---- 1. the core loop -------------------------------------------------------------

# 1 core loop: check fails, attempt 2 gets the context and fixes it
test_01_core_loop() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
# A stand-in coding agent: it can fix the bug only when its prompt shows the failure.
prompt=$(cat)
env > "$OUT/env-$HIVE_ATTEMPT_NUMBER.txt"
printf '%s\n' "$prompt" > "$OUT/stdin-$HIVE_ATTEMPT_NUMBER.txt"
if printf '%s\n' "$prompt" | grep -q 'FAIL: value is 1, expected 2'; then
	echo 2 > value.txt
	echo "agent: fixed value.txt"
else
	echo "notes from attempt $HIVE_ATTEMPT_NUMBER" > notes.txt
	echo "agent: nothing to go on"
fi
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value", "description": "make the value test pass",
	  "checks": [{"name": "unit", "command": "sh check.sh", "timeout": "30s"}],
	  "retry": {"max_attempts": 3, "backoff": {"initial": "0s"}}}]'
	create_start f
	# a variable of the test's own environment must not reach the runtime
	HIVE_TEST_LEAK=secret expect_exit 1 flow tick f
	task_json fix
	pa "task state is retry after attempt 1" 'J("task.json")["state"] == "retry"'
	events_dump
	pa "task_retry_scheduled has delay_ms, not_before, budget" \
		'len(of("task_retry_scheduled")) == 1 and isinstance(P(one("task_retry_scheduled"))["delay_ms"], int) and P(one("task_retry_scheduled"))["not_before"] and P(one("task_retry_scheduled"))["budget"]["used"] == 1 and P(one("task_retry_scheduled"))["budget"]["max"] == 3 and P(one("task_retry_scheduled"))["next_attempt"] == 2 and P(one("task_retry_scheduled"))["outcome"] == "check_failed"'
	pa "attempt 1 ended check_failed" 'P(one("attempt_completed"))["outcome"] == "check_failed"'
	expect_exit 0 flow tick f
	task_json fix
	pa "task succeeded on attempt 2" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	flow_json f
	pa "flow completed" 'J("flow.json")["flow"]["state"] == "completed"'
	local a1 a2
	a1=$(attempt_id 1) a2=$(attempt_id 2)
	[ -n "$a1" ] && [ -n "$a2" ] || fail "attempt list does not show attempts 1 and 2"
	events_dump
	pa "event order: retry->running, retry_context_assembled, attempt_started, runtime_started" "
[P(e)['to'] for e in of('task_state_changed') if e['seq'] < one('retry_context_assembled')['seq']][-1] == 'running' and
[P(e)['from'] for e in of('task_state_changed') if e['seq'] < one('retry_context_assembled')['seq']][-1] == 'retry' and
one('retry_context_assembled', '$a2')['seq'] > 0 and
one('retry_context_assembled', '$a2')['seq'] < one('attempt_started', '$a2')['seq'] < one('runtime_started', '$a2')['seq'] < one('runtime_exited', '$a2')['seq']"
	pa "the whole event order of the retried attempt (SPEC section 6)" "
(lambda seq: seq == ['task_state_changed', 'retry_context_assembled', 'attempt_started', 'runtime_started', 'runtime_exited',
                     'changes_recorded', 'task_state_changed', 'check_started', 'check_completed', 'attempt_completed',
                     'task_state_changed', 'flow_completed', 'worktree_released'])(
 [e['type'] for e in EV if e['seq'] >= one('retry_context_assembled')['seq'] - 1])"
	pa "exactly one retry context, for attempt 2" "len(of('retry_context_assembled')) == 1 and P(one('retry_context_assembled'))['attempt_number'] == 2"
	pa "the agent saw the failing line on stdin in attempt 2, not in attempt 1" \
		"'FAIL: value is 1, expected 2' in T(O + '/stdin-2.txt') and 'FAIL: value is' not in T(O + '/stdin-1.txt')"
	# the context as printed
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.txt"
	pa "inspect --context starts with ## Retry context" 'T("ctx.txt").startswith("## Retry context\n")'
	pa "inspect --context says attempt 2 of 3" '"This is attempt 2 of 3" in T("ctx.txt")'
	pa "inspect --context quotes the failing check output" '"FAIL: value is 1, expected 2" in T("ctx.txt") and "Required check \"unit\" failed (exit 1)" in T("ctx.txt")'
	expect_exit 0 --json attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.json"
	pa "--json --context: context_sha256 = sha256(context text) = attempt_started.context_sha256" "
J('ctx.json')['context_sha256'] == hashlib.sha256(J('ctx.json')['context'].encode()).hexdigest() == sha('ctx.txt') ==
P(one('attempt_started', '$a2'))['context_sha256'] and J('ctx.json')['context_bytes'] == len(J('ctx.json')['context'].encode())"
	pa "--json --context carries prior_attempts and the required check failure" "
[p['attempt_number'] for p in J('ctx.json')['prior_attempts']] == [1] and J('ctx.json')['prior_attempts'][0]['outcome'] == 'check_failed' and
J('ctx.json')['required_check_failures'][0]['name'] == 'unit' and 'FAIL: value is 1' in J('ctx.json')['required_check_failures'][0]['output_excerpt']"
	pa "attempt 1 had no context (attempt_started.context_sha256 null)" "P(one('attempt_started', '$a1'))['context_sha256'] is None"
	expect_exit 0 attempt inspect "$a1" --context
	grep -qi "no retry context\|had no retry context\|none" "$OUT" || fail "inspect --context of attempt 1 does not say there was none: $(cat "$OUT")"
	# the files the exec adapter wrote
	pa "prompt.md of attempt 1 has no retry context, attempt 2's has it" \
		"'Retry context' not in T(D + '/attempts/$a1/prompt.md') and '## Retry context' in T(D + '/attempts/$a2/prompt.md') and 'FAIL: value is 1, expected 2' in T(D + '/attempts/$a2/prompt.md')"
	pa "the prompt on stdin is prompt.md (runtime_started.prompt_sha256)" \
		"P(one('runtime_started', '$a2'))['prompt_sha256'] == sha(D + '/attempts/$a2/prompt.md')"
	pa "input.json of attempt 2 has 1 prior attempt and the context" \
		"len(J(D + '/attempts/$a2/input.json')['prior_attempts']) == 1 and J(D + '/attempts/$a2/input.json')['attempt_number'] == 2 and J(D + '/attempts/$a2/input.json')['context'] == J('ctx.json')['context'] and J(D + '/attempts/$a2/input.json')['task']['key'] == 'fix'"
	pa "input.json of attempt 1 has no prior attempts" "not J(D + '/attempts/$a1/input.json')['prior_attempts']"
	local tid
	tid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$S/task.json")
	pa "HIVE_* environment of attempt 2" "
(lambda env: env['HIVE_TASK_ID'] == '$tid' and env['HIVE_ATTEMPT_ID'] == '$a2' and env['HIVE_ATTEMPT_NUMBER'] == '2' and
 env['HIVE_MAX_ATTEMPTS'] == '3' and env['HIVE_WORKTREE'] == D + '/worktrees/f/fix' and
 env['HIVE_PROMPT_FILE'] == D + '/attempts/$a2/prompt.md' and env['HIVE_INPUT_FILE'] == D + '/attempts/$a2/input.json' and
 env['HIVE_RESULT_FILE'].startswith(D + '/attempts/$a2/') and env['OUT'] == O)(
 dict(l.split('=', 1) for l in T(O + '/env-2.txt').splitlines() if '=' in l))"
	pa "the runtime's environment is scrubbed" "'HIVE_TEST_LEAK' not in T(O + '/env-1.txt')"
	verify
}

# 1b long, messy check output: the context keeps the first error, failures and the tail
test_01b_long_check_output_excerpt() {
	sandbox
	script check.sh <<'EOF'
#!/bin/sh
echo "compiling"
echo "error: first-real-error in calc.c:3"
i=0
while [ $i -lt 400 ]; do i=$((i + 1)); echo "ok $i - filler test"; done
echo "assertion failed: middle-assert-xyz"
i=0
while [ $i -lt 400 ]; do i=$((i + 1)); echo "ok $i - more filler"; done
printf 'bad bytes: \377\376 end\n'
echo "summary-line: 1 failed, 800 passed"
exit 1
EOF
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix it",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 2, "context": {"max_check_output_lines": 20}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	local a2
	a2=$(attempt_id 2)
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx.txt"
	pa "the excerpt keeps the first error, the failure in the middle and the tail" \
		'all(x in T("ctx.txt") for x in ["first-real-error", "middle-assert-xyz", "summary-line: 1 failed"])'
	pa "gaps are marked with the number of lines left out" '"lines omitted]" in T("ctx.txt")'
	pa "the excerpt respects max_check_output_lines" \
		'sum(1 for l in T("ctx.txt").splitlines() if "filler" in l) <= 20'
	pa "the context is valid UTF-8" 'open("ctx.txt", "rb").read().decode("utf-8") is not None'
	expect_exit 0 attempt inspect "$(attempt_id 1)" --output
	pa "the full output is kept (attempt inspect --output)" \
		'T("stdout").count("filler") == 800 and "middle-assert-xyz" in T("stdout")'
	verify
}

# 1c the runtime's own output reaches the next attempt: a traceback (runtime_failed),
# then what it printed before hanging (timeout); attempt 3 fixes only if it sees both
test_01c_runtime_output_in_context() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
prompt=$(cat)
case $HIVE_ATTEMPT_NUMBER in
1)	i=0; while [ $i -lt 60 ]; do i=$((i + 1)); echo "INFO loading tool definition $i/60"; done
	printf 'Traceback (most recent call last):\n  File "agent.py", line 6, in <module>\n    import agentlib.session\n' >&2
	echo "ModuleNotFoundError: No module named 'agentlib'" >&2
	exit 3 ;;
2)	printf '\033[33mwaiting for lock /tmp/agent-ctx-lock held by pid 4242\033[0m\n'
	exec sleep 30 ;;
*)	if printf '%s\n' "$prompt" | grep -q "ModuleNotFoundError: No module named 'agentlib'" &&
	   printf '%s\n' "$prompt" | grep -q 'waiting for lock /tmp/agent-ctx-lock held by pid 4242'; then
		echo 2 > value.txt
	fi ;;
esac
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value", "runtime": {"timeout": "2s"},
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 3, "backoff": {"initial": "0s"}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	expect_exit 0 flow tick f
	task_json fix
	pa "task succeeded on attempt 3" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 3'
	local a2 a3
	a2=$(attempt_id 2) a3=$(attempt_id 3)
	expect_exit 0 attempt inspect "$a2" --context && cp "$OUT" "$S/ctx2.txt"
	pa "attempt 2's context: exit code 3, then the traceback under Runtime stderr, then stdout" \
		"'Runtime exited with code 3' in T('ctx2.txt') and 'Runtime stderr:\n    Traceback (most recent call last):\n' in T('ctx2.txt') and
		 \"    ModuleNotFoundError: No module named 'agentlib'\n\" in T('ctx2.txt') and 'Runtime stdout:\n' in T('ctx2.txt') and
		 'INFO loading tool definition 60/60' in T('ctx2.txt')"
	expect_exit 0 --json attempt inspect "$a3" --context && cp "$OUT" "$S/ctx3.json"
	pa "attempt 3's context: the timed-out runtime's stdout, colour stripped, in the text and the payload" \
		"'Runtime timed out' in J('ctx3.json')['context'] and 'Runtime stdout:\n    waiting for lock /tmp/agent-ctx-lock held by pid 4242\n' in J('ctx3.json')['context'] and
		 J('ctx3.json')['runtime_stdout_excerpt'] == 'waiting for lock /tmp/agent-ctx-lock held by pid 4242' and
		 J('ctx3.json')['runtime_stderr_excerpt'] is None and chr(27) not in J('ctx3.json')['context']"
	pa "input.json of attempt 3 carries the context with both outputs" \
		"'ModuleNotFoundError' in J(D + '/attempts/$a3/input.json')['context'] and 'waiting for lock' in J(D + '/attempts/$a3/input.json')['context']"
	verify
}

# 1d the same check output twice is shown once; context.max_bytes bounds the text
test_01d_identical_output_once() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
echo "attempt $HIVE_ATTEMPT_NUMBER: no idea" >> notes.txt
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 3, "backoff": {"initial": "0s"}, "context": {"max_bytes": 4096}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	local a3
	a3=$(attempt_id 3)
	expect_exit 0 --json attempt inspect "$a3" --context && cp "$OUT" "$S/ctx3.json"
	pa "attempt 2's identical check output points back to attempt 1's" \
		"J('ctx3.json')['context'].count('FAIL: value is 1, expected 2') == 1 and
		 'Required check \"unit\" failed (exit 1): identical to attempt 1'\"'\"'s output.' in J('ctx3.json')['context'] and
		 J('ctx3.json')['required_check_failures'][0]['identical_to_attempt'] == 1 and J('ctx3.json')['context_bytes'] <= 4096"
	verify
}

# ---- 2. budget exhaustion, task retry ------------------------------------------------

# 2 budget exhaustion: task retry refuses, --reset-count revives
test_02_budget_exhaustion() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
echo "try $HIVE_ATTEMPT_NUMBER" >> tries.txt
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 2, "backoff": {"initial": "0s"}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	task_json fix
	pa "task failed after 2 attempts" 'J("task.json")["state"] == "failed" and J("task.json")["attempts"] == 2'
	flow_json f
	pa "flow failed" 'J("flow.json")["flow"]["state"] == "failed"'
	events_dump
	pa "the final failure names the exhausted budget" "any(P(e)['to'] == 'failed' and 'exhausted' in P(e).get('reason', '') for e in of('task_state_changed'))"
	expect_exit 4 task retry fix
	grep -q "retry limit exceeded: 2 of 2 attempts used; pass --reset-count" "$ERR" ||
		fail "task retry message: $(cat "$ERR")"
	expect_exit 3 task retry no-such-task
	expect_exit 0 task retry fix --reset-count
	flow_json f
	pa "flow running again" 'J("flow.json")["flow"]["state"] == "running"'
	events_dump
	pa "task_retry_requested{reset_count} and flow_resumed recorded" \
		'P(one("task_retry_requested"))["reset_count"] is True and len(of("flow_resumed")) == 1 and one("flow_resumed")["seq"] > one("task_retry_requested")["seq"] - 5'
	pa "task went failed -> pending" "('failed', 'pending') in states()"
	expect_exit 1 flow tick f
	local a3
	a3=$(attempt_id 3)
	[ -n "$a3" ] || fail "no attempt 3 after --reset-count"
	expect_exit 0 attempt inspect "$a3" --context && cp "$OUT" "$S/ctx3.txt"
	pa "attempt 3's context covers attempts 1 and 2, their identical output once (issue 10)" \
		'"This is attempt 3 of" in T("ctx3.txt") and "### Attempt 1" in T("ctx3.txt") and "### Attempt 2" in T("ctx3.txt") and T("ctx3.txt").count("FAIL: value is 1, expected 2") == 1 and "identical to attempt 1" + chr(39) + "s output." in T("ctx3.txt")'
	events_dump
	pa "the retry context of attempt 3 lists both prior attempts" \
		"P(one('retry_context_assembled', '$a3'))['attempt_number'] == 3 and len(P(one('retry_context_assembled', '$a3'))['prior_attempt_ids']) == 2"
	pa "patterns notice the repeated check failure" "any('unit' in p and '1' in p and '2' in p for p in P(one('retry_context_assembled', '$a3'))['patterns'])"
	task_json fix
	pa "fresh budget: attempt 3 is retried (1 of 2 used)" 'J("task.json")["state"] == "retry"'
	verify
}

# 2b older attempts beyond max_prior_attempts are one-line summaries
test_02b_older_attempts_one_line() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
echo "try $HIVE_ATTEMPT_NUMBER" >> tries.txt
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 3, "context": {"max_prior_attempts": 1}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	local c3
	c3=$(attempt_id 3)
	expect_exit 0 attempt inspect "$c3" --context && cp "$OUT" "$S/ctx3.txt"
	pa "attempt 2 in full, attempt 1 in one line" \
		'"### Attempt 2" in T("ctx3.txt") and "### Attempt 1" not in T("ctx3.txt") and sum(1 for l in T("ctx3.txt").splitlines() if "ttempt 1" in l and "check_failed" in l) == 1 and T("ctx3.txt").count("FAIL: value is 1, expected 2") == 1'
	verify
}

# 2c task retry revives a failed flow; blocked dependants run after
test_02c_retry_revives_failed_flow() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
prompt=$(cat)
if printf '%s\n' "$prompt" | grep -q 'FAIL: value is 1, expected 2'; then echo 2 > value.txt; fi
echo "attempt $HIVE_ATTEMPT_NUMBER" >> notes.txt
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}], "retry": {"max_attempts": 1}},
	 {"key": "docs", "title": "Document it", "depends_on": ["fix"],
	  "checks": [{"name": "unit-still-passes", "command": "sh check.sh"}]}]'
	create_start f
	expect_exit 1 flow tick f
	events_dump
	pa "docs is blocked, flow failed" 'len(of("task_blocked")) == 1 and len(of("flow_failed")) == 1'
	expect_exit 0 flow status f
	grep "^docs " "$OUT" | grep -q "blocked" || fail "status of docs does not say blocked: $(cat "$OUT")"
	expect_exit 0 task retry fix --reset-count
	flow_json f
	pa "flow running again" 'J("flow.json")["flow"]["state"] == "running"'
	expect_exit 0 flow tick f
	task_json fix
	pa "fix succeeded on attempt 2" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	expect_exit 0 flow tick f
	task_json docs
	pa "docs ran on top of fix's result and succeeded" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 1'
	flow_json f
	pa "flow completed" 'J("flow.json")["flow"]["state"] == "completed"'
	events_dump
	pa "flow events: failed, resumed, completed" \
		'[e["type"] for e in EV if e["type"].startswith("flow_")] == ["flow_created", "flow_started", "flow_failed", "flow_resumed", "flow_completed"]'
	verify
}

# 2d task retry refuses an aborted flow; a new flow retries the task
test_02d_retry_refuses_aborted_flow() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
prompt=$(cat)
if printf '%s\n' "$prompt" | grep -q 'FAIL: value is 1, expected 2'; then echo 2 > value.txt; fi
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}], "retry": {"max_attempts": 1}},
	 {"key": "other", "title": "Another task", "depends_on": ["fix"]}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 0 flow abort f
	expect_exit 4 task retry fix --reset-count
	grep -q "aborted" "$ERR" || fail "task retry in an aborted flow: $(cat "$ERR")"
	task_json fix
	pa "the task stays failed (nothing written)" 'J("task.json")["state"] == "failed"'
	expect_exit 0 flow create p --name g --task fix
	task_json fix
	pa "joining a new flow made the task pending with a fresh budget (SPEC 12)" \
		'J("task.json")["state"] == "pending" and J("task.json")["budget_used"] == []'
	expect_exit 0 flow start g
	expect_exit 0 flow tick g
	task_json fix
	pa "attempt 2 ran in the new flow with the context and succeeded" \
		'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	events_dump
	pa "attempt 2's context came from attempt 1 in the aborted flow" \
		'P(one("retry_context_assembled"))["attempt_number"] == 2 and "FAIL: value is 1, expected 2" in P(one("retry_context_assembled"))["context"]'
	verify
}

# ---- 3. per-outcome budgets ---------------------------------------------------------

# 3 per-outcome budgets: timeout and check_failed counted separately
test_03_per_outcome_budgets() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
	sleep 300 &
	echo $! > "$OUT/child.pid"
	exec sleep 300
fi
echo "try $HIVE_ATTEMPT_NUMBER" >> tries.txt
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "runtime": {"timeout": "1s"},
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 5, "backoff": {"initial": "40s"},
	            "budgets": [{"on": ["timeout"], "max_attempts": 2, "backoff": {"initial": "0s"}},
	                        {"on": ["check_failed"], "max_attempts": 2, "backoff": {"initial": "250ms"}}]}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 1 flow tick f
	# attempt 3 is due 250ms later: flow run waits for it, then the flow fails
	expect_exit 1 flow run f
	expect_exit 0 flow tick f
	events_dump
	pa "each budget's own backoff applies (0ms, then 250ms; the policy's 40s is not used)" \
		'[P(e)["delay_ms"] for e in of("task_retry_scheduled")] == [0, 250]'
	pa "exactly 3 attempts: timeout, check_failed, check_failed" \
		'[P(e)["outcome"] for e in of("attempt_completed")] == ["timeout", "check_failed", "check_failed"]'
	pa "attempt 1 timed out (runtime_exited.termination_reason)" 'P(one("runtime_exited"))["termination_reason"] == "timeout"'
	kill_on_exit "$O/child.pid"
	wait_dead "$(cat "$O/child.pid")" "a background child of the timed-out runtime (its process group must be killed)"
	pa "task_retry_scheduled budgets count separately" \
		'[(P(e)["budget"]["on"], P(e)["budget"]["used"], P(e)["budget"]["max"]) for e in of("task_retry_scheduled")] == [(["timeout"], 1, 2), (["check_failed"], 1, 2)]'
	pa "the final failure reason mentions exhaustion" \
		'states()[-1] == ("verifying", "failed") and "exhausted" in P(of("task_state_changed")[-1])["reason"] and "2 of 2" in P(of("task_state_changed")[-1])["reason"]'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed" and J("task.json")["attempts"] == 3'
	verify
}

# ---- 4. verdicts ---------------------------------------------------------------------

verdict_scenario()
{
	# verdict_scenario VERDICT_SHELL_TEXT: a task whose runtime reports it and exits 1
	value_check
	script agent.sh <<EOF
#!/bin/sh
cat > /dev/null
printf '%s' '$1' > "\$HIVE_RESULT_FILE"
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 3, "backoff": {"initial": "0s", "max": "1s", "jitter": "none"}}}]'
	create_start f
	expect_exit 1 flow tick f
	events_dump
}

# 4a verdict retryable:false makes the failure final
test_04a_verdict_not_retryable() {
	sandbox
	verdict_scenario '{"retryable": false, "summary": "needs a human"}'
	pa "runtime_exited records the verdict" 'P(one("runtime_exited"))["verdict"]["retryable"] is False and P(one("runtime_exited"))["verdict"]["summary"] == "needs a human"'
	pa "one attempt (runtime_failed), no retry scheduled" '[P(e)["outcome"] for e in of("attempt_completed")] == ["runtime_failed"] and not of("task_retry_scheduled")'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed"'
	flow_json f
	pa "flow failed" 'J("flow.json")["flow"]["state"] == "failed"'
	expect_exit 0 flow tick f
	events_dump
	pa "a tick on the failed flow starts nothing" 'len(of("attempt_started")) == 1'
	verify
}

# 4b verdict retry_after raises the backoff
test_04b_verdict_retry_after() {
	sandbox
	verdict_scenario '{"retry_after": "2s", "summary": "rate limited"}'
	pa "delay_ms >= 2000 with backoff initial 0s (and not capped by backoff.max 1s)" 'P(one("task_retry_scheduled"))["delay_ms"] >= 2000'
	pa "not_before is delay_ms after the decision" 'P(one("task_retry_scheduled"))["not_before_ms"] - P(one("task_retry_scheduled"))["delay_ms"] > 0'
	task_json fix
	pa "task in retry" 'J("task.json")["state"] == "retry"'
	verify
}

# 4c a malformed verdict is recorded and ignored
test_04c_malformed_verdict() {
	sandbox
	verdict_scenario 'this is {not json'
	pa "runtime_exited.verdict.malformed says why" 'isinstance(P(one("runtime_exited"))["verdict"]["malformed"], str) and "JSON" in P(one("runtime_exited"))["verdict"]["malformed"]'
	pa "the retry happens anyway" 'len(of("task_retry_scheduled")) == 1 and P(one("task_retry_scheduled"))["delay_ms"] == 0'
	expect_exit 1 flow tick f
	events_dump
	pa "attempt 2 ran" 'len(of("attempt_completed")) == 2'
	verify
}

# ---- 5. backoff --------------------------------------------------------------------

backoff_flow()
{
	# backoff_flow BACKOFF_JSON: a task that fails attempt 1 and succeeds later.
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
if [ "$HIVE_ATTEMPT_NUMBER" -ge 2 ]; then echo 2 > value.txt; fi
EOF
	mkrepo
	flowspec f "[{\"key\": \"fix\", \"title\": \"Fix the value\",
	  \"checks\": [{\"name\": \"unit\", \"command\": \"sh check.sh\"}],
	  \"retry\": {\"max_attempts\": 3, \"backoff\": $1}}]"
	create_start f
}

# 5a full jitter: recorded delay within [0, initial]
test_05a_full_jitter() {
	sandbox
	backoff_flow '{"initial": "3s", "jitter": "full"}'
	expect_exit 1 flow tick f
	events_dump
	pa "0 <= delay_ms <= 3000 and not_before recorded" \
		'0 <= P(one("task_retry_scheduled"))["delay_ms"] <= 3000 and P(one("task_retry_scheduled"))["not_before"]'
	task_json fix
	pa "the task projection keeps the same not-before" \
		'J("task.json")["next_attempt_at_ms"] == P(one("task_retry_scheduled"))["not_before_ms"]'
	verify
}

# 5b a retry not yet due is skipped by tick
test_05b_retry_not_yet_due() {
	sandbox
	backoff_flow '{"initial": "30s", "jitter": "none"}'
	expect_exit 1 flow tick f
	events_dump
	pa "delay_ms is exactly 30000" 'P(one("task_retry_scheduled"))["delay_ms"] == 30000'
	expect_exit 0 flow tick f
	grep -q "0 attempts started" "$OUT" || fail "second tick output: $(cat "$OUT")"
	events_dump
	pa "no new attempt" 'len(of("attempt_started")) == 1'
	task_json fix
	pa "still in retry" 'J("task.json")["state"] == "retry" and J("task.json")["attempts"] == 1'
	expect_exit 0 flow status f
	grep -q "next attempt due" "$OUT" || fail "flow status lacks 'next attempt due': $(cat "$OUT")"
	verify
	# a person may cut the wait short: task retry works on a task in retry
	expect_exit 0 task retry fix
	expect_exit 0 flow tick f
	events_dump
	pa "task retry on a waiting task: attempt 2 runs at once and succeeds" \
		'len(of("attempt_started")) == 2 and P(of("attempt_completed")[-1])["outcome"] == "success" and ("retry", "pending") in states()'
	expect_exit 4 task retry fix
	verify
}

# 5c exponential backoff: initial x coefficient^(n-1), capped at max
test_05c_exponential_backoff() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Always fails",
	  "retry": {"max_attempts": 5, "backoff": {"initial": "1s", "coefficient": 2.0, "max": "3s", "jitter": "none"}}}]'
	create_start f
	# each wait is cut short with task retry (which keeps the count)
	local i
	for i in 1 2 3 4 5; do
		expect_exit 1 flow tick f
		[ "$i" -lt 5 ] && expect_exit 0 task retry fix
	done
	events_dump
	pa "delays 1000, 2000, 3000 (4000 capped), 3000 (8000 capped)" \
		'[P(e)["delay_ms"] for e in of("task_retry_scheduled")] == [1000, 2000, 3000, 3000]'
	pa "the budget counts 1..4 of 5, then is exhausted" \
		'[P(e)["budget"]["used"] for e in of("task_retry_scheduled")] == [1, 2, 3, 4] and "5 of 5" in P(of("task_state_changed")[-1])["reason"] and len(of("attempt_started")) == 5'
	verify
}

# 5d equal jitter: recorded delay within [d/2, d]
test_05d_equal_jitter() {
	sandbox
	backoff_flow '{"initial": "2s", "jitter": "equal"}'
	expect_exit 1 flow tick f
	events_dump
	pa "1000 <= delay_ms <= 2000" '1000 <= P(one("task_retry_scheduled"))["delay_ms"] <= 2000'
	verify
}

# 5e flow run waits out a short backoff and completes
test_05e_flow_run_waits_out_backoff() {
	sandbox
	backoff_flow '{"initial": "1s", "jitter": "none"}'
	expect_exit 0 flow run f
	events_dump
	pa "two attempts, delay 1000ms, completed" \
		'len(of("attempt_started")) == 2 and P(one("task_retry_scheduled"))["delay_ms"] == 1000 and len(of("flow_completed")) == 1'
	pa "attempt 2 did not start before the recorded not-before time" \
		'[e for e in of("attempt_started") if P(e)["attempt_number"] == 2][0]["time"] >= P(one("task_retry_scheduled"))["not_before"]'
	verify
}

# ---- 6. circuit breaker ---------------------------------------------------------------

# 6 circuit breaker: opens, blocks, half-opens, re-opens, closes
test_06_circuit_breaker() {
	sandbox
	script probe.sh <<'EOF'
#!/bin/sh
cat > /dev/null
[ -f "$OUT/healthy" ]
EOF
	echo x >"$R/README"
	mkrepo
	# one runtime (adapter + command + model) for all: one circuit (SPEC 12)
	flowspec f '[
	  {"key": "t1", "title": "first", "runtime": {"command": ["./probe.sh"]}},
	  {"key": "t2", "title": "second", "runtime": {"command": ["./probe.sh"]}},
	  {"key": "t3", "title": "third", "runtime": {"command": ["./probe.sh"]}},
	  {"key": "t4", "title": "fourth", "runtime": {"command": ["./probe.sh"]}},
	  {"key": "t5", "title": "fifth", "runtime": {"command": ["./probe.sh"]}}]' \
		'"retry": {"max_attempts": 1}, "circuit_breaker": {"failure_threshold": 2, "reset_timeout": "1s"}'
	create_start f
	expect_exit 1 flow tick f
	events_dump
	pa "one failure: circuit still closed" 'not of("circuit_opened")'
	expect_exit 1 flow tick f
	events_dump
	pa "circuit_opened after 2 consecutive runtime_failed" \
		'len(of("circuit_opened")) == 1 and [P(e)["outcome"] for e in of("attempt_completed")] == ["runtime_failed", "runtime_failed"] and one("circuit_opened")["seq"] > of("attempt_completed")[1]["seq"]'
	local due
	due=$(pv 'P(one("circuit_opened"))["opened_at_ms"] + P(one("circuit_opened"))["reset_timeout_ms"]')
	# Nothing may start while it is open.  (If this machine took longer than
	# reset_timeout to get here the circuit may legitimately have half-opened;
	# then this check is skipped rather than flaky.)
	if python3 -c "import sys,time; sys.exit(0 if time.time()*1000 < int(sys.argv[1]) - 200 else 1)" "$due"; then
		expect_exit 0 flow tick f --max-parallel 4
		events_dump
		pa "no attempt starts while the circuit is open" 'len(of("attempt_started")) == 2 and not of("circuit_half_opened")'
		expect_exit 0 flow status f
		grep "^t3 " "$OUT" | grep -q "circuit" || fail "status of t3 does not mention the circuit: $(cat "$OUT")"
		task_json t3
		pa "t3 waits in ready" 'J("task.json")["state"] == "ready"'
	fi
	wait_past_ms "$due"
	# a failing probe re-opens the circuit
	expect_exit 1 flow tick f --max-parallel 4
	events_dump
	pa "probe t3: circuit_half_opened before its attempt, fails, circuit_opened again" \
		'len(of("attempt_started")) == 3 and len(of("circuit_half_opened")) == 1 and len(of("circuit_opened")) == 2 and one("circuit_half_opened")["seq"] < of("attempt_started")[2]["seq"] and of("circuit_opened")[1]["seq"] > of("attempt_completed")[2]["seq"] and not of("circuit_closed")'
	due=$(pv 'P(of("circuit_opened")[1])["opened_at_ms"] + P(of("circuit_opened")[1])["reset_timeout_ms"]')
	wait_past_ms "$due"
	# a succeeding probe closes it
	touch "$O/healthy"
	expect_exit 0 flow tick f --max-parallel 4
	events_dump
	pa "probe t4 (alone, even with --max-parallel 4) succeeds: circuit_half_opened, circuit_closed" \
		'len(of("attempt_started")) == 4 and len(of("circuit_half_opened")) == 2 and len(of("circuit_closed")) == 1 and one("circuit_closed")["seq"] > of("attempt_completed")[3]["seq"] and P(of("attempt_completed")[3])["outcome"] == "success"'
	task_json t4
	pa "t4 succeeded" 'J("task.json")["state"] == "success"'
	expect_exit 0 flow tick f --max-parallel 4
	task_json t5
	pa "with the circuit closed t5 runs" 'J("task.json")["state"] == "success"'
	verify
}

# 6b a retry waits for the open circuit; its probe keeps the retry event order
test_06b_retry_waits_for_circuit() {
	sandbox
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
[ "$HIVE_ATTEMPT_NUMBER" -ge 2 ]
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Flaky runtime", "retry": {"max_attempts": 3}}]' \
		'"circuit_breaker": {"failure_threshold": 1, "reset_timeout": "1s"}'
	create_start f
	expect_exit 1 flow tick f
	events_dump
	local due
	due=$(pv 'P(one("circuit_opened"))["opened_at_ms"] + P(one("circuit_opened"))["reset_timeout_ms"]')
	pa "retry scheduled at once, circuit open" 'P(one("task_retry_scheduled"))["delay_ms"] == 0 and len(of("circuit_opened")) == 1'
	if python3 -c "import sys,time; sys.exit(0 if time.time()*1000 < int(sys.argv[1]) - 200 else 1)" "$due"; then
		expect_exit 0 flow status f
		grep "^fix " "$OUT" | grep -q "next attempt due.*waiting for the circuit breaker: exec ./agent.sh is open until" ||
			fail "status does not show the retry waiting on the circuit: $(cat "$OUT")"
		expect_exit 0 flow tick f
		events_dump
		pa "the due retry does not start while the circuit is open" 'len(of("attempt_started")) == 1'
	fi
	wait_past_ms "$due"
	expect_exit 0 flow tick f
	events_dump
	pa "circuit_half_opened, then retry->running, retry_context_assembled, attempt_started, runtime_started" \
		'[e["type"] for e in EV if e["seq"] >= one("circuit_half_opened")["seq"]][:5] == ["circuit_half_opened", "task_state_changed", "retry_context_assembled", "attempt_started", "runtime_started"]'
	pa "the probe succeeded and closed the circuit" 'len(of("circuit_closed")) == 1 and len(of("flow_completed")) == 1'
	verify
}

# ---- 7. on_exhausted escalate ----------------------------------------------------------

# 7 on_exhausted escalate, then task retry --reset-count
test_07_escalate_then_reset() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
prompt=$(cat)
if printf '%s\n' "$prompt" | grep -q 'FAIL: value is 1, expected 2'; then echo 2 > value.txt; fi
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 1, "on_exhausted": "escalate"}}]'
	create_start f
	expect_exit 1 flow tick f
	task_json fix
	pa "task escalated" 'J("task.json")["state"] == "escalated"'
	events_dump
	pa "task_escalated event, after verifying->failed->escalated" \
		'len(of("task_escalated")) == 1 and states()[-2:] == [("verifying", "failed"), ("failed", "escalated")]'
	expect_exit 4 task retry fix
	grep -q "retry limit exceeded: 1 of 1 attempts used; pass --reset-count" "$ERR" ||
		fail "task retry message: $(cat "$ERR")"
	expect_exit 0 task retry fix --reset-count
	events_dump
	pa "escalated -> pending" "('escalated', 'pending') in states()"
	expect_exit 0 flow tick f
	task_json fix
	pa "attempt 2 (with the context) succeeds" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	events_dump
	pa "attempt 2 got a retry context" 'len(of("retry_context_assembled")) == 1 and P(one("retry_context_assembled"))["attempt_number"] == 2'
	flow_json f
	pa "flow completed" 'J("flow.json")["flow"]["state"] == "completed"'
	verify
}

# ---- 8. runtime_unavailable -----------------------------------------------------------

# 8 runtime_unavailable is never retried
test_08_runtime_unavailable() {
	sandbox
	echo x >"$R/README"
	mkrepo
	flowspec f '[{"key": "fix", "title": "Run a missing agent",
	  "runtime": {"command": ["./no-such-agent"]},
	  "retry": {"max_attempts": 3, "retry_on": ["check_failed", "runtime_failed", "timeout", "crashed"]}}]'
	create_start f
	expect_exit 1 flow tick f
	events_dump
	pa "one attempt, runtime_unavailable, no retry" \
		'[P(e)["outcome"] for e in of("attempt_completed")] == ["runtime_unavailable"] and not of("task_retry_scheduled")'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed"'
	flow_json f
	pa "flow failed" 'J("flow.json")["flow"]["state"] == "failed"'
	verify
}

# ---- 9. mode continue vs clean --------------------------------------------------------

mode_scenario()
{
	# mode_scenario MODE: a task whose check needs two attempts' lines
	: >"$R/log.txt"
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
wc -l < log.txt | tr -d ' ' > "$OUT/lines-before-$HIVE_ATTEMPT_NUMBER"
echo "attempt $HIVE_ATTEMPT_NUMBER" >> log.txt
EOF
	mkrepo
	flowspec f "[{\"key\": \"fix\", \"title\": \"Grow the log\",
	  \"checks\": [{\"name\": \"two-lines\", \"command\": \"test \$(wc -l < log.txt) -ge 2\"}],
	  \"retry\": {\"max_attempts\": 2, \"mode\": \"$1\"}}]"
	create_start f
	expect_exit 1 flow tick f
}

# 9a mode continue keeps attempt 1's change
test_09a_mode_continue() {
	sandbox
	mode_scenario continue
	expect_exit 0 flow tick f
	pa "attempt 2 started with attempt 1's line" 'T(O + "/lines-before-1").strip() == "0" and T(O + "/lines-before-2").strip() == "1"'
	task_json fix
	pa "task succeeded" 'J("task.json")["state"] == "success"'
	events_dump
	pa "attempt 2 started from attempt 1's checkpoint" \
		'P([e for e in of("attempt_started") if P(e)["attempt_number"] == 2][0])["base_commit"] == P(of("changes_recorded")[0])["commit"] != P(of("changes_recorded")[0])["start_commit"]'
	verify
}

# 9b mode clean resets to the task's base
test_09b_mode_clean() {
	sandbox
	mode_scenario clean
	expect_exit 1 flow tick f
	pa "attempt 2 started without attempt 1's line" 'T(O + "/lines-before-1").strip() == "0" and T(O + "/lines-before-2").strip() == "0"'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed"'
	events_dump
	pa "both attempts started from the same base commit" \
		'len(set(P(e)["base_commit"] for e in of("attempt_started"))) == 1'
	verify
}

# 9c task retry --mode continue overrides a clean policy
test_09c_retry_mode_override() {
	sandbox
	mode_scenario clean
	expect_exit 1 flow tick f
	expect_exit 2 task retry fix --mode sideways
	expect_exit 0 task retry fix --reset-count --mode continue
	expect_exit 0 flow tick f
	pa "attempt 3 started with attempt 2's line" 'T(O + "/lines-before-3").strip() == "1"'
	task_json fix
	pa "task succeeded" 'J("task.json")["state"] == "success"'
	events_dump
	pa "task_retry_requested records the mode" \
		'P(one("task_retry_requested"))["mode"] == "continue" and P(one("task_retry_requested"))["reset_count"] is True'
	verify
}

# ---- 10. crash recovery ------------------------------------------------------------

# 10 a runner that dies mid-attempt: next tick records crashed and retries
test_10_runner_dies_mid_attempt() {
	sandbox
	value_check
	script agent.sh <<'EOF'
#!/bin/sh
cat > /dev/null
if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
	echo $$ > "$OUT/agent-1.pid"
	exec sleep 300
fi
echo 2 > value.txt
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}], "retry": {"max_attempts": 3}}]'
	create_start f
	kill_on_exit "$O/agent-1.pid"
	bg_start "$HIVE_BIN" flow tick f >"$S/tick1.out" 2>&1
	local runner=$BG_PID apid=""
	# wait (bounded) until the runtime is recorded as started and is running
	wait_until 30 runtime_recorded || fail "attempt 1 never started"
	apid=$(cat "$O/agent-1.pid")
	kill -KILL "$runner" 2>/dev/null
	wait "$runner" 2>/dev/null
	task_json fix
	pa "the dead runner left the task running" 'J("task.json")["state"] == "running"'
	expect_exit 1 flow tick f
	grep -q "crashed" "$OUT" || fail "tick does not report the crash: $(cat "$OUT")"
	wait_dead "$apid" "the runtime the dead runner left behind"
	events_dump
	pa "attempt_crashed{killed}, outcome crashed, retry scheduled" \
		'P(one("attempt_crashed"))["killed"] is True and P(of("attempt_completed")[0])["outcome"] == "crashed" and P(one("task_retry_scheduled"))["outcome"] == "crashed"'
	pa "attempt 2 got a context about the crash and succeeded" \
		'"### Attempt 1 failed: crashed" in P(one("retry_context_assembled"))["context"] and P(of("attempt_completed")[-1])["outcome"] == "success"'
	verify
}

run_tests "$@"
