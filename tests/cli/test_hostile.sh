#!/bin/bash
# shellcheck disable=SC2016 # agent and check scripts are single-quoted on purpose
# test_hostile.sh - hostile runtimes (issue 8): real processes that attack
# hive from inside an attempt (FIFOs planted where hive writes or reads,
# git commands that move branches, floods of output, symlinks in the data
# dir, signals, control characters in names) against real git repos in
# temp dirs.  Each test failed on the code before its fix; commands that
# used to hang run under a timeout (a hang guard, not a timing assertion).
# See docs/reliability.md for the guarantees these tests hold.
source "$(dirname "$0")/lib.sh"

# ---- helpers -----------------------------------------------------------------

# h_run SECONDS CODE ARGS...: run hive under a timeout (124 = it hung) and
# require exit status CODE.
h_run() {
	local secs=$1 want=$2
	shift 2
	RC=0
	_LAST_ARGS=" $* "
	timeout -k 2 "$secs" "$HIVE_BIN" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
	san_check "$ERR"
	[ "$RC" = "$want" ] || fail "hive $* exited $RC (124 = hung for $secs s), expected $want
      stdout: $(tail -c 800 "$OUT")
      stderr: $(tail -c 800 "$ERR")"
}

# h_agent BODY: $T/repo/agent.sh, a /bin/sh script (before h_repo).
h_agent() {
	mkdir -p "$T/repo"
	printf '#!/bin/sh\n%s\n' "$1" >"$T/repo/agent.sh"
	chmod +x "$T/repo/agent.sh"
}

# h_repo: a git repo in $T/repo with what is already there plus a README.
h_repo() {
	mkdir -p "$T/repo"
	echo "hostile test" >"$T/repo/README"
	git -C "$T/repo" init -q -b main
	git -C "$T/repo" add -A
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm init
}

# h_flow NAME CHECKS_JSON [MAX_ATTEMPTS]: create and start flow NAME with one
# task "t" run by ./agent.sh, with the given checks.
h_flow() {
	cat >"$T/spec.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": ${3:-1}}},
 "tasks": [{"key": "t", "title": "hostile", "checks": ${2:-[]}}]}
EOF
	h_run 30 0 flow create --file "$T/spec.json"
	h_run 30 0 flow start "$1"
}

# h_events TYPE: the NDJSON events of that type into $T/ev.
h_events() {
	h_run 30 0 --json events list --type "$1"
	cp "$OUT" "$T/ev"
}

# h_field FILE PATH: a field of the last NDJSON line of FILE.
h_field() {
	tail -n 1 "$1" | json_get - "$2"
}

# The attempt dir of the task's only attempt.
h_attempt_dir() {
	h_events attempt_started
	echo "$HIVE_DIR/attempts/$(h_field "$T/ev" attempt_id)"
}

# ---- item 1: outputs are read from descriptors hive holds -----------------------

# The runtime replaces its stdout.log with a FIFO: hive used to re-open it
# by path after the exit and block in open() for good.
test_fifo_in_place_of_stdout_log_does_not_hang() {
	h_agent 'd=$(dirname "$HIVE_RESULT_FILE")
echo "before the swap"
rm -f "$d/stdout.log" "$d/stderr.log"
mkfifo "$d/stdout.log" "$d/stderr.log"
echo "after the swap"'
	h_repo
	h_flow f '[]'
	h_run 30 0 flow run f
	h_events runtime_exited
	assert_eq "$(h_field "$T/ev" payload.exit_code)" 0 "exit code"
	assert_eq "$(h_field "$T/ev" payload.stdout_bytes)" 31 "stdout bytes read from hive's pipe"
	h_run 30 0 attempt inspect "$(h_field "$T/ev" attempt_id)" --output
	assert_contains "$OUT" "after the swap"
	h_run 30 0 events verify
}

