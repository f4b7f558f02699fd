#!/bin/bash
# test_flow_output.sh - what a person sees around a flow (issue 11):
# `flow create --dry-run` checks a spec and writes nothing; a spec whose
# repo is wrong is refused naming the field and the file; `flow run`
# narrates in plain lines off a terminal (the failing check named, waits
# relative, a summary) and draws a live status block on one (tested
# through a pseudo-terminal with script(1)).
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_flow_output.sh
source "$(dirname "$0")/lib.sh"

# spec NAME [REPO]: $S/NAME.json, a flow NAME of two tasks over REPO (default "repo").
spec() {
	cat >"$S/$1.json" <<JSON
{"name": "$1", "project": {"name": "webapp", "repo": "${2:-repo}"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "fix", "title": "Fix it", "checks": [{"name": "unit", "command": "./check.sh"}]},
           {"key": "docs", "title": "Document it", "depends_on": ["fix"]}]}
JSON
}

# the log's bytes, for "nothing was written"
log_digest() { cat "$HIVE_DIR/data.mdb" 2>/dev/null | sha256sum; }

test_dry_run_without_a_store_creates_nothing() {
	sandbox
	echo x >"$R/f"
	mkrepo
	spec f
	expect_exit 0 flow create --file "$S/f.json" --dry-run
	assert_contains "$OUT" "nothing was written"
	assert_contains "$OUT" "would create flow f in the new project webapp with 2 tasks"
	assert_contains "$OUT" "check unit: ./check.sh"
	assert_contains "$OUT" "after fix"
	[ ! -e "$HIVE_DIR" ] || fail "--dry-run created the data dir"
}

test_dry_run_checks_against_the_store_and_writes_nothing() {
	sandbox
	echo x >"$R/f"
	mkrepo
	spec f
	expect_exit 0 flow create --file "$S/f.json"
	local before n_before
	before=$(log_digest)
	n_before=$("$HIVE_BIN" events list | wc -l)
	# the name is taken: the same refusal as the real create, nothing written
	expect_exit 4 flow create --file "$S/f.json" --dry-run
	assert_contains "$ERR" 'flow named "f" already exists'
	# a new flow in the existing project
	spec g
	expect_exit 0 flow create --file "$S/g.json" --dry-run
	assert_contains "$OUT" "would create flow g in the existing project webapp"
	expect_exit 0 flow create --file "$S/g.json" --dry-run --json
	assert_eq "$(json_py 'd["dry_run"], d["project_new"], d["store_checked"], d["spec"]["name"]')" \
		"(True, False, True, 'g')" "dry-run JSON"
	assert_eq "$(log_digest)" "$before" "data.mdb after --dry-run"
	assert_eq "$("$HIVE_BIN" events list | wc -l)" "$n_before" "events after --dry-run"
	expect_exit 3 flow status g
	# --dry-run is for a spec
	expect_exit 2 flow create webapp --task f/fix --dry-run
	assert_contains "$ERR" "--dry-run checks a spec"
}

test_repo_that_is_not_a_git_repository_names_the_field_and_file() {
	sandbox
	mkdir -p "$S/specs/plain"
	spec f plain
	mv "$S/f.json" "$S/specs/f.json"
	expect_exit 2 flow create --file "$S/specs/f.json"
	assert_contains "$ERR" "$S/specs/f.json: project.repo: not a git repository: $S/specs/plain"
	assert_contains "$ERR" "taken from the spec file's directory"
	expect_exit 2 flow create --file "$S/specs/f.json" --dry-run
	assert_contains "$ERR" "project.repo: not a git repository"
	[ ! -e "$HIVE_DIR/data.mdb" ] || [ "$("$HIVE_BIN" events list | wc -l)" = 0 ] || fail "events written"
}

# A flow "f": task fix's runtime sleeps $1 s and its check "unit" sleeps
# $2 s and fails on attempt 1; retry after a 2 s backoff.
slow_flow() {
	sandbox
	script agent.sh <<SH
#!/bin/sh
cat >/dev/null
sleep $1
echo "\$HIVE_ATTEMPT_NUMBER" > attempt.txt
SH
	script check.sh <<SH
#!/bin/sh
sleep $2
[ "\$(cat attempt.txt)" -ge 2 ] || { echo "FAIL: first attempt"; exit 1; }
SH
	mkrepo
	cat >"$S/f.json" <<'JSON'
{"name": "f", "project": {"name": "webapp", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "fix", "title": "Fix it", "checks": [{"name": "unit", "command": "./check.sh"}],
            "retry": {"max_attempts": 3, "backoff": {"initial": "2s"}}}]}
