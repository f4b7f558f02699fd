#!/bin/bash
# test_lifecycle.sh - end-to-end tests of the workspace lifecycle (issue 9,
# docs/lifecycle.md): what clean and pristine retries keep, worktrees
# released when a task succeeds and when its flow ends, `hive gc`, and the
# reasons and results `flow status` / `task show` print.
#
# Real git repositories, real processes as runtimes, a fresh data dir per
# test (lib.sh); flows are stepped with `hive flow tick`.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_lifecycle.sh
source "$(dirname "$0")/lib.sh"

sandbox() {
	S=$T D=$HIVE_DIR R=$T/repo O=$T/out
	mkdir -p "$R" "$O"
}

mkrepo()
{
	git -C "$R" init -q . &&
		git -C "$R" add -A &&
		git -C "$R" -c user.name=t -c user.email=t@t commit -qm init ||
		fail "cannot create the test repository $R"
}

script() { cat >"$R/$1" && chmod +x "$R/$1"; }

# flowspec NAME TASKS_JSON: write $S/flow.json for project p over $R.
flowspec()
{
	cat >"$S/flow.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s",
                          "env": {"OUT": "$O"}}},
 "tasks": $2}
EOF
}

create_start() { expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start "$1"; }

# An agent that, on attempt 1, fills an ignored build cache and leaves an
# untracked scratch file, then fails its check; attempt 2 records what it
# found and passes.
cache_agent()
{
	printf 'build/\n' >"$R/.gitignore"
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
if [ "$HIVE_ATTEMPT_NUMBER" = 1 ]; then
	mkdir -p build && echo "compiled" > build/obj.o
	echo scratch > scratch.txt
	exit 0
fi
{ [ -f build/obj.o ] && echo "cache=kept" || echo "cache=gone"
  [ -f scratch.txt ] && echo "scratch=kept" || echo "scratch=gone"
} > "$OUT/seen.txt"
echo done > done.txt
EOF
	script check.sh <<'EOF'
#!/bin/sh
[ -f done.txt ]
EOF
	mkrepo
}

# run_cache_flow MODE: one task retried once in retry mode MODE.
run_cache_flow()
{
	flowspec f '[{"key": "t", "title": "t", "description": "d",
	  "checks": [{"name": "c", "command": "sh check.sh", "timeout": "30s"}],
	  "retry": {"max_attempts": 3, "mode": "'"$1"'", "backoff": {"initial": "0s"}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 0 flow tick f
	[ -f "$O/seen.txt" ] || fail "attempt 2 did not run"
}

# clean keeps ignored build caches, removes untracked files
test_clean_keeps_ignored_cache() {
	sandbox
	cache_agent
	run_cache_flow clean
	assert_eq "$(cat "$O/seen.txt")" "cache=kept
scratch=gone" "what attempt 2 found under mode clean"
	# the cache never went into a checkpoint: it is ignored
	git -C "$R" show --stat hive/f/t >"$S/show.txt" 2>&1 || fail "no result branch hive/f/t"
	assert_not_contains "$S/show.txt" "build/"
}

# pristine wipes ignored files too
test_pristine_wipes_ignored() {
	sandbox
	cache_agent
	run_cache_flow pristine
	assert_eq "$(cat "$O/seen.txt")" "cache=gone
scratch=gone" "what attempt 2 found under mode pristine"
}

# task retry --mode pristine applies to that retry; a bad mode names the choices
test_retry_mode_pristine_flag() {
	sandbox
	cache_agent
	flowspec f '[{"key": "t", "title": "t", "description": "d",
	  "checks": [{"name": "c", "command": "sh check.sh", "timeout": "30s"}],
	  "retry": {"max_attempts": 1}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 2 task retry t --reset-count --mode spotless
	expect_stderr_line "clean, continue or pristine"
	expect_exit 0 task retry t --reset-count --mode pristine
	expect_exit 0 flow tick f
	assert_eq "$(cat "$O/seen.txt")" "cache=gone
scratch=gone" "what attempt 2 found after --mode pristine"
}

run_tests "$@"
