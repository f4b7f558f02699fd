#!/usr/bin/env bash
# test_retry.sh - end-to-end tests of hive's retry mechanics (SPEC sections 2-4, 6, 7, 9).
#
# Every scenario builds a real git repository in a temp dir, uses real
# processes as runtimes (shell scripts written into the test repo) and its
# own fresh --dir.  Flows are stepped with `hive flow tick`, so nothing
# depends on timing luck: the only waits are for wall-clock deadlines that
# hive itself recorded in events (circuit reset, backoff), polled until they
# have passed, and `flow run`, which waits out backoff by itself.
#
# Self-contained: run it as
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_retry.sh
# HIVE_TEST_KEEP=1 keeps the temp dir for inspection.
# It prints one line per scenario and ends with "retry: N passed, M failed".
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
HIVE_BIN=${HIVE_BIN:-$HERE/../../hive}
case $HIVE_BIN in /*) ;; *) HIVE_BIN=$(cd "$(dirname "$HIVE_BIN")" && pwd)/$(basename "$HIVE_BIN") ;; esac
if [ ! -x "$HIVE_BIN" ]; then
	echo "retry: hive binary not found at $HIVE_BIN (build it with make hive or set HIVE_BIN)" >&2
	echo "retry: 0 passed, 1 failed"
	exit 1
fi
export NO_COLOR=1
unset HIVE_DIR

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hive-test-retry.XXXXXX")
CLEANUP_PIDS=""
cleanup()
{
	local p
	# Runtimes hive should have killed; kill any survivor, but only if the
	# pid still runs our "sleep 300" (never a reused pid).
	for p in $CLEANUP_PIDS; do
		[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" = "sleep 300 " ] && kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${HIVE_TEST_KEEP:-}" ]; then echo "# kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Run a private copy, so a rebuild of the tree's binary mid-run cannot break us.
cp "$HIVE_BIN" "$TMP/hive" && HIVE_BIN=$TMP/hive

# A hung hive must fail the test, not hang it (a guard, never a sync point).
TO=()
command -v timeout >/dev/null 2>&1 && TO=(timeout 120)

PASSED=0 FAILED=0
SC_NAME="" SC_ERRS=""
T0=$(date +%s)

# ---- helpers -------------------------------------------------------------------

# begin NAME: a fresh scenario dir $S, data dir $D, repo $R, output dir $O.
begin()
{
	SC_NAME=$1 SC_ERRS=""
	S=$TMP/$(printf '%s' "$1" | tr -c 'A-Za-z0-9' '_' | cut -c1-40)
	D=$S/data R=$S/repo O=$S/out
	mkdir -p "$S" "$R" "$O"
}

fail() { SC_ERRS="$SC_ERRS
    - $*"; }

# end: one line for the scenario.
end()
{
	if [ -z "$SC_ERRS" ]; then
		PASSED=$((PASSED + 1))
		echo "ok   - $SC_NAME"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL - $SC_NAME$SC_ERRS"
	fi
}

# hv ARGS...: hive on the scenario's data dir; stdout/stderr in $S/last.out / last.err.
hv() { "${TO[@]}" "$HIVE_BIN" --dir "$D" "$@" >"$S/last.out" 2>"$S/last.err"; }

# expect_exit CODE ARGS...: run hive and require exit status CODE.
expect_exit()
{
	local want=$1
	shift
	hv "$@"
	local got=$?
	if [ "$got" != "$want" ]; then
		fail "hive $*: exit $got, want $want; stderr: $(head -c 400 "$S/last.err")"
		return 1
	fi
	return 0
}

# mkrepo: commit everything in $R as the repository's first commit.
mkrepo()
{
	git -C "$R" init -q . &&
		git -C "$R" add -A &&
		git -C "$R" -c user.name=t -c user.email=t@t commit -qm init ||
		fail "cannot create the test repository $R"
}

# script FILE: write stdin to $R/FILE, executable.
script() { cat >"$R/$1" && chmod +x "$R/$1"; }

# Python helpers over the scenario's event log and hive's JSON output.
cat >"$TMP/h.py" <<'PY'
import hashlib, json, os, sys
def _load_events(p):
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]
EV = _load_events(os.environ.get("EVF", "/nonexistent"))
def of(t, a=None):
    return [e for e in EV if e["type"] == t and (a is None or e.get("attempt_id", "").startswith(a))]
def one(t, a=None):
    r = of(t, a)
    return r[0] if r else {"seq": -1, "payload": {}}
def P(e): return e.get("payload") or {}
def J(p):
    with open(p) as f: return json.load(f)
def T(p):
    with open(p, encoding="utf-8", errors="replace") as f: return f.read()
def sha(p):
    with open(p, "rb") as f: return hashlib.sha256(f.read()).hexdigest()
def states(): return [(P(e)["from"], P(e)["to"]) for e in of("task_state_changed")]
PY

# events: snapshot the scenario's log into $S/ev.ndjson for pa/pv.
events() { "${TO[@]}" "$HIVE_BIN" --dir "$D" --json events list >"$S/ev.ndjson" 2>"$S/ev.err" || fail "events list failed: $(cat "$S/ev.err")"; }

# pa DESC EXPR: assert the Python expression holds (with the helpers above).
pa()
{
	local out
	out=$(cd "$S" && EVF=$S/ev.ndjson python3 -c "
exec(open('$TMP/h.py').read())
S, D, O = '$S', '$D', '$O'
try:
    ok = bool($2)
except Exception as ex:
    print('%s: %s' % (type(ex).__name__, ex)); ok = False
sys.exit(0 if ok else 1)" 2>&1) || fail "$1${out:+ ($out)}"
}

# pv EXPR: print a Python expression's value.
pv()
{
	(cd "$S" && EVF=$S/ev.ndjson python3 -c "
exec(open('$TMP/h.py').read())
S, D, O = '$S', '$D', '$O'
print($1)")
}

# task_json KEY: `task show --json` into $S/task.json.
task_json() { "${TO[@]}" "$HIVE_BIN" --dir "$D" --json task show "$1" >"$S/task.json" 2>/dev/null || fail "task show $1 failed"; }
flow_json() { "${TO[@]}" "$HIVE_BIN" --dir "$D" --json flow status "$1" >"$S/flow.json" 2>/dev/null || fail "flow status $1 failed"; }

# attempt_id N [KEY]: full id of the task's attempt number N.
attempt_id()
{
	"${TO[@]}" "$HIVE_BIN" --dir "$D" --json attempt list --task "${2:-fix}" 2>/dev/null |
		python3 -c "import json,sys; print(''.join(a['id'] for a in json.load(sys.stdin) if a['attempt_number'] == $1))"
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

# wait_dead PID: wait (bounded, 10s) until PID is gone or a zombie; fails the scenario otherwise.
wait_dead()
{
	python3 -c "
import sys, time
pid, end = sys.argv[1], time.time() + 10
def dead():
    try:
        return open('/proc/%s/stat' % pid).read().rsplit(')', 1)[1].split()[0] in 'ZX'
    except OSError:
        return True
while not dead() and time.time() < end:
    time.sleep(0.02)
sys.exit(0 if dead() else 1)" "$1" || fail "process $1 is still alive: $2"
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

scenario_core_loop()
{
	begin "1 core loop: check fails, attempt 2 gets the context and fixes it"
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
	events
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
	events
	pa "event order: retry->running, retry_context_assembled, attempt_started, runtime_started" "
[P(e)['to'] for e in of('task_state_changed') if e['seq'] < one('retry_context_assembled')['seq']][-1] == 'running' and
[P(e)['from'] for e in of('task_state_changed') if e['seq'] < one('retry_context_assembled')['seq']][-1] == 'retry' and
one('retry_context_assembled', '$a2')['seq'] > 0 and
one('retry_context_assembled', '$a2')['seq'] < one('attempt_started', '$a2')['seq'] < one('runtime_started', '$a2')['seq'] < one('runtime_exited', '$a2')['seq']"
	pa "the whole event order of the retried attempt (SPEC section 6)" "
(lambda seq: seq == ['task_state_changed', 'retry_context_assembled', 'attempt_started', 'runtime_started', 'runtime_exited',
                     'changes_recorded', 'task_state_changed', 'check_started', 'check_completed', 'attempt_completed',
                     'task_state_changed', 'flow_completed'])(
 [e['type'] for e in EV if e['seq'] >= one('retry_context_assembled')['seq'] - 1])"
	pa "exactly one retry context, for attempt 2" "len(of('retry_context_assembled')) == 1 and P(one('retry_context_assembled'))['attempt_number'] == 2"
	pa "the agent saw the failing line on stdin in attempt 2, not in attempt 1" \
		"'FAIL: value is 1, expected 2' in T(O + '/stdin-2.txt') and 'FAIL: value is' not in T(O + '/stdin-1.txt')"
	# the context as printed
	expect_exit 0 attempt inspect "$a2" --context && cp "$S/last.out" "$S/ctx.txt"
	pa "inspect --context starts with ## Retry context" 'T("ctx.txt").startswith("## Retry context\n")'
	pa "inspect --context says attempt 2 of 3" '"This is attempt 2 of 3" in T("ctx.txt")'
	pa "inspect --context quotes the failing check output" '"FAIL: value is 1, expected 2" in T("ctx.txt") and "Required check \"unit\" failed (exit 1)" in T("ctx.txt")'
	expect_exit 0 --json attempt inspect "$a2" --context && cp "$S/last.out" "$S/ctx.json"
	pa "--json --context: context_sha256 = sha256(context text) = attempt_started.context_sha256" "
J('ctx.json')['context_sha256'] == hashlib.sha256(J('ctx.json')['context'].encode()).hexdigest() == sha('ctx.txt') ==
P(one('attempt_started', '$a2'))['context_sha256'] and J('ctx.json')['context_bytes'] == len(J('ctx.json')['context'].encode())"
	pa "--json --context carries prior_attempts and the required check failure" "
[p['attempt_number'] for p in J('ctx.json')['prior_attempts']] == [1] and J('ctx.json')['prior_attempts'][0]['outcome'] == 'check_failed' and
J('ctx.json')['required_check_failures'][0]['name'] == 'unit' and 'FAIL: value is 1' in J('ctx.json')['required_check_failures'][0]['output_excerpt']"
	pa "attempt 1 had no context (attempt_started.context_sha256 null)" "P(one('attempt_started', '$a1'))['context_sha256'] is None"
	expect_exit 0 attempt inspect "$a1" --context
	grep -qi "no retry context\|had no retry context\|none" "$S/last.out" || fail "inspect --context of attempt 1 does not say there was none: $(cat "$S/last.out")"
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
 env['HIVE_MAX_ATTEMPTS'] == '3' and os.path.isdir(env['HIVE_WORKTREE']) and
 env['HIVE_PROMPT_FILE'] == D + '/attempts/$a2/prompt.md' and env['HIVE_INPUT_FILE'] == D + '/attempts/$a2/input.json' and
 env['HIVE_RESULT_FILE'].startswith(D + '/attempts/$a2/') and env['OUT'] == O)(
 dict(l.split('=', 1) for l in T(O + '/env-2.txt').splitlines() if '=' in l))"
	pa "the runtime's environment is scrubbed" "'HIVE_TEST_LEAK' not in T(O + '/env-1.txt')"
	verify
	end
}

scenario_excerpt()
{
	begin "1b long, messy check output: the context keeps the first error, failures and the tail"
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
	expect_exit 0 attempt inspect "$a2" --context && cp "$S/last.out" "$S/ctx.txt"
	pa "the excerpt keeps the first error, the failure in the middle and the tail" \
		'all(x in T("ctx.txt") for x in ["first-real-error", "middle-assert-xyz", "summary-line: 1 failed"])'
	pa "gaps are marked with the number of lines left out" '"lines omitted]" in T("ctx.txt")'
	pa "the excerpt respects max_check_output_lines" \
		'sum(1 for l in T("ctx.txt").splitlines() if "filler" in l) <= 20'
	pa "the context is valid UTF-8" 'open("ctx.txt", "rb").read().decode("utf-8") is not None'
	expect_exit 0 attempt inspect "$(attempt_id 1)" --output
	pa "the full output is kept (attempt inspect --output)" \
		'T("last.out").count("filler") == 800 and "middle-assert-xyz" in T("last.out")'
	verify
	end
}

# ---- 2. budget exhaustion, task retry ------------------------------------------------

scenario_budget()
{
	begin "2 budget exhaustion: task retry refuses, --reset-count revives"
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
	events
	pa "the final failure names the exhausted budget" "any(P(e)['to'] == 'failed' and 'exhausted' in P(e).get('reason', '') for e in of('task_state_changed'))"
	expect_exit 4 task retry fix
	grep -q "retry limit exceeded: 2 of 2 attempts used; pass --reset-count" "$S/last.err" ||
		fail "task retry message: $(cat "$S/last.err")"
	expect_exit 3 task retry no-such-task
	expect_exit 0 task retry fix --reset-count
	flow_json f
	pa "flow running again" 'J("flow.json")["flow"]["state"] == "running"'
	events
	pa "task_retry_requested{reset_count} and flow_resumed recorded" \
		'P(one("task_retry_requested"))["reset_count"] is True and len(of("flow_resumed")) == 1 and one("flow_resumed")["seq"] > one("task_retry_requested")["seq"] - 5'
	pa "task went failed -> pending" "('failed', 'pending') in states()"
	expect_exit 1 flow tick f
	local a3
	a3=$(attempt_id 3)
	[ -n "$a3" ] || fail "no attempt 3 after --reset-count"
	expect_exit 0 attempt inspect "$a3" --context && cp "$S/last.out" "$S/ctx3.txt"
	pa "attempt 3's context covers attempts 1 and 2" \
		'"This is attempt 3 of" in T("ctx3.txt") and "### Attempt 1" in T("ctx3.txt") and "### Attempt 2" in T("ctx3.txt") and T("ctx3.txt").count("FAIL: value is 1, expected 2") >= 2'
	events
	pa "the retry context of attempt 3 lists both prior attempts" \
		"P(one('retry_context_assembled', '$a3'))['attempt_number'] == 3 and len(P(one('retry_context_assembled', '$a3'))['prior_attempt_ids']) == 2"
	pa "patterns notice the repeated check failure" "any('unit' in p and '1' in p and '2' in p for p in P(one('retry_context_assembled', '$a3'))['patterns'])"
	task_json fix
	pa "fresh budget: attempt 3 is retried (1 of 2 used)" 'J("task.json")["state"] == "retry"'
	verify
	end

	begin "2b older attempts beyond max_prior_attempts are one-line summaries"
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
	expect_exit 0 attempt inspect "$c3" --context && cp "$S/last.out" "$S/ctx3.txt"
	pa "attempt 2 in full, attempt 1 in one line" \
		'"### Attempt 2" in T("ctx3.txt") and "### Attempt 1" not in T("ctx3.txt") and sum(1 for l in T("ctx3.txt").splitlines() if "ttempt 1" in l and "check_failed" in l) == 1 and T("ctx3.txt").count("FAIL: value is 1, expected 2") == 1'
	verify
	end
}

scenario_dependants()
{
	begin "2c task retry revives a failed flow; blocked dependants run after"
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
	events
	pa "docs is blocked, flow failed" 'len(of("task_blocked")) == 1 and len(of("flow_failed")) == 1'
	expect_exit 0 flow status f
	grep "^docs " "$S/last.out" | grep -q "blocked" || fail "status of docs does not say blocked: $(cat "$S/last.out")"
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
	events
	pa "flow events: failed, resumed, completed" \
		'[e["type"] for e in EV if e["type"].startswith("flow_")] == ["flow_created", "flow_started", "flow_failed", "flow_resumed", "flow_completed"]'
	verify
	end
}

scenario_aborted_flow()
{
	begin "2d task retry refuses an aborted flow; a new flow retries the task"
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
	grep -q "aborted" "$S/last.err" || fail "task retry in an aborted flow: $(cat "$S/last.err")"
	task_json fix
	pa "the task stays failed (nothing written)" 'J("task.json")["state"] == "failed"'
	expect_exit 0 flow create p --name g --task fix
	expect_exit 0 flow start g
	expect_exit 0 task retry fix --reset-count
	expect_exit 0 flow tick g
	task_json fix
	pa "attempt 2 ran in the new flow with the context and succeeded" \
		'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	events
	pa "attempt 2's context came from attempt 1 in the aborted flow" \
		'P(one("retry_context_assembled"))["attempt_number"] == 2 and "FAIL: value is 1, expected 2" in P(one("retry_context_assembled"))["context"]'
	verify
	end
}

# ---- 3. per-outcome budgets ---------------------------------------------------------

scenario_budgets()
{
	begin "3 per-outcome budgets: timeout and check_failed counted separately"
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
	events
	pa "each budget's own backoff applies (0ms, then 250ms; the policy's 40s is not used)" \
		'[P(e)["delay_ms"] for e in of("task_retry_scheduled")] == [0, 250]'
	pa "exactly 3 attempts: timeout, check_failed, check_failed" \
		'[P(e)["outcome"] for e in of("attempt_completed")] == ["timeout", "check_failed", "check_failed"]'
	pa "attempt 1 timed out (runtime_exited.termination_reason)" 'P(one("runtime_exited"))["termination_reason"] == "timeout"'
	CLEANUP_PIDS="$CLEANUP_PIDS $(cat "$O/child.pid")"
	wait_dead "$(cat "$O/child.pid")" "a background child of the timed-out runtime (its process group must be killed)"
	pa "task_retry_scheduled budgets count separately" \
		'[(P(e)["budget"]["on"], P(e)["budget"]["used"], P(e)["budget"]["max"]) for e in of("task_retry_scheduled")] == [(["timeout"], 1, 2), (["check_failed"], 1, 2)]'
	pa "the final failure reason mentions exhaustion" \
		'states()[-1] == ("verifying", "failed") and "exhausted" in P(of("task_state_changed")[-1])["reason"] and "2 of 2" in P(of("task_state_changed")[-1])["reason"]'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed" and J("task.json")["attempts"] == 3'
	verify
	end
}

# ---- 4. verdicts ---------------------------------------------------------------------

verdict_scenario()
{
	# verdict_scenario NAME VERDICT_SHELL_TEXT
	begin "$1"
	value_check
	script agent.sh <<EOF
#!/bin/sh
cat > /dev/null
printf '%s' '$2' > "\$HIVE_RESULT_FILE"
exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 3, "backoff": {"initial": "0s", "max": "1s", "jitter": "none"}}}]'
	create_start f
	expect_exit 1 flow tick f
	events
}

scenario_verdicts()
{
	verdict_scenario "4a verdict retryable:false makes the failure final" '{"retryable": false, "summary": "needs a human"}'
	pa "runtime_exited records the verdict" 'P(one("runtime_exited"))["verdict"]["retryable"] is False and P(one("runtime_exited"))["verdict"]["summary"] == "needs a human"'
	pa "one attempt (runtime_failed), no retry scheduled" '[P(e)["outcome"] for e in of("attempt_completed")] == ["runtime_failed"] and not of("task_retry_scheduled")'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed"'
	flow_json f
	pa "flow failed" 'J("flow.json")["flow"]["state"] == "failed"'
	expect_exit 0 flow tick f
	events
	pa "a tick on the failed flow starts nothing" 'len(of("attempt_started")) == 1'
	verify
	end

	verdict_scenario "4b verdict retry_after raises the backoff" '{"retry_after": "2s", "summary": "rate limited"}'
	pa "delay_ms >= 2000 with backoff initial 0s (and not capped by backoff.max 1s)" 'P(one("task_retry_scheduled"))["delay_ms"] >= 2000'
	pa "not_before is delay_ms after the decision" 'P(one("task_retry_scheduled"))["not_before_ms"] - P(one("task_retry_scheduled"))["delay_ms"] > 0'
	task_json fix
	pa "task in retry" 'J("task.json")["state"] == "retry"'
	verify
	end

	verdict_scenario "4c a malformed verdict is recorded and ignored" 'this is {not json'
	pa "runtime_exited.verdict.malformed says why" 'isinstance(P(one("runtime_exited"))["verdict"]["malformed"], str) and "JSON" in P(one("runtime_exited"))["verdict"]["malformed"]'
	pa "the retry happens anyway" 'len(of("task_retry_scheduled")) == 1 and P(one("task_retry_scheduled"))["delay_ms"] == 0'
	expect_exit 1 flow tick f
	events
	pa "attempt 2 ran" 'len(of("attempt_completed")) == 2'
	verify
	end
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

scenario_backoff()
{
	begin "5a full jitter: recorded delay within [0, initial]"
	backoff_flow '{"initial": "3s", "jitter": "full"}'
	expect_exit 1 flow tick f
	events
	pa "0 <= delay_ms <= 3000 and not_before recorded" \
		'0 <= P(one("task_retry_scheduled"))["delay_ms"] <= 3000 and P(one("task_retry_scheduled"))["not_before"]'
	task_json fix
	pa "the task projection keeps the same not-before" \
		'J("task.json")["next_attempt_at_ms"] == P(one("task_retry_scheduled"))["not_before_ms"]'
	verify
	end

	begin "5b a retry not yet due is skipped by tick"
	backoff_flow '{"initial": "30s", "jitter": "none"}'
	expect_exit 1 flow tick f
	events
	pa "delay_ms is exactly 30000" 'P(one("task_retry_scheduled"))["delay_ms"] == 30000'
	expect_exit 0 flow tick f
	grep -q "0 attempts started" "$S/last.out" || fail "second tick output: $(cat "$S/last.out")"
	events
	pa "no new attempt" 'len(of("attempt_started")) == 1'
	task_json fix
	pa "still in retry" 'J("task.json")["state"] == "retry" and J("task.json")["attempts"] == 1'
	expect_exit 0 flow status f
	grep -q "next attempt due" "$S/last.out" || fail "flow status lacks 'next attempt due': $(cat "$S/last.out")"
	verify
	# a person may cut the wait short: task retry works on a task in retry
	expect_exit 0 task retry fix
	expect_exit 0 flow tick f
	events
	pa "task retry on a waiting task: attempt 2 runs at once and succeeds" \
		'len(of("attempt_started")) == 2 and P(of("attempt_completed")[-1])["outcome"] == "success" and ("retry", "pending") in states()'
	expect_exit 4 task retry fix
	verify
	end

	begin "5c exponential backoff: initial x coefficient^(n-1), capped at max"
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
	events
	pa "delays 1000, 2000, 3000 (4000 capped), 3000 (8000 capped)" \
		'[P(e)["delay_ms"] for e in of("task_retry_scheduled")] == [1000, 2000, 3000, 3000]'
	pa "the budget counts 1..4 of 5, then is exhausted" \
		'[P(e)["budget"]["used"] for e in of("task_retry_scheduled")] == [1, 2, 3, 4] and "5 of 5" in P(of("task_state_changed")[-1])["reason"] and len(of("attempt_started")) == 5'
	verify
	end

	begin "5d equal jitter: recorded delay within [d/2, d]"
	backoff_flow '{"initial": "2s", "jitter": "equal"}'
	expect_exit 1 flow tick f
	events
	pa "1000 <= delay_ms <= 2000" '1000 <= P(one("task_retry_scheduled"))["delay_ms"] <= 2000'
	verify
	end

	begin "5e flow run waits out a short backoff and completes"
	backoff_flow '{"initial": "1s", "jitter": "none"}'
	expect_exit 0 flow run f
	events
	pa "two attempts, delay 1000ms, completed" \
		'len(of("attempt_started")) == 2 and P(one("task_retry_scheduled"))["delay_ms"] == 1000 and len(of("flow_completed")) == 1'
	pa "attempt 2 did not start before the recorded not-before time" \
		'[e for e in of("attempt_started") if P(e)["attempt_number"] == 2][0]["time"] >= P(one("task_retry_scheduled"))["not_before"]'
	verify
	end
}

# ---- 6. circuit breaker ---------------------------------------------------------------

scenario_circuit()
{
	begin "6 circuit breaker: opens, blocks, half-opens, re-opens, closes"
	script probe.sh <<'EOF'
#!/bin/sh
cat > /dev/null
[ -f "$OUT/healthy" ]
EOF
	echo x >"$R/README"
	mkrepo
	flowspec f '[
	  {"key": "t1", "title": "first", "runtime": {"command": ["sh", "-c", "exit 1"]}},
	  {"key": "t2", "title": "second", "runtime": {"command": ["sh", "-c", "exit 1"]}},
	  {"key": "t3", "title": "third", "runtime": {"command": ["./probe.sh"]}},
	  {"key": "t4", "title": "fourth", "runtime": {"command": ["./probe.sh"]}},
	  {"key": "t5", "title": "fifth", "runtime": {"command": ["./probe.sh"]}}]' \
		'"retry": {"max_attempts": 1}, "circuit_breaker": {"failure_threshold": 2, "reset_timeout": "1s"}'
	create_start f
	expect_exit 1 flow tick f
	events
	pa "one failure: circuit still closed" 'not of("circuit_opened")'
	expect_exit 1 flow tick f
	events
	pa "circuit_opened after 2 consecutive runtime_failed" \
		'len(of("circuit_opened")) == 1 and [P(e)["outcome"] for e in of("attempt_completed")] == ["runtime_failed", "runtime_failed"] and one("circuit_opened")["seq"] > of("attempt_completed")[1]["seq"]'
	local due
	due=$(pv 'P(one("circuit_opened"))["opened_at_ms"] + P(one("circuit_opened"))["reset_timeout_ms"]')
	# Nothing may start while it is open.  (If this machine took longer than
	# reset_timeout to get here the circuit may legitimately have half-opened;
	# then this check is skipped rather than flaky.)
	if python3 -c "import sys,time; sys.exit(0 if time.time()*1000 < int(sys.argv[1]) - 200 else 1)" "$due"; then
		expect_exit 0 flow tick f --max-parallel 4
		events
		pa "no attempt starts while the circuit is open" 'len(of("attempt_started")) == 2 and not of("circuit_half_opened")'
		expect_exit 0 flow status f
		grep "^t3 " "$S/last.out" | grep -q "circuit" || fail "status of t3 does not mention the circuit: $(cat "$S/last.out")"
		task_json t3
		pa "t3 waits in ready" 'J("task.json")["state"] == "ready"'
	fi
	wait_past_ms "$due"
	# a failing probe re-opens the circuit
	expect_exit 1 flow tick f --max-parallel 4
	events
	pa "probe t3: circuit_half_opened before its attempt, fails, circuit_opened again" \
		'len(of("attempt_started")) == 3 and len(of("circuit_half_opened")) == 1 and len(of("circuit_opened")) == 2 and one("circuit_half_opened")["seq"] < of("attempt_started")[2]["seq"] and of("circuit_opened")[1]["seq"] > of("attempt_completed")[2]["seq"] and not of("circuit_closed")'
	due=$(pv 'P(of("circuit_opened")[1])["opened_at_ms"] + P(of("circuit_opened")[1])["reset_timeout_ms"]')
	wait_past_ms "$due"
	# a succeeding probe closes it
	touch "$O/healthy"
	expect_exit 0 flow tick f --max-parallel 4
	events
	pa "probe t4 (alone, even with --max-parallel 4) succeeds: circuit_half_opened, circuit_closed" \
		'len(of("attempt_started")) == 4 and len(of("circuit_half_opened")) == 2 and len(of("circuit_closed")) == 1 and one("circuit_closed")["seq"] > of("attempt_completed")[3]["seq"] and P(of("attempt_completed")[3])["outcome"] == "success"'
	task_json t4
	pa "t4 succeeded" 'J("task.json")["state"] == "success"'
	expect_exit 0 flow tick f --max-parallel 4
	task_json t5
	pa "with the circuit closed t5 runs" 'J("task.json")["state"] == "success"'
	verify
	end
}

scenario_circuit_retry()
{
	begin "6b a retry waits for the open circuit; its probe keeps the retry event order"
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
	events
	local due
	due=$(pv 'P(one("circuit_opened"))["opened_at_ms"] + P(one("circuit_opened"))["reset_timeout_ms"]')
	pa "retry scheduled at once, circuit open" 'P(one("task_retry_scheduled"))["delay_ms"] == 0 and len(of("circuit_opened")) == 1'
	if python3 -c "import sys,time; sys.exit(0 if time.time()*1000 < int(sys.argv[1]) - 200 else 1)" "$due"; then
		expect_exit 0 flow status f
		grep "^fix " "$S/last.out" | grep -q "next attempt due.*circuit of runtime exec is open" ||
			fail "status does not show the retry waiting on the circuit: $(cat "$S/last.out")"
		expect_exit 0 flow tick f
		events
		pa "the due retry does not start while the circuit is open" 'len(of("attempt_started")) == 1'
	fi
	wait_past_ms "$due"
	expect_exit 0 flow tick f
	events
	pa "circuit_half_opened, then retry->running, retry_context_assembled, attempt_started, runtime_started" \
		'[e["type"] for e in EV if e["seq"] >= one("circuit_half_opened")["seq"]][:5] == ["circuit_half_opened", "task_state_changed", "retry_context_assembled", "attempt_started", "runtime_started"]'
	pa "the probe succeeded and closed the circuit" 'len(of("circuit_closed")) == 1 and len(of("flow_completed")) == 1'
	verify
	end
}

# ---- 7. on_exhausted escalate ----------------------------------------------------------

scenario_escalate()
{
	begin "7 on_exhausted escalate, then task retry --reset-count"
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
	events
	pa "task_escalated event, after verifying->failed->escalated" \
		'len(of("task_escalated")) == 1 and states()[-2:] == [("verifying", "failed"), ("failed", "escalated")]'
	expect_exit 4 task retry fix
	grep -q "retry limit exceeded: 1 of 1 attempts used; pass --reset-count" "$S/last.err" ||
		fail "task retry message: $(cat "$S/last.err")"
	expect_exit 0 task retry fix --reset-count
	events
	pa "escalated -> pending" "('escalated', 'pending') in states()"
	expect_exit 0 flow tick f
	task_json fix
	pa "attempt 2 (with the context) succeeds" 'J("task.json")["state"] == "success" and J("task.json")["attempts"] == 2'
	events
	pa "attempt 2 got a retry context" 'len(of("retry_context_assembled")) == 1 and P(one("retry_context_assembled"))["attempt_number"] == 2'
	flow_json f
	pa "flow completed" 'J("flow.json")["flow"]["state"] == "completed"'
	verify
	end
}

# ---- 8. runtime_unavailable -----------------------------------------------------------

scenario_unavailable()
{
	begin "8 runtime_unavailable is never retried"
	echo x >"$R/README"
	mkrepo
	flowspec f '[{"key": "fix", "title": "Run a missing agent",
	  "runtime": {"command": ["./no-such-agent"]},
	  "retry": {"max_attempts": 3, "retry_on": ["check_failed", "runtime_failed", "timeout", "crashed"]}}]'
	create_start f
	expect_exit 1 flow tick f
	events
	pa "one attempt, runtime_unavailable, no retry" \
		'[P(e)["outcome"] for e in of("attempt_completed")] == ["runtime_unavailable"] and not of("task_retry_scheduled")'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed"'
	flow_json f
	pa "flow failed" 'J("flow.json")["flow"]["state"] == "failed"'
	verify
	end
}

# ---- 9. mode continue vs clean --------------------------------------------------------

mode_scenario()
{
	# mode_scenario NAME MODE
	begin "$1"
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
	  \"retry\": {\"max_attempts\": 2, \"mode\": \"$2\"}}]"
	create_start f
	expect_exit 1 flow tick f
}

scenario_modes()
{
	mode_scenario "9a mode continue keeps attempt 1's change" continue
	expect_exit 0 flow tick f
	pa "attempt 2 started with attempt 1's line" 'T(O + "/lines-before-1").strip() == "0" and T(O + "/lines-before-2").strip() == "1"'
	task_json fix
	pa "task succeeded" 'J("task.json")["state"] == "success"'
	events
	pa "attempt 2 started from attempt 1's checkpoint" \
		'P([e for e in of("attempt_started") if P(e)["attempt_number"] == 2][0])["base_commit"] == P(of("changes_recorded")[0])["commit"] != P(of("changes_recorded")[0])["start_commit"]'
	verify
	end

	mode_scenario "9b mode clean resets to the task's base" clean
	expect_exit 1 flow tick f
	pa "attempt 2 started without attempt 1's line" 'T(O + "/lines-before-1").strip() == "0" and T(O + "/lines-before-2").strip() == "0"'
	task_json fix
	pa "task failed" 'J("task.json")["state"] == "failed"'
	events
	pa "both attempts started from the same base commit" \
		'len(set(P(e)["base_commit"] for e in of("attempt_started"))) == 1'
	verify
	end
}

scenario_retry_mode()
{
	mode_scenario "9c task retry --mode continue overrides a clean policy" clean
	expect_exit 1 flow tick f
	expect_exit 2 task retry fix --mode sideways
	expect_exit 0 task retry fix --reset-count --mode continue
	expect_exit 0 flow tick f
	pa "attempt 3 started with attempt 2's line" 'T(O + "/lines-before-3").strip() == "1"'
	task_json fix
	pa "task succeeded" 'J("task.json")["state"] == "success"'
	events
	pa "task_retry_requested records the mode" \
		'P(one("task_retry_requested"))["mode"] == "continue" and P(one("task_retry_requested"))["reset_count"] is True'
	verify
	end
}

# ---- 10. crash recovery ------------------------------------------------------------

scenario_crash()
{
	begin "10 a runner that dies mid-attempt: next tick records crashed and retries"
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
	"$HIVE_BIN" --dir "$D" flow tick f >"$S/tick1.out" 2>&1 &
	local runner=$! i apid=""
	# wait (bounded) until the runtime is recorded as started and is running
	for i in $(seq 1 600); do
		if [ -s "$O/agent-1.pid" ] &&
			"$HIVE_BIN" --dir "$D" --json events list --type runtime_started 2>/dev/null | grep -q pgid; then
			apid=$(cat "$O/agent-1.pid")
			break
		fi
		python3 -c 'import time; time.sleep(0.05)'
	done
	[ -n "$apid" ] || fail "attempt 1 never started"
	[ -n "$apid" ] && CLEANUP_PIDS="$CLEANUP_PIDS $apid"
	kill -KILL "$runner" 2>/dev/null
	wait "$runner" 2>/dev/null
	task_json fix
	pa "the dead runner left the task running" 'J("task.json")["state"] == "running"'
	expect_exit 1 flow tick f
	grep -q "crashed" "$S/last.out" || fail "tick does not report the crash: $(cat "$S/last.out")"
	[ -n "$apid" ] && wait_dead "$apid" "the runtime the dead runner left behind"
	events
	pa "attempt_crashed{killed}, outcome crashed, retry scheduled" \
		'P(one("attempt_crashed"))["killed"] is True and P(of("attempt_completed")[0])["outcome"] == "crashed" and P(one("task_retry_scheduled"))["outcome"] == "crashed"'
	pa "attempt 2 got a context about the crash and succeeded" \
		'"### Attempt 1 failed: crashed" in P(one("retry_context_assembled"))["context"] and P(of("attempt_completed")[-1])["outcome"] == "success"'
	verify
	end
}

# ---- run -----------------------------------------------------------------------------

scenario_core_loop
scenario_excerpt
scenario_budget
scenario_dependants
scenario_aborted_flow
scenario_budgets
scenario_verdicts
scenario_backoff
scenario_circuit
scenario_circuit_retry
scenario_escalate
scenario_unavailable
scenario_modes
scenario_retry_mode
scenario_crash

echo "# test_retry.sh took $(($(date +%s) - T0))s"
echo "retry: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