# The runtime plants a FIFO (and a symlink) where the next check's log
# goes: hive used to open it for writing and block, holding the flow lock.
test_fifo_named_like_a_check_log_does_not_hang() {
	h_agent 'd=$(dirname "$HIVE_RESULT_FILE")
mkfifo "$d/check-0-unit.log"
ln -s /etc/passwd "$d/check-1-lint.log"'
	h_repo
	h_flow f '[{"name": "unit", "command": "echo unit-ran"}, {"name": "lint", "command": "echo lint-ran"}]'
	h_run 30 0 flow run f
	h_events check_completed
	assert_eq "$(head -n 1 "$T/ev" | json_get - payload.output_excerpt)" unit-ran
	assert_eq "$(h_field "$T/ev" payload.output_excerpt)" lint-ran
	local d
	d=$(h_attempt_dir)
	[ -f "$d/check-0-unit.log" ] && [ ! -L "$d/check-1-lint.log" ] || fail "the planted files are still there"
	assert_eq "$(cat "$d/check-1-lint.log")" lint-ran
	grep -q '^root:' /etc/passwd || fail "/etc/passwd was overwritten"
	h_run 30 0 events verify
}

# ---- item 6: the real tail and line count of a huge output ----------------------------

test_tail_and_line_count_of_a_20_mb_check_output() {
	h_agent 'true'
	h_repo
	h_flow f '[{"name": "big", "command": "yes 0123456789abcdefghi | head -n 1000000; echo FINAL VERDICT: 3 failed; exit 1"}]'
	h_run 60 1 flow run f
	h_events check_completed
	assert_eq "$(h_field "$T/ev" payload.output_lines)" 1000001 "line count over the whole stream"
	assert_eq "$(h_field "$T/ev" payload.output_bytes)" 20000024 "bytes"
	assert_eq "$(h_field "$T/ev" payload.output_truncated)" true "truncated"
	h_field "$T/ev" payload.output_excerpt | tail -n 1 | grep -q '^FINAL VERDICT: 3 failed$' ||
		fail "the excerpt lost the last line: $(h_field "$T/ev" payload.output_excerpt | tail -n 2)"
	h_run 30 0 attempt inspect "$(h_field "$T/ev" attempt_id)" --output
	grep -q 'FINAL VERDICT: 3 failed' "$OUT" || fail "the stored output lost its tail"
	grep -q 'bytes left out' "$OUT" || fail "the stored output does not say it was cut"
	h_run 30 0 events verify
}

# ---- item 7: logs bounded on disk and in the log ------------------------------------------

test_runtime_output_flood_is_capped_on_disk_and_in_the_log() {
	h_agent 'yes 0123456789abcdefghi | head -c 60000000; echo LAST-LINE'
	h_repo
	h_flow f '[]'
	HIVE_MAX_OUTPUT_BYTES=1M h_run 60 0 flow run f
	local d size
	d=$(h_attempt_dir)
	size=$(stat -c %s "$d/stdout.log")
	[ "$size" -lt 1100000 ] || fail "stdout.log is $size bytes on disk, expected about 1 MiB"
	tail -n 1 "$d/stdout.log" | grep -q '^LAST-LINE$' || fail "stdout.log lost its tail"
	h_events runtime_exited
	assert_eq "$(h_field "$T/ev" payload.stdout_bytes)" 60000010 "bytes"
	assert_eq "$(h_field "$T/ev" payload.stdout_truncated)" true "truncated"
	h_run 30 0 attempt inspect "$(h_field "$T/ev" attempt_id)" --output
	size=$(wc -c <"$OUT")
	[ "$size" -lt 1100000 ] || fail "the stored output is $size bytes"
	h_run 30 0 events verify
}

test_bad_output_limit_is_refused_before_running() {
	h_agent 'touch "$HIVE_WORKTREE/../ran"'
	h_repo
	h_flow f '[]'
	HIVE_MAX_OUTPUT_BYTES=lots h_run 30 2 flow run f
	expect_stderr_line 'HIVE_MAX_OUTPUT_BYTES=lots'
	h_run 30 0 --json events list --type attempt_started
	assert_empty "$OUT"
}

# ---- item 9: no symlink followed, everything private in the data dir -------------------

# The flow's id, from flow_created.
h_flow_id() {
	h_events flow_created
	h_field "$T/ev" flow_id
}

