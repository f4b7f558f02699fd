#!/bin/bash
# shellcheck disable=SC2016 # agent and check scripts are single-quoted on purpose
# test_regressions.sh - one test per bug that review found and that is now
# fixed; each asserts the fixed behaviour, so it fails on the code before
# the fix.  Real git repos, real processes (shell scripts as runtimes and
# checks); processes synchronise through marker files polled with a bound
# (wait_until), never through sleeps; nothing asserts a duration.  Every
# test ends with `hive events verify`.
source "$(dirname "$0")/lib.sh"

# ---- helpers -----------------------------------------------------------------

# lib.sh fails a test on a sanitizer report (san_check, run by run_hive).

# mkrepo: a git repo in $T/repo holding whatever is already in it (an
# agent.sh written before, a file x, ...), plus a README.
mkrepo() {
	mkdir -p "$T/repo" "$T/out"
	echo "regression test" >"$T/repo/README"
	git -C "$T/repo" init -q
	git -C "$T/repo" add -A
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm init
}

# agent BODY: $T/repo/agent.sh, a /bin/sh script (call before mkrepo).
agent() {
	mkdir -p "$T/repo"
	printf '#!/bin/sh\n%s\n' "$1" >"$T/repo/agent.sh"
	chmod +x "$T/repo/agent.sh"
}

# spec NAME TASKS_JSON [EXTRA_DEFAULTS_JSON_MEMBERS]: $T/spec.json for
# project p on $T/repo; the default runtime is ./agent.sh with OUT=$T/out
# and a timeout of $RT_TIMEOUT (60s unless set).
spec() {
	cat >"$T/spec.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "${RT_TIMEOUT:-60s}",
                          "env": {"OUT": "$T/out"}}${3:+, $3}},
 "tasks": $2}
EOF
}

# flow_from_spec NAME TASKS_JSON [EXTRA]: create and start it.
flow_from_spec() {
	spec "$@"
	expect_exit 0 flow create --file "$T/spec.json"
	expect_exit 0 flow start "$1"
}

# A process runs (a zombie counts as gone: nothing reaps orphans here).
alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# The process group of a running process.
pgid_of() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || fail "process $1 is not running"
	s=${s##*) }
	s=${s#* * } # drop state and ppid
	echo "${s%% *}"
}
gone() { ! alive "$1"; }

# Some process of group PGID is not a zombie.
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}
group_gone() { ! group_alive "$1"; }

# wait_exit PID SECONDS: a background child exits within the bound (a
# hang guard); its exit status in $WRC.
wait_exit() {
	wait_until "$2" gone "$1" || fail "process $1 still running after $2 s"
	WRC=0
	wait "$1" 2>/dev/null || WRC=$?
}

# expect_exit_to SECONDS CODE ARGS...: expect_exit under a timeout, for a
# command that would hang on the broken code.
expect_exit_to() {
	local secs=$1 want=$2
	shift 2
	RC=0
	_LAST_ARGS=" $* "
	timeout -k 2 "$secs" "$HIVE_BIN" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
	san_check "$ERR"
	[ "$RC" = "$want" ] || fail "hive $* exited $RC (124 = timed out after $secs s), expected $want
      stdout: $(tail -c 600 "$OUT")
      stderr: $(tail -c 600 "$ERR")"
}

# pyq FILE EXPR: evaluate a python expression over FILE, where `d` is the
# one JSON document in it, or `evs` the list of its NDJSON lines.
pyq() {
	python3 - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
try:
    d = json.loads(text)
except ValueError:
    d = None
try:
    evs = [json.loads(l) for l in text.splitlines() if l.strip()]
except ValueError:
    evs = []
r = eval(sys.argv[2])
print(json.dumps(r) if not isinstance(r, str) else r)
PY
}

# The events of task TASK (NDJSON) into $T/ev.
task_events() {
	expect_exit 0 --json events list --task "$1"
	cp "$OUT" "$T/ev"
}

# task_field TASK FIELD: a field of `task show --json`.
task_field() {
	expect_exit 0 --json task show "$1"
	pyq "$OUT" "d.get('$2')"
}

