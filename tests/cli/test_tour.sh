#!/bin/bash
# test_tour.sh - README.md's tour works exactly as written (issue 11): the
# commands between the `<!-- tour` and `<!-- /tour -->` marks are extracted
# and run literally, in an empty directory, with the hive under test on
# PATH (what `make install` or `export PATH=$PWD:$PATH` gives a reader) and
# a fresh HOME (no git identity, no data dir).  Each command must succeed;
# then what the tour promises is checked: the flow completed, attempt 1
# failed its check, attempt 2 got a retry context and fixed the bug.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_tour.sh
source "$(dirname "$0")/lib.sh"

# The tour's shell block from README.md, on stdout.
tour_block() {
	awk '/^<!-- tour/ { on = 1; next } /^<!-- \/tour -->/ { on = 0 } on' "$REPO_DIR/README.md" |
		sed -e '/^```/d'
}

# Run the tour as a reader would paste it: line by line in one shell,
# stopping at the first command that fails (errexit), with hive on PATH.
run_tour() {
	mkdir -p "$T/tourbin" "$T/reader"
	ln -s "$HIVE_BIN" "$T/tourbin/hive"
	tour_block >"$T/tour.sh"
	[ -s "$T/tour.sh" ] || fail "README.md has no tour block between <!-- tour --> marks"
	# HIVE_DIR unset: the reader's default data dir under the fresh HOME
	(cd "$T/reader" && env -u HIVE_DIR -u GIT_AUTHOR_NAME -u GIT_COMMITTER_NAME PATH="$T/tourbin:$PATH" \
		HOME="$HOME" bash -e -o pipefail -x "$T/tour.sh") >"$T/tour.out" 2>"$T/tour.err" ||
		fail "the README tour stopped at the line marked + below:
$(grep '^+' "$T/tour.err" | tail -3)
      output: $(tail -15 "$T/tour.out")
      stderr: $(grep -v '^+' "$T/tour.err" | tail -8)"
	san_check "$T/tour.err"
}

test_readme_tour_runs_as_written() {
	run_tour
	export HIVE_DIR=$HOME/.local/share/hive # where the tour's hive wrote
	[ -f "$HIVE_DIR/data.mdb" ] || fail "the tour did not use the default data dir $HIVE_DIR"
	# the dry run wrote nothing, the create did
	grep -q "nothing was written" "$T/tour.out" || fail "no --dry-run line in the tour's output"
	expect_exit 0 flow status fix-login --json
	assert_eq "$(json_py 'd["flow"]["state"]')" "completed" "the tour's flow"
	assert_eq "$(json_py '[(t["key"], t["state"], t["attempts"]) for t in d["tasks"]]')" \
		'[["fix", "success", 2], ["docs", "success", 1]]' "tasks after the tour"
	# what flow run printed: attempt 1 failed naming the check, the wait, a summary
	assert_contains "$T/tour.out" "task fix: attempt 1 ended check_failed (check login failed, exit 1)"
	assert_contains "$T/tour.out" "waiting: retry of fix in"
	assert_contains "$T/tour.out" "task fix: attempt 2 of 3 started with a retry context"
	assert_contains "$T/tour.out" "summary: flow fix-login is completed"
	# the fix came from the retry context: attempt 2 changed login.sh, and
	# the tour showed both (attempt inspect fix-login/fix#2)
	assert_contains "$T/tour.out" "+echo ok"
	assert_contains "$T/tour.out" "FAIL: login.sh printed 'denied', expected 'ok'"
	expect_exit 0 attempt inspect 'fix-login/fix#2' --diff
	assert_contains "$OUT" "+echo ok"
	# the user's checkout is untouched
	assert_eq "$(cat "$T/reader/webapp/login.sh")" "echo denied" "login.sh in the reader's checkout"
}

test_tour_block_is_marked_and_uses_only_hive_on_path() {
	tour_block >"$T/tour.sh"
	[ "$(grep -c '^hive ' "$T/tour.sh")" -ge 6 ] || fail "the tour block has too few hive commands"
	! grep -n '\./hive\|--dir' "$T/tour.sh" || fail "the tour must use hive from PATH and the default data dir"
	# the install section says how hive gets on PATH
	grep -q '^make install PREFIX=' "$REPO_DIR/README.md" || fail "README does not show make install PREFIX="
	grep -q 'export PATH=\$PWD:\$PATH' "$REPO_DIR/README.md" || fail "README does not show the PATH alternative"
}

run_tests "$@"