# A symlink planted as the flow's lock file used to make flow run truncate
# and overwrite its target.
test_symlink_planted_as_the_lock_file_is_refused() {
	h_agent 'true'
	h_repo
	h_flow f '[]'
	local id
	id=$(h_flow_id)
	echo precious >"$T/victim"
	mkdir -p "$HIVE_DIR/locks"
	ln -s "$T/victim" "$HIVE_DIR/locks/$id.lock"
	h_run 30 5 flow run f
	expect_stderr_line "locks/$id.lock"
	assert_eq "$(cat "$T/victim")" precious "the symlink's target"
	rm "$HIVE_DIR/locks/$id.lock"
	ln "$T/victim" "$HIVE_DIR/locks/$id.lock" # a hard link: truncating it truncates the victim
	h_run 30 5 flow tick f
	assert_eq "$(cat "$T/victim")" precious "the hard link's other name"
	rm "$HIVE_DIR/locks/$id.lock"
	h_run 30 0 flow run f
	h_run 30 0 events verify
}

# A runtime replaces attempts/ with a symlink: the next attempt must not
# write its prompt and logs through it.
test_symlinked_attempts_dir_is_not_followed() {
	mkdir -p "$T/elsewhere"
	h_agent 'if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
  a=$(dirname "$(dirname "$HIVE_RESULT_FILE")")
  mv "$a" "$a.real" && ln -s '"$T"'/elsewhere "$a"
  exit 1
fi'
	h_repo
	h_flow f '[]' 2
	h_run 30 1 flow run f
	[ -z "$(ls -A "$T/elsewhere")" ] || fail "hive wrote through the symlink: $(ls -R "$T/elsewhere")"
	h_run 30 0 --json task show t
	assert_contains "$OUT" "attempts is a symbolic link"
	h_run 30 0 events verify
}

# A symlinked worktree (the runtime swapped it between attempts) is not
# reset or committed through.
test_symlinked_worktree_is_not_followed() {
	git init -q -b main "$T/other"
	echo mine >"$T/other/keep"
	h_agent 'if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
  cd .. && mv t t.real && ln -s '"$T"'/other t
  exit 1
fi'
	h_repo
	h_flow f '[]' 2
	h_run 30 1 flow run f
	assert_eq "$(cat "$T/other/keep")" mine "file in the symlink's target"
	h_run 30 0 --json task show t
	assert_contains "$OUT" "is a symbolic link"
	h_run 30 0 events verify
}

# The runtime replaces its own attempt dir with a symlink: the next
# check's log must not be created through it.
test_symlinked_attempt_dir_is_not_written_through() {
	mkdir -p "$T/elsewhere"
	h_agent 'a=$(dirname "$HIVE_RESULT_FILE")
mv "$a" "$a.real" && ln -s '"$T"'/elsewhere "$a"'
	h_repo
	h_flow f '[{"name": "unit", "command": "echo unit-ran"}]'
	h_run 30 1 flow run f
	[ -z "$(ls -A "$T/elsewhere")" ] || fail "hive wrote through the symlink: $(ls "$T/elsewhere")"
	h_events check_completed
	assert_eq "$(h_field "$T/ev" payload.passed)" false "passed"
	h_field "$T/ev" payload.error | grep -q 'is a symbolic link' ||
		fail "check_completed.error does not say why: $(tail -n 1 "$T/ev")"
	h_run 30 0 events verify
}

# worktrees/ and a flow's dir in it are private whatever the umask.
test_data_dir_subdirs_are_private_under_umask_000() {
	h_agent 'true'
	h_repo
	h_flow f '[]'
	(umask 000 && h_run 30 0 flow run f) || exit 1
	local d
	for d in worktrees worktrees/f attempts locks; do
		assert_eq "$(stat -c %a "$HIVE_DIR/$d")" 700 "mode of $d"
	done
}

# ---- items 3 and 4: hive's own git failures --------------------------------------------