# The closing check of every test: the log, its indexes and projections
# agree; no background runner reported a sanitizer error.
verify() {
	expect_exit 0 events verify
	san_check "$T"/*.err
}

# ---- 1. flow abort kills a running runtime -----------------------------------

test_flow_abort_kills_running_runtime() {
	agent 'echo $$ > "$OUT/pid"; sleep 300'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a"}]'
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err"
	local runner=$BG_PID
	wait_until 20 test -s "$T/out/pid" || fail "the agent never started: $(cat "$T/run.err")"
	local pid pgid
	pid=$(cat "$T/out/pid")
	pgid=$(pgid_of "$pid")
	[ "$pgid" -gt 1 ] || fail "no process group for agent $pid"
	expect_exit 0 flow abort f
	wait_until 10 gone "$pid" || fail "agent $pid still runs after flow abort"
	wait_until 10 group_gone "$pgid" || fail "agent's group $pgid (its sleep) still runs after flow abort"
	wait_exit "$runner" 10
	assert_eq "$WRC" 4 "flow run exit status after flow abort"
	assert_contains "$T/run.err" "aborted"
	task_events f/a
	assert_eq "$(pyq "$T/ev" "[e['payload']['outcome'] for e in evs if e['type'] == 'attempt_completed']")" '["aborted"]' \
		"attempt outcomes"
	verify
}

# ---- 2. task abort during a check kills it; no check event after ---------------

test_task_abort_during_check_kills_it() {
	agent 'exit 0'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a", "checks": [
		{"name": "slow", "command": "echo $$ > '"$T"'/out/cpid; exec sleep 300", "timeout": "2m"},
		{"name": "second", "command": "touch '"$T"'/out/second_ran"}]}]'
	bg_start "$HIVE_BIN" flow tick f >"$T/tick.out" 2>"$T/tick.err"
	local runner=$BG_PID
	wait_until 20 test -s "$T/out/cpid" || fail "the check never started: $(cat "$T/tick.err")"
	local cpid
	cpid=$(cat "$T/out/cpid")
	expect_exit 0 task abort f/a
	wait_until 10 gone "$cpid" || fail "check $cpid still runs after task abort"
	wait_exit "$runner" 10
	assert_eq "$WRC" 0 "flow tick exit status (an abort is not the work failing)"
	# the runner is gone; nothing may run the second check any more
	wait_until 1 test -e "$T/out/second_ran" && fail "the second check ran after the abort"
	task_events f/a
	local after
	after=$(pyq "$T/ev" "[e['type'] for e in evs[[i for i, e in enumerate(evs) if e['type'] == 'attempt_completed'][0]:]]")
	assert_contains "$after" '"attempt_completed"'
	assert_eq "$(pyq "$T/ev" "[e['payload']['outcome'] for e in evs if e['type'] == 'attempt_completed']")" '["aborted"]' \
		"attempt outcomes"
	assert_not_contains "$after" check_started
	assert_not_contains "$after" check_completed
	verify
}

# ---- 3. an aborted half-open probe does not wedge the runtime's circuit --------

test_aborted_circuit_probe_does_not_wedge() {
	# b shares a's runtime (so its circuit: SPEC 12 keys it on adapter +
	# command + model, not env) and succeeds
	agent '[ "${ROLE:-}" = b ] && exit 0
case $HIVE_ATTEMPT_NUMBER in
1) exit 1 ;;
2) echo $$ > "$OUT/probe.pid"; exec sleep 300 ;;
esac
exit 0'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a"},
		{"key": "b", "title": "b", "runtime": {"env": {"ROLE": "b"}}}]' \
		'"retry": {"max_attempts": 3}, "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "300ms"}'
	expect_exit 1 flow tick f # a fails once: the circuit opens
	expect_exit 0 --json events list --type circuit_opened
	local opened due
	opened=$(pyq "$OUT" "evs[0]['payload']['opened_at_ms'] + evs[0]['payload']['reset_timeout_ms']")
	expect_exit 0 --json events list --type task_retry_scheduled
	due=$(pyq "$OUT" "evs[0]['payload']['not_before_ms']")
	[ "$due" -gt "$opened" ] || due=$opened
	# hive's own deadlines (circuit reset, backoff) have passed
	wait_until 10 bash -c "[ \$(date +%s%3N) -gt $due ]" || fail "clock never passed $due"
	bg_start "$HIVE_BIN" flow tick f >"$T/tick.out" 2>"$T/tick.err"
	local runner=$BG_PID
	wait_until 20 test -s "$T/out/probe.pid" || fail "a's retry never started as the probe: $(cat "$T/tick.err")"
	expect_exit 0 task abort f/a
	wait_until 10 gone "$(cat "$T/out/probe.pid")" || fail "the aborted probe still runs"
	wait_exit "$runner" 10
	# b runs as the next probe; the flow ends (failed: a was aborted)
	expect_exit_to 20 1 flow run f
	assert_eq "$(task_field f/b state)" success "b's state"
	assert_eq "$(task_field f/a state)" aborted "a's state"
	expect_exit 0 --json attempt list --task f/a
	local a2
	a2=$(pyq "$OUT" "[x['id'] for x in d['attempts'] if x['attempt_number'] == 2][0]")
	expect_exit 0 --json attempt list --task f/b
	local b1
	b1=$(pyq "$OUT" "d['attempts'][0]['id']")
	expect_exit 0 --json events list --type circuit_half_opened
	assert_lines "$OUT" 2
	assert_eq "$(pyq "$OUT" "[e['payload'].get('probe_attempt') for e in evs]")" "[\"$a2\", \"$b1\"]" \
		"circuit_half_opened probe attempts (a's retry, then b)"
	expect_exit 0 --json events list --type circuit_closed
	assert_lines "$OUT" 1
	verify
}

# ---- 4. a dependency outside the flow that has not succeeded is refused -------

# task create without --runtime-command says which flag to give (it is
# required: usage marks it so, SPEC section 12) and writes nothing.
test_task_create_needs_a_runtime_command() {
	mkrepo
	expect_exit 0 project create p --repo "$T/repo"
	expect_exit 3 task create nosuch A --runtime-command true
	expect_exit 0 --json events list
	cp "$OUT" "$T/log.before"
	expect_exit 2 task create p A
	expect_stderr_line "task create: --runtime-command CMD is required"
	expect_exit 0 task create --help
	assert_contains "$OUT" " --runtime-command CMD [--max-attempts N]"
	expect_exit 0 --json events list
	cmp -s "$T/log.before" "$OUT" || fail "the refused task create changed the log"
	verify
}

test_flow_create_refuses_outside_dependency() {
	mkrepo
	expect_exit 0 project create p --repo "$T/repo"
	expect_exit 0 task create p A --key a --runtime-command true
	expect_exit 0 task create p B --key b --depends-on a --runtime-command true
	expect_exit 0 --json events list
	cp "$OUT" "$T/log.before"
	expect_exit 2 flow create p --name only-b --task b
	expect_stderr_line "not in this flow"
	expect_exit 0 --json events list
	cmp -s "$T/log.before" "$OUT" || fail "the refused flow create changed the log"
	expect_exit 3 flow status only-b
	verify
}

# ---- 5. a task moved to a new flow starts from the new flow's base -----------

# A task that already succeeded keeps its result when it joins a new flow:
# it does not run again, and its dependants build on what it made.
test_succeeded_task_keeps_its_result_in_a_new_flow() {
	mkrepo
	expect_exit 0 project create p --repo "$T/repo"
	expect_exit 0 task create p A --key a --runtime-command 'echo from-a > a.txt'
	expect_exit 0 task create p B --key b --depends-on a --runtime-command true \
		--check 'has_a=test -f a.txt' --max-attempts 1
	expect_exit 0 flow create p --name f1 --task a
	expect_exit 0 flow start f1
	expect_exit 0 flow run f1
	expect_exit 0 flow create p --name f2 --task a --task b
	expect_exit 0 flow start f2
	expect_exit 0 flow run f2
	expect_exit 0 --json flow status f2
	assert_contains "$OUT" '"state":"completed"'
	verify
}

test_task_in_new_flow_starts_from_new_base() {
	mkdir -p "$T/repo"
	echo v1 >"$T/repo/x"
	mkrepo
	expect_exit 0 project create p --repo "$T/repo"
	expect_exit 0 task create p A --key a --runtime-command "cat x > $T/seen; test -f ok" --max-attempts 1
	expect_exit 0 flow create p --name fa --task a
	expect_exit 0 flow start fa
	expect_exit 1 flow tick fa
	assert_eq "$(cat "$T/seen")" v1 "what the first flow's attempt saw"
	expect_exit 0 flow abort fa
	echo v2 >"$T/repo/x"
	touch "$T/repo/ok"
	git -C "$T/repo" add -A
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm v2
	local head
	head=$(git -C "$T/repo" rev-parse HEAD)
	expect_exit 0 flow create p --name fb --task a
	expect_exit 0 flow start fb # a joined fb pending, with a fresh budget (SPEC 12)
	expect_exit 0 flow tick fb
	assert_eq "$(cat "$T/seen")" v2 "what the new flow's attempt saw"
	assert_eq "$(task_field fb/a state)" success "a's state"
	expect_exit 0 --json attempt inspect 'fb/a#2'
	assert_eq "$(pyq "$OUT" "d['base_commit']")" "$head" \
		"base commit of the attempt in the new flow"
	verify
}

# ---- 6. a stale index.lock in a task's worktree does not fail the task -------

test_stale_index_lock_does_not_fail_task() {
	agent '[ "$HIVE_ATTEMPT_NUMBER" = 1 ] && exit 1
exit 0'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a"}]'
	expect_exit 1 flow tick f
	local n=0 d
	for d in "$T"/repo/.git/worktrees/*/; do
		[ -d "$d" ] || continue
		touch "$d/index.lock" # what a runner SIGKILLed inside git_index_write leaves
		n=$((n + 1))
	done
	[ "$n" -ge 1 ] || fail "no worktree under $T/repo/.git/worktrees"
	expect_exit 0 flow tick f
	assert_eq "$(task_field f/a attempts)" 2 "attempts"
	assert_eq "$(task_field f/a state)" success "a's state"
	expect_exit 0 --json attempt list --task f/a
	assert_eq "$(pyq "$OUT" "[x.get('outcome') for x in sorted(d['attempts'], key=lambda x: x['attempt_number'])]")" \
		'["runtime_failed", "success"]' "attempt outcomes"
	verify
}