JSON
	expect_exit 0 flow create --file "$S/f.json"
	expect_exit 0 flow start f
}

test_plain_progress_names_the_check_waits_relative_and_sums_up() {
	slow_flow 0 0
	expect_exit 0 flow run f
	assert_contains "$OUT" "task fix: attempt 1 of 3 started"
	assert_contains "$OUT" "task fix: attempt 1 ended check_failed (check unit failed, exit 1) after "
	assert_contains "$OUT" "waiting: retry of fix in 2s"
	assert_contains "$OUT" "task fix: attempt 2 ended success after "
	assert_contains "$OUT" "summary: flow f is completed after "
	assert_contains "$OUT" "tasks: 1 success; 2 attempts started, 1 failed"
	! grep -q "waiting until\|T[0-9][0-9]:[0-9][0-9]:" "$OUT" || fail "an absolute time in flow run's output: $(cat "$OUT")"
	! grep -q $'\033' "$OUT" || fail "escape sequences off a terminal"
}

test_plain_progress_says_what_an_open_circuit_holds() {
	sandbox
	script agent.sh <<'SH'
#!/bin/sh
cat >/dev/null
[ "$HIVE_ATTEMPT_NUMBER" -ge 2 ] || exit 3
SH
	mkrepo
	cat >"$S/c.json" <<'JSON'
{"name": "c", "project": {"name": "webapp", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]},
              "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "2s"}},
 "tasks": [{"key": "fix", "title": "Fix it", "retry": {"max_attempts": 3}}]}
JSON
	expect_exit 0 flow create --file "$S/c.json"
	expect_exit 0 flow start c
	expect_exit 0 flow run c
	assert_contains "$OUT" "task fix: attempt 1 ended runtime_failed"
	grep -Eq "^waiting: circuit .*open for [12]s more$" "$OUT" || fail "no circuit wait line: $(cat "$OUT")"
	assert_contains "$OUT" "summary: flow c is completed"
}

# run_tty FILE ARGS...: hive ARGS in a pseudo-terminal (script(1)), what
# the terminal got in FILE.  (lib.sh's `script` writes repo files: the
# util-linux one is `command script`.)
run_tty() {
	local file=$1
	shift
	RC=0
	TERM=xterm command script -qfec "$(printf '%q ' "$HIVE_BIN" "$@")" /dev/null </dev/null >"$file" 2>&1 || RC=$?
	san_check "$file"
}

test_live_progress_on_a_terminal_shows_step_and_elapsed_time() {
	command -v script >/dev/null || fail "script(1) (util-linux/bsdutils) is needed for the terminal test"
	slow_flow 2 2
	run_tty "$T/tty.out" flow run f
	assert_eq "$RC" 0 "flow run's exit in a terminal"
	# the block: the running attempt, its step, its elapsed time, redrawn in place
	grep -aEq "fix +.*attempt 1/3 +runtime +[0-9.]+m?s" "$T/tty.out" || fail "no live 'runtime' line: $(cat -v "$T/tty.out" | head -20)"
	grep -aEq "fix +.*attempt 1/3 +check unit +[0-9.]+m?s" "$T/tty.out" || fail "no live 'check unit' line: $(cat -v "$T/tty.out" | head -20)"
	grep -aq $'\033\[2K' "$T/tty.out" || fail "the block is never erased (no ESC[2K)"
	grep -aEq "waiting: retry of fix in [12]s" "$T/tty.out" || fail "no wait countdown: $(cat -v "$T/tty.out" | head -20)"
	# the scrolling lines are the plain ones
	grep -aq "task fix: attempt 1 ended check_failed (check unit failed, exit 1)" "$T/tty.out" || fail "no ended line"
	grep -aq "summary: flow f is completed" "$T/tty.out" || fail "no summary"
}

test_dumb_terminal_and_json_get_no_live_block() {
	slow_flow 1 0
	RC=0
	TERM=dumb command script -qfec "$(printf '%q ' "$HIVE_BIN" flow run f)" /dev/null </dev/null >"$T/dumb.out" 2>&1 || RC=$?
	assert_eq "$RC" 0 "flow run on TERM=dumb"
	! grep -aq $'\033' "$T/dumb.out" || fail "escape sequences on TERM=dumb: $(cat -v "$T/dumb.out")"
	grep -aq "summary: flow f is completed" "$T/dumb.out" || fail "no summary on TERM=dumb"
}

run_tests "$@"