# The runtime switches its worktree to the user's main: the checkpoint
# used to commit on main (advancing the user's branch, whose checkout
# then showed a staged deletion).  Now main is left alone, the attempt
# ends crashed with the real reason, and the next attempt runs on hive's
# branch again.
test_runtime_switching_to_main_does_not_move_main() {
	h_agent 'if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
  git switch -q --ignore-other-worktrees main
  rm README
fi
echo "attempt $HIVE_ATTEMPT_NUMBER" >work.txt'
	h_repo
	local main_before
	main_before=$(git -C "$T/repo" rev-parse main)
	h_flow f '[]' 2
	h_run 30 0 flow run f
	assert_eq "$(git -C "$T/repo" rev-parse main)" "$main_before" "the user's main"
	assert_eq "$(git -C "$T/repo" status --porcelain)" "" "the user's checkout"
	h_events attempt_crashed
	assert_lines "$T/ev" 1
	h_field "$T/ev" payload.reason | grep -q "is on refs/heads/main, not on hive's branch hive/f/t" ||
		fail "attempt_crashed does not give the real reason: $(h_field "$T/ev" payload.reason)"
	assert_eq "$(h_field "$T/ev" payload.cause)" hive "cause"
	h_events attempt_completed
	assert_eq "$(head -n 1 "$T/ev" | json_get - payload.outcome)" crashed "attempt 1"
	head -n 1 "$T/ev" | json_get - payload.summary | grep -q "not on hive's branch" ||
		fail "the summary lacks the reason"
	h_events retry_context_assembled
	h_field "$T/ev" payload.context | grep -q "not on hive's branch" ||
		fail "the next attempt's context does not say why attempt 1 crashed"
	assert_eq "$(git -C "$T/repo" show hive/f/t:work.txt)" "attempt 2" "hive's branch"
	git -C "$T/repo" show hive/f/t:README >/dev/null 2>&1 || fail "attempt 2 did not start clean"
	h_run 30 0 events verify
}

# A runtime that deletes its worktree: the attempt ends crashed saying
# what hive could not do, not "the runner died during the attempt".
test_deleted_worktree_gives_the_real_reason() {
	h_agent 'rm -rf "$HIVE_WORKTREE"'
	h_repo
	h_flow f '[]'
	h_run 30 1 flow run f
	h_events attempt_crashed
	assert_lines "$T/ev" 1
	local why
	why=$(h_field "$T/ev" payload.reason)
	case $why in "the checkpoint commit failed: "*) ;; *) fail "reason: $why" ;; esac
	assert_not_contains "$why" "runner died"
	h_run 30 0 attempt inspect "$(h_field "$T/ev" attempt_id)"
	assert_contains "$OUT" "the checkpoint commit failed"
	h_run 30 0 events verify
}

# A stale index.lock left by the runtime (killed mid-`git add`) no longer
# fails the checkpoint: the runtime's group is dead, the lock is stale.
test_stale_index_lock_left_by_the_runtime_is_cleared() {
	h_agent 'echo change >work.txt
touch "$(git rev-parse --git-dir)/index.lock"'
	h_repo
	h_flow f '[]'
	h_run 30 0 flow run f
	assert_eq "$(git -C "$T/repo" show hive/f/t:work.txt)" change "committed"
	h_events attempt_crashed
	assert_empty "$T/ev"
	h_run 30 0 events verify
}

# ---- item 10: SIGHUP, SIGTERM, SIGINT end running attempts as interrupted ------------------

# h_signal_run SIG CODE: flow run of a runtime that blocks until $T/go
# exists; send SIG once the runtime runs; flow run must exit CODE, leave
# no runtime behind and record the attempt as interrupted, uncharged: with
# max_attempts 1 the next run still retries it, at once.
h_signal_run() {
	h_agent 'if [ ! -f '"$T"'/go ]; then echo $$ >'"$T"'/rt.pid; exec sleep 300; fi
echo done >work.txt'
	h_repo
	h_flow f '[]' 1
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err"
	local runner=$BG_PID rt
	wait_until 20 test -s "$T/rt.pid" || fail "the runtime never started: $(cat "$T/run.err")"
	rt=$(cat "$T/rt.pid")
	kill_on_exit "$T/rt.pid"
	kill -"$1" "$runner"
	pid_gone "$runner" 15 || fail "flow run still runs after SIG$1"
	local wrc=0
	wait "$runner" || wrc=$?
	assert_eq "$wrc" "$2" "flow run exit status after SIG$1"
	pid_gone "$rt" 10 || fail "the runtime $rt still runs after the runner stopped"
	h_events attempt_completed
	assert_eq "$(h_field "$T/ev" payload.outcome)" interrupted "outcome"
	h_events task_retry_scheduled
	assert_eq "$(h_field "$T/ev" payload.delay_ms)" 0 "delay"
	assert_eq "$(h_field "$T/ev" payload.budget)" null "budget charged"
	touch "$T/go"
	h_run 30 0 flow run f
	h_events attempt_completed
	assert_eq "$(h_field "$T/ev" payload.outcome)" success "the retry after the interruption"
	h_run 30 0 events verify
}