# ---- 7. flow run goes on after a task fails at prepare -----------------------

test_flow_run_continues_after_prepare_failure() {
	mkdir -p "$T/repo"
	echo base >"$T/repo/f.txt"
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a", "runtime": {"adapter": "exec", "command": ["sh", "-c", "echo A > f.txt"]}},
		{"key": "b", "title": "b", "runtime": {"adapter": "exec", "command": ["sh", "-c", "echo B > f.txt"]}},
		{"key": "c", "title": "c", "depends_on": ["a", "b"], "runtime": {"adapter": "exec", "command": ["true"]}},
		{"key": "d", "title": "d", "runtime": {"adapter": "exec", "command": ["true"]}}]'
	expect_exit_to 30 1 flow run f
	assert_contains "$ERR" "failed"
	assert_eq "$(task_field f/c state)" failed "c's state (its dependencies conflict)"
	assert_contains "$(task_field f/c reason)" "merge conflict"
	assert_eq "$(task_field f/d state)" success "d's state"
	assert_eq "$(task_field f/a state)" success "a's state"
	assert_eq "$(task_field f/b state)" success "b's state"
	expect_exit 0 --json flow status f
	assert_contains "$OUT" '"failed"'
	verify
}

# ---- 8. SIGINT during a check: interrupted (SPEC 12), not check_failed; a later run completes

