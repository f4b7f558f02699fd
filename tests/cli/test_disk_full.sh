#!/bin/bash
# shellcheck disable=SC2016 # agent scripts are single-quoted on purpose
# test_disk_full.sh - a full disk during the checkpoint commit (issue 8,
# SPEC section 12): a storage or system error stops `flow run` with exit 5
# instead of spending the budget.  The attempt ends `interrupted` with the
# real error as its summary, no budget is charged, and once there is space
# again the next `flow run` retries it at once and completes.
#
# The disk is really full: the project repository lives on a 1 MiB tmpfs
# (in a private mount namespace, so nothing outlives the test) and the
# runtime writes 2 MB of random bytes, so git cannot store the checkpoint's
# blob.  The data dir (the log) is on the ordinary disk.  Where mounting is
# not allowed, the same disk is made full by an LD_PRELOAD shim
# (enospc_shim.c, built here) that fails every write under the repository's
# object store with ENOSPC, as a full disk does; that variant runs
# everywhere.
source "$(dirname "$0")/lib.sh"

# dfull_setup: $T/repo (already created, maybe a mount point) as a repo
# whose agent writes a big file until $T/space exists, then a small one;
# flow "f" with one task of max_attempts 1, started.
dfull_setup() {
	cat >"$T/repo/agent.sh" <<EOF
#!/bin/sh
if [ -f "$T/space" ]; then echo small >small.txt; else head -c 2000000 /dev/urandom >big.bin; fi
EOF
	chmod +x "$T/repo/agent.sh"
	echo "disk full test" >"$T/repo/README"
	git -C "$T/repo" init -q -b main
	git -C "$T/repo" add -A
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm init
	cat >"$T/spec.json" <<EOF
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": 1}},
 "tasks": [{"key": "t", "title": "fills the disk", "checks": []}]}
EOF
	expect_exit 0 flow create --file "$T/spec.json"
	expect_exit 0 flow start f
}

# dfull_check [ENV...]: flow run (under ENV) hits the full disk: exit 5, one
# line naming the task and ENOSPC; the attempt ended interrupted with the
# real reason, uncharged; then with space the next run completes the task
# with its second attempt.
dfull_check() {
	RC=0
	env "$@" "$HIVE_BIN" flow run f </dev/null >"$OUT" 2>"$ERR" || RC=$?
	san_check "$ERR"
	assert_eq "$RC" 5 "flow run exit status on a full disk (stderr: $(cat "$ERR"))"
	expect_stderr_line_of "$ERR" "task t: the checkpoint commit failed: .*No space left on device"
	expect_exit 0 --json events list --type attempt_completed
	assert_lines "$OUT" 1
	assert_eq "$(json_get "$OUT" payload.outcome)" interrupted "outcome"
	json_get "$OUT" payload.summary | grep -q "No space left on device" ||
		fail "the summary lacks the real reason: $(json_get "$OUT" payload.summary)"
	expect_exit 0 --json events list --type task_retry_scheduled
	assert_eq "$(json_get "$OUT" payload.budget)" null "budget charged"
	assert_eq "$(json_get "$OUT" payload.delay_ms)" 0 "delay"
	expect_exit 0 --json events list --type attempt_crashed
	assert_empty "$OUT"
	expect_exit 0 flow status f
	assert_contains "$OUT" "interrupted"
	touch "$T/space"
	expect_exit 0 flow run f
	assert_eq "$(git -C "$T/repo" show hive/f/t:small.txt)" small "the retried attempt's result"
	expect_exit 0 events verify
}

# expect_stderr_line_of FILE PATTERN: FILE is one line "hive: ..." matching PATTERN.
expect_stderr_line_of() {
	assert_lines "$1" 1
	grep -Eq -- "^hive: .*$2" "$1" || fail "stderr does not match /$2/: $(cat "$1")"
}

test_full_tmpfs_during_checkpoint_stops_the_run_uncharged() {
	if [ -z "${DFULL_IN_NS:-}" ]; then
		# a private mount namespace: the tmpfs disappears with the process
		if unshare -m --propagation private true 2>/dev/null; then
			DFULL_IN_NS=1 unshare -m --propagation private bash "$CLI_DIR/test_disk_full.sh" --one "$_TEST_NAME" ||
				fail "the test failed in its mount namespace (see above)"
			return
		fi
		echo "    # no mount namespace here (not root?): the LD_PRELOAD variant below covers it" >&2
		return
	fi
	mkdir -p "$T/repo"
	mount -t tmpfs -o size=1m tmpfs "$T/repo" || fail "cannot mount a tmpfs on $T/repo"
	trap 'umount -l "$T/repo" 2>/dev/null; _cleanup' EXIT
	dfull_setup
	dfull_check
}

test_enospc_from_the_object_store_stops_the_run_uncharged() {
	local shim=$T/enospc_shim.so
	${CC:-cc} -shared -fPIC -O1 -o "$shim" "$CLI_DIR/enospc_shim.c" -ldl ||
		fail "cannot build tests/cli/enospc_shim.c"
	mkdir -p "$T/repo"
	dfull_setup
	# (a sanitizer build wants its runtime first; the shim only forwards)
	dfull_check LD_PRELOAD="$shim" HIVE_TEST_ENOSPC_UNDER="$T/repo/.git/objects/" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}

run_tests "$@"