test_sighup_interrupts_and_the_next_run_retries_uncharged() { h_signal_run HUP 129; }
test_sigterm_interrupts_and_the_next_run_retries_uncharged() { h_signal_run TERM 143; }

# ---- item 7: diffs bounded ------------------------------------------------------------------

# A runtime generates a 150 MB text file in its worktree: the diff used to
# be stored whole (150 MB in the log, 650-750 MB of RSS).
test_generated_150_mb_file_is_not_stored_whole() {
	h_agent "yes 'generated line of text 0123456789' | head -c 150000000 > big.txt"
	h_repo
	h_flow f '[]'
	/usr/bin/time -f %M -o "$T/rss" "$HIVE_BIN" flow run f >"$OUT" 2>"$ERR" </dev/null ||
		fail "flow run failed: $(cat "$ERR")"
	h_events changes_recorded
	assert_eq "$(h_field "$T/ev" payload.files_created)" 1 "files created"
	assert_eq "$(h_field "$T/ev" payload.diff_truncated)" false "a binary-size diff needs no cut"
	local size rss
	size=$(stat -c %s "$HIVE_DIR/data.mdb")
	[ "$size" -lt 20000000 ] || fail "data.mdb is $size bytes: the diff was stored whole"
	rss=$(tail -n 1 "$T/rss")
	[ "$rss" -lt 200000 ] || fail "flow run peaked at $rss KB of RSS"
	h_run 30 0 events verify
}

# Many small changed files: the stored patch is cut at HIVE_MAX_DIFF_BYTES
# and says so.
test_diff_over_the_limit_is_cut_and_marked() {
	h_agent 'for i in $(seq 1 200); do seq 1 100 > "f$i.txt"; done'
	h_repo
	h_flow f '[]'
	HIVE_MAX_DIFF_BYTES=64K h_run 60 0 flow run f
	h_events changes_recorded
	assert_eq "$(h_field "$T/ev" payload.diff_truncated)" true "truncated"
	assert_eq "$(h_field "$T/ev" payload.insertions)" 20000 "insertions still counted in full"
	h_run 30 0 attempt inspect "$(h_field "$T/ev" attempt_id)" --diff
	local size
	size=$(wc -c <"$OUT")
	[ "$size" -lt 70000 ] || fail "the stored diff is $size bytes"
	grep -q 'diff cut' "$OUT" || fail "the stored diff does not say it was cut"
}

# ---- item 11: every printed user- or runtime-chosen string is one safe line ------------------

# No raw ESC byte in FILE.
h_no_escape() {
	if grep -q "$(printf '\033')" "$1"; then
		fail "a raw ESC reached the terminal: $(od -c "$1" | head -5)"
	fi
}

test_path_with_a_newline_gives_a_one_line_error() {
	h_run 30 3 flow create --file "$T/no
such.json"
	expect_stderr_line 'no\\nsuch.json'
	h_run 30 3 flow create --file "$T/esc$(printf '\033')[31mred.json"
	expect_stderr_line
	h_no_escape "$ERR"
}

# A title with ESC[31m and a newline: task list and task show print it
# escaped, one line per task.
test_task_title_with_escapes_is_printed_on_one_line() {
	h_agent 'true'
	h_repo
	cat >"$T/spec.json" <<EOF
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "t", "title": "red \u001b[31mALERT\nsecond line\u009b2J"}]}
EOF
	h_run 30 0 flow create --file "$T/spec.json"
	h_run 30 0 task list
	assert_lines "$OUT" 2
	h_no_escape "$OUT"
	assert_contains "$OUT" 'red \e[31mALERT\nsecond line\xc2\x9b2J'
	h_run 30 0 task show t
	h_no_escape "$OUT"
	assert_eq "$(grep -c '^task: ' "$OUT")" 1 "task line"
}