test_sigint_during_check_ends_interrupted() {
	agent 'exit 0'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a", "checks": [{"name": "gate",
		"command": "if [ -f '"$T"'/pass ]; then exit 0; fi; echo $$ > '"$T"'/out/cpid; exec sleep 300"}]}]'
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err"
	local runner=$BG_PID
	wait_until 20 test -s "$T/out/cpid" || fail "the check never started: $(cat "$T/run.err")"
	local cpid
	cpid=$(cat "$T/out/cpid")
	kill -INT "$runner"
	wait_exit "$runner" 15
	assert_eq "$WRC" 130 "flow run exit status after SIGINT (128 + 2)"
	wait_until 10 gone "$cpid" || fail "check $cpid still runs after the runner stopped"
	task_events f/a
	assert_eq "$(pyq "$T/ev" "[e['payload']['outcome'] for e in evs if e['type'] == 'attempt_completed']")" '["interrupted"]' \
		"outcome of the interrupted attempt"
	assert_eq "$(pyq "$T/ev" "[e['payload'].get('cancelled') for e in evs if e['type'] == 'check_completed']")" '[true]' \
		"check_completed cancelled"
	local st
	st=$(task_field f/a state)
	case $st in retry | pending | ready) ;; *) fail "a's state after SIGINT is $st, expected retry" ;; esac
	touch "$T/pass"
	expect_exit_to 30 0 flow run f
	assert_eq "$(task_field f/a state)" success "a's state after the second run"
	assert_eq "$(task_field f/a attempts)" 2 "attempts"
	verify
}

# ---- 9. one JSON document from inspect --context/--diff and --version --------