# File names chosen by runtimes reach flow run's progress and flow
# status through a merge conflict: printed escaped, one line each.
test_runtime_file_names_are_printed_escaped() {
	h_agent 'printf "%s\n" "$HIVE_TASK_ID" > "$(printf "x\033[31mRED\nline")"'
	h_repo
	cat >"$T/spec.json" <<EOF
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "a", "title": "a"}, {"key": "b", "title": "b"},
           {"key": "c", "title": "c", "depends_on": ["a", "b"]}]}
EOF
	h_run 30 0 flow create --file "$T/spec.json"
	h_run 30 0 flow start f
	h_run 60 1 flow run f
	h_no_escape "$OUT"
	h_no_escape "$ERR"
	grep -q 'merge conflict in: x\\e\[31mRED\\nline' "$OUT" || fail "no escaped conflict line in: $(cat "$OUT")"
	h_run 30 0 flow status f
	h_no_escape "$OUT"
	assert_lines "$OUT" 8 # 6 + the result lines of a and b
}

# ---- item 12: no data dir made by reading, rejecting or guessing ------------------------------

test_read_only_and_rejected_commands_create_no_data_dir() {
	h_run 30 3 --dir "$T/typo" flow list
	expect_stderr_line "no hive data in $T/typo; check --dir or HIVE_DIR"
	h_run 30 3 --dir "$T/typo" events verify
	h_run 30 2 --dir "$T/typo" flow run
	h_run 30 3 --dir "$T/typo" flow create --file "$T/missing.json"
	[ ! -e "$T/typo" ] || fail "a read-only or rejected command created $T/typo"
	mkdir "$T/plain"
	h_run 30 3 --dir "$T/plain" task list
	[ -z "$(ls -A "$T/plain")" ] || fail "task list made a store in an existing directory: $(ls "$T/plain")"
	h_repo
	h_run 30 0 --dir "$T/new" project create p --repo "$T/repo"
	[ -f "$T/new/data.mdb" ] || fail "project create made no store"
	h_run 30 0 --dir "$T/new" project list
}

test_home_unset_or_relative_xdg_is_a_clear_error() {
	mkdir -p "$T/cwd"
	cd "$T/cwd" || exit 1
	RC=0
	env -u HOME -u HIVE_DIR -u XDG_DATA_HOME "$HIVE_BIN" project list >"$OUT" 2>"$ERR" || RC=$?
	assert_eq "$RC" 2 "exit status with HOME unset"
	expect_stderr_line 'HOME is not set.*HIVE_DIR'
	RC=0
	env -u HIVE_DIR XDG_DATA_HOME=rel "$HIVE_BIN" project create p --repo "$T/cwd" >"$OUT" 2>"$ERR" || RC=$?
	assert_eq "$RC" 2 "exit status with a relative XDG_DATA_HOME"
	expect_stderr_line 'XDG_DATA_HOME=rel is not an absolute path'
	[ -z "$(ls -A "$T/cwd")" ] || fail "a store was put under the current directory: $(ls -A "$T/cwd")"
	env -u HOME -u HIVE_DIR -u XDG_DATA_HOME "$HIVE_BIN" --version >/dev/null || fail "--version needs no data dir"
}

# ---- smaller items -------------------------------------------------------------------------

test_tail_0_prints_no_event() {
	h_agent 'true'
	h_repo
	h_flow f '[]'
	h_run 30 0 events list --tail 0
	assert_empty "$OUT"
	h_run 30 0 --json events stream --tail 0
	assert_empty "$OUT"
	h_run 30 0 events list --tail 1
	assert_lines "$OUT" 1
}

test_tick_on_an_aborted_flow_exits_4_like_run() {
	h_agent 'true'
	h_repo
	h_flow f '[]'
	h_run 30 0 flow abort f
	h_run 30 4 flow run f
	h_run 30 4 flow tick f
	expect_stderr_line 'was aborted'
}

test_spec_file_that_is_a_directory_is_invalid_input() {
	mkdir "$T/dir.json"
	h_run 30 2 flow create --file "$T/dir.json"
	expect_stderr_line 'give the path of a JSON file'
	h_run 30 3 flow create --file "$T/missing.json"
}

# A check that cannot start (the runtime made its log name a directory)
# is a failed check that says why.
test_check_that_cannot_start_records_why() {
	h_agent 'mkdir "$(dirname "$HIVE_RESULT_FILE")/check-0-unit.log"'
	h_repo
	h_flow f '[{"name": "unit", "command": "true"}]'
	h_run 30 1 flow run f
	h_events check_completed
	assert_eq "$(h_field "$T/ev" payload.passed)" false "passed"
	h_field "$T/ev" payload.error | grep -q 'check-0-unit.log' ||
		fail "check_completed.error does not say why: $(tail -n 1 "$T/ev")"
	h_run 30 0 events verify
}

# A title (or any other value) that is not UTF-8: one line naming the input,
# exit 2, nothing written; it used to say "task: must be an object, got
# nothing", and a bad --check value gave an empty "hive: " line.
test_non_utf8_task_title_is_named() {
	h_agent 'true'
	h_repo
	h_run 30 0 project create p --repo repo
	h_run 30 0 events list
	cp "$OUT" "$T/before"
	h_run 30 2 task create p $'\xff\xfe' --runtime-command true
	expect_stderr_line '^hive: task create: TITLE must be UTF-8 text$'
	h_run 30 2 task create p t --runtime-command true --check $'unit=\xff'
	expect_stderr_line '^hive: task create: --check must be UTF-8 text$'
	h_run 30 2 project create q --repo repo --description $'\xff'
	expect_stderr_line '^hive: project create: --description must be UTF-8 text$'
	h_run 30 0 events list
	cmp -s "$OUT" "$T/before" || fail "a refused command wrote events: $(diff "$T/before" "$OUT")"
}

# A spec file with a title that is not UTF-8 names the field (it used to
# be jansson's "unable to decode byte 0xff" only).
test_non_utf8_title_in_a_spec_names_the_field() {
	h_agent 'true'
	h_repo
	printf '{"name": "f", "project": {"name": "p", "repo": "repo"},\n "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},\n "tasks": [{"key": "t", "title": "bad \xff\xfe"}]}\n' >"$T/spec.json"
	h_run 30 2 flow create --file "$T/spec.json"
	expect_stderr_line '^hive: .*/spec.json:3:[0-9]+: tasks\[0\]\.title must be UTF-8 text$'
	[ ! -e "$HIVE_DIR/data.mdb" ] || { h_run 30 0 events list; assert_empty "$OUT"; }
}

# --retry '[]' said "column -1: not an object": say what the flag needs.
test_retry_flag_that_is_not_an_object() {
	h_agent 'true'
	h_repo
	h_run 30 0 project create p --repo repo
	h_run 30 2 task create p t --runtime-command true --retry '[]'
	expect_stderr_line '^hive: task create: --retry must be a JSON object \(a retry policy; its keys: docs/spec.md\)$'
	h_run 30 2 task create p t --runtime-command true --retry '{'
	expect_stderr_line '^hive: task create: --retry is not valid JSON \(column [0-9]+: '
	h_run 30 0 task list
	assert_not_contains "$OUT" " t "
}

# A bare group lists its commands on one line (it used to say only
# "hive project: which command?").
test_bare_group_lists_its_commands() {
	h_run 30 2 project
	expect_stderr_line '^hive: project needs a command: create, list, show; see hive project --help$'
	local g
	for g in task flow attempt events; do
		h_run 30 2 "$g"
		expect_stderr_line "^hive: $g needs a command: [a-z]+(, [a-z]+)+; see hive $g --help\$"
	done
	h_run 30 2 task
	assert_contains "$ERR" "create, list, show, retry, abort"
	[ ! -e "$HIVE_DIR" ] || fail "a bare group created a data dir"
}

run_tests "$@"