test_json_single_documents() {
	agent 'echo changed >> README'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a"}]'
	expect_exit 0 flow tick f
	expect_exit 0 --json attempt list --task f/a
	local id
	id=$(pyq "$OUT" "d['attempts'][0]['id']")
	expect_exit 0 attempt inspect "$id" --context --json
	assert_eq "$(pyq "$OUT" "isinstance(d, dict) and 'context' in d and d['context'] is None")" true \
		"--context --json of a first attempt is one object with context null: $(head -c 300 "$OUT")"
	expect_exit 0 attempt inspect "$id" --diff --json
	assert_eq "$(pyq "$OUT" "isinstance(d, dict) and isinstance(d.get('diff'), str)")" true \
		"--diff --json is one object with a diff string: $(head -c 300 "$OUT")"
	assert_contains "$(pyq "$OUT" "d['diff']")" "+changed"
	expect_exit 0 --version --json
	assert_eq "$(pyq "$OUT" "isinstance(d, dict) and list(d) == ['schema', 'version'] and isinstance(d['version'], str)")" true \
		"--version --json: $(head -c 300 "$OUT")"
	verify
}

# ---- 10. demo twice in one data dir -------------------------------------------

test_demo_twice_in_one_dir() {
	expect_exit 0 --dir "$T/demo" demo
	expect_exit 0 --dir "$T/demo" demo
	expect_exit 0 --dir "$T/demo" --json flow list
	assert_eq "$(pyq "$OUT" "sorted(f['name'] for f in d['flows'])")" '["demo-fix-add", "demo-fix-add-2"]' "demo flows"
	assert_eq "$(pyq "$OUT" "[f['state'] for f in d['flows']]")" '["completed", "completed"]' "demo flow states"
	expect_exit 0 --dir "$T/demo" events verify
}

# ---- 11. flow run on a paused flow --------------------------------------------

test_flow_run_paused_exits_4() {
	agent 'exit 0'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a"}]'
	expect_exit 0 flow pause f
	expect_exit_to 10 4 flow run f
	expect_stderr_line "paused"
	assert_eq "$(task_field f/a attempts)" 0 "attempts of a paused flow"
	verify
}

# ---- 12. task retry records the effective mode --------------------------------

test_task_retry_records_mode() {
	agent 'exit 1'
	mkrepo
	flow_from_spec f '[{"key": "a", "title": "a"}]' '"retry": {"max_attempts": 1}'
	expect_exit 1 flow tick f
	assert_eq "$(task_field f/a state)" failed "a's state"
	expect_exit 0 task retry f/a --reset-count
	expect_exit 0 --json events list --type task_retry_requested
	assert_lines "$OUT" 1
	assert_eq "$(pyq "$OUT" "evs[0]['payload'].get('mode')")" clean "task_retry_requested mode"
	verify
}

# ---- 13. a spec naming an existing project with another repo is refused -------

test_spec_project_repo_mismatch_refused() {
	mkrepo
	mkdir -p "$T/other"
	git -C "$T/other" init -q
	echo other >"$T/other/README"
	git -C "$T/other" add -A
	git -C "$T/other" -c user.name=t -c user.email=t@t commit -qm other
	expect_exit 0 project create p --repo "$T/other"
	spec f '[{"key": "a", "title": "a"}]'
	expect_exit 0 --json events list
	cp "$OUT" "$T/log.before"
	expect_exit 4 flow create --file "$T/spec.json"
	expect_stderr_line "repo"
	expect_exit 0 --json events list
	cmp -s "$T/log.before" "$OUT" || fail "the refused flow create changed the log"
	verify
}

# ---- 14. HIVE_MAX_ATTEMPTS is stable under budgets ----------------------------

test_max_attempts_stable_under_budgets() {
	# attempt 1 times out, the later ones fail their check
	agent 'echo "$HIVE_ATTEMPT_NUMBER/$HIVE_MAX_ATTEMPTS" >> "$OUT/seen"
[ "$HIVE_ATTEMPT_NUMBER" = 1 ] && exec sleep 300
exit 0'
	mkrepo
	RT_TIMEOUT=500ms
	flow_from_spec f '[{"key": "a", "title": "a", "checks": [{"name": "no", "command": "false"}],
		"retry": {"budgets": [{"on": ["timeout"], "max_attempts": 2}, {"on": ["check_failed"], "max_attempts": 2}]}}]'
	expect_exit_to 40 1 flow run f
	expect_exit 0 --json attempt list --task f/a
	assert_eq "$(pyq "$OUT" "[x.get('outcome') for x in sorted(d['attempts'], key=lambda x: x['attempt_number'])]")" \
		'["timeout", "check_failed", "check_failed"]' "attempt outcomes"
	assert_eq "$(tr '\n' ' ' <"$T/out/seen")" "1/4 2/4 3/4 " "HIVE_ATTEMPT_NUMBER/HIVE_MAX_ATTEMPTS per attempt"
	verify
}

run_tests "$@"
