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

# ---- worktree lifecycle ------------------------------------------------------------

# events_of TYPE: the payloads of every event of TYPE, one JSON object a line.
events_of()
{
	"$HIVE_BIN" --json events list --type "$1" 2>/dev/null |
		python3 -c 'import json,sys
for l in sys.stdin:
    l = l.strip()
    if l: print(json.dumps(json.loads(l)["payload"], sort_keys=True))'
}

# wt_list: the linked worktrees git knows, one path a line (git's view).
wt_list() { git -C "$R" worktree list --porcelain | sed -n 's/^worktree //p' | tail -n +2; }

# An agent that writes KEY.txt; a task named "bad*" fails its check.
writer_agent()
{
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
key=$(basename "$PWD")
echo "made by $key" > "$key.txt"
ls > "$OUT/ls-$key.txt"
EOF
	script check.sh <<'EOF'
#!/bin/sh
case $(basename "$PWD") in bad*) echo "bad task"; exit 1 ;; esac
EOF
	mkrepo
}

TASK_CHECK='"checks": [{"name": "c", "command": "sh check.sh", "timeout": "30s"}], "retry": {"max_attempts": 1}'

# a succeeded task's worktree goes at once; its dependant starts from the result commit
test_success_releases_worktree() {
	sandbox
	writer_agent
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$TASK_CHECK"'},
	             {"key": "b", "title": "b", "description": "d", "depends_on": ["a"], '"$TASK_CHECK"'}]'
	create_start f
	expect_exit 0 flow tick f
	[ ! -e "$D/worktrees/f/a" ] || fail "task a succeeded but its worktree is still there"
	# kept as a spare for the next task (test_lifecycle_spares.sh): detached, holding no branch
	spare=$(ls -d "$D"/spares/*/0)
	assert_eq "$(wt_list)" "$spare" "git's worktrees after a succeeded (a's spare)"
	git -C "$R" worktree list --porcelain | grep -A3 "^worktree $spare\$" | grep -qx detached ||
		fail "a's spare is not detached"
	git -C "$R" show hive/f/a:a.txt >"$S/a.txt" 2>&1 || fail "result branch hive/f/a lacks a.txt"
	assert_eq "$(events_of worktree_released)" '{"branch": "hive/f/a", "path": "'"$D"'/worktrees/f/a", "reason": "task_succeeded", "spare": "'"$spare"'"}'
	expect_exit 0 flow tick f
	# b started from a's result commit: it saw a.txt
	assert_contains "$O/ls-b.txt" "a.txt"
	git -C "$R" merge-base --is-ancestor hive/f/a hive/f/b || fail "hive/f/b does not descend from hive/f/a"
	[ ! -e "$D/worktrees/f/b" ] || fail "task b's worktree is still there"
	assert_eq "$(git -C "$R" worktree list | wc -l)" 1 "worktrees left (the user's checkout only)"
	expect_exit 0 events verify
}

# a failed task keeps its worktree while the flow can be revived; abort releases it
test_failed_keeps_until_flow_ends() {
	sandbox
	writer_agent
	flowspec f '[{"key": "bad", "title": "b", "description": "d", '"$TASK_CHECK"'},
	             {"key": "ok", "title": "o", "description": "d", '"$TASK_CHECK"'}]'
	create_start f
	expect_exit 1 flow run f
	expect_exit 0 --json flow status f
	assert_contains "$OUT" '"state":"failed"'
	[ -f "$D/worktrees/f/bad/bad.txt" ] || fail "the failed task's worktree is gone while its flow can be revived"
	[ ! -e "$D/worktrees/f/ok" ] || fail "the succeeded task's worktree is still there"
	expect_exit 0 flow abort f
	[ ! -e "$D/worktrees/f/bad" ] || fail "flow aborted but the failed task's worktree is still there"
	assert_eq "$(wt_list)" "" "git's worktrees after the abort"
	events_of worktree_released >"$S/rel.txt"
	assert_contains "$S/rel.txt" '"reason": "flow_aborted"'
	assert_contains "$S/rel.txt" '"reason": "task_succeeded"'
	assert_lines "$S/rel.txt" 2
	git -C "$R" rev-parse -q --verify hive/f/bad >/dev/null || fail "the failed task's branch went with its worktree"
}

# gc removes what ended flows left (attempt dirs, branches with --branches) and says how much
test_gc() {
	sandbox
	writer_agent
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$TASK_CHECK"'}]'
	create_start f
	expect_exit 0 flow run f
	flowspec g '[{"key": "bad", "title": "b", "description": "d", '"$TASK_CHECK"'}]'
	create_start g
	expect_exit 1 flow run g
	assert_eq "$(ls "$D/attempts" | wc -l)" 2 "attempt dirs before gc"
	expect_exit 0 gc
	assert_contains "$OUT" "freed "
	assert_contains "$OUT" "0 worktrees, 1 attempt dir of 1 ended flow"
	assert_eq "$(ls "$D/attempts" | wc -l)" 1 "attempt dirs after gc (the failed flow's stays)"
	[ -d "$D/worktrees/g/bad" ] || fail "gc touched the failed flow's worktree"
	git -C "$R" rev-parse -q --verify hive/f/a >/dev/null || fail "gc without --branches deleted a branch"
	expect_exit 0 --json gc --branches
	assert_contains "$OUT" '"branches":1'
	git -C "$R" rev-parse -q --verify hive/f/a >/dev/null && fail "gc --branches kept hive/f/a"
	git -C "$R" rev-parse -q --verify hive/g/bad >/dev/null || fail "gc --branches deleted the failed flow's branch"
	expect_exit 0 --json gc --branches
	assert_contains "$OUT" '"flows":0'
	events_of branch_deleted >"$S/del.txt"
	assert_lines "$S/del.txt" 1
	assert_contains "$S/del.txt" '"branch": "hive/f/a"'
	events_of flow_collected >"$S/col.txt"
	assert_lines "$S/col.txt" 2
	expect_exit 0 events verify
}

# gc never collects a flow whose runner lock is held (a runner may still be
# recording an attempt in its worktree): it says so, exits 4, and the
# flow's attempt dirs and branches stay; once the lock is free gc collects it.
test_gc_skips_a_locked_flow() {
	sandbox
	writer_agent
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$TASK_CHECK"'}]'
	create_start f
	expect_exit 0 flow run f
	expect_exit 0 --json flow status f
	local id
	id=$(json_py 'd["flow"]["id"]')
	mkdir -p "$D/locks"
	flock "$D/locks/$id.lock" sleep 30 &
	local holder=$!
	sleep 0.5
	expect_exit 4 gc --branches
	expect_stderr_line "locked"
	assert_eq "$(ls "$D/attempts" | wc -l)" 1 "attempt dirs while locked"
	git -C "$R" rev-parse -q --verify hive/f/a >/dev/null || fail "gc deleted the branch of a locked flow"
	pkill -P "$holder" 2>/dev/null; kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
	expect_exit 0 gc --branches
	assert_eq "$(ls "$D/attempts" | wc -l)" 0 "attempt dirs after the lock is free"
	expect_exit 0 events verify
}

# ---- clear stops -------------------------------------------------------------------

# a runtime that cannot start: flow run and flow status say why, with the likely cause
test_runtime_unavailable_says_why() {
	sandbox
	echo x >"$R/a.txt"
	mkrepo
	# agent.sh exists in the user's checkout but was never committed
	script agent.sh <<'EOF'
#!/bin/sh
exit 0
EOF
	flowspec f '[{"key": "t", "title": "t", "description": "d"}]'
	create_start f
	"$HIVE_BIN" flow run f >"$S/run.txt" 2>&1 && fail "flow run succeeded without a runtime"
	assert_contains "$S/run.txt" 'attempt 1 ended runtime_unavailable: cannot start "./agent.sh"'
	assert_contains "$S/run.txt" "No such file or directory — is it committed at the flow's base?"
	expect_exit 0 flow status f
	assert_contains "$OUT" "runtime_unavailable is never retried: cannot start \"./agent.sh\""
	assert_contains "$OUT" "is it committed at the flow's base?"
}

# flow status and task show print each task's result branch and commit
test_result_branch_and_commit_shown() {
	sandbox
	writer_agent
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$TASK_CHECK"'},
	             {"key": "bad", "title": "b", "description": "d", '"$TASK_CHECK"'}]'
	create_start f
	expect_exit 1 flow run f
	local commit
	commit=$(git -C "$R" rev-parse hive/f/a)
	expect_exit 0 flow status f
	assert_contains "$OUT" "result of a: branch hive/f/a, commit $commit"
	assert_not_contains "$OUT" "result of bad"
	expect_exit 0 task show a
	assert_contains "$OUT" "result:   branch hive/f/a, commit $commit"
	expect_exit 0 --json task show a
	assert_contains "$OUT" '"result_branch":"hive/f/a"'
	expect_exit 0 task show bad
	assert_not_contains "$OUT" "result:"
}

# ---- no dead ends ------------------------------------------------------------------

# an aborted task joins a new flow: pending, history and retry context kept, fresh budget
test_aborted_task_runs_again_in_new_flow() {
	sandbox
	echo 1 >"$R/value.txt"
	script agent.sh <<'EOF'
#!/bin/sh
prompt=$(cat)
if printf '%s\n' "$prompt" | grep -q 'FAIL: value is 1'; then echo 2 > value.txt; fi
EOF
	script check.sh <<'EOF'
#!/bin/sh
[ "$(cat value.txt)" = 2 ] && exit 0
echo "FAIL: value is $(cat value.txt)"; exit 1
EOF
	mkrepo
	flowspec f '[{"key": "fix", "title": "t", "description": "d",
	  "checks": [{"name": "c", "command": "sh check.sh", "timeout": "30s"}],
	  "retry": {"max_attempts": 2, "backoff": {"initial": "1h", "max": "1h"}}}]'
	create_start f
	expect_exit 1 flow tick f
	expect_exit 0 flow abort f
	expect_exit 0 --json task show fix
	assert_contains "$OUT" '"state":"aborted"'
	expect_exit 0 flow create p --name g --task fix
	expect_exit 0 --json task show fix
	assert_contains "$OUT" '"state":"pending"'
	assert_contains "$OUT" '"budget_used":[]'
	expect_exit 0 flow start g
	expect_exit 0 flow tick g
	expect_exit 0 --json task show fix
	assert_contains "$OUT" '"state":"success"'
	assert_contains "$OUT" '"attempts":2'
	# attempt 2 got attempt 1's failure from the aborted flow as its context
	expect_exit 0 --json events list --type retry_context_assembled
	assert_contains "$OUT" 'FAIL: value is 1'
	expect_exit 0 --json events list --type task_retry_requested
	assert_contains "$OUT" '"reason":"joined flow g"'
	expect_exit 0 events verify
}

# a flow name is reused once its flow ended and its result branches are gone
test_flow_name_reuse() {
	sandbox
	writer_agent
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$TASK_CHECK"'}]'
	create_start f
	expect_exit 4 flow create --file "$S/flow.json"
	expect_stderr_line 'a flow named "f" already exists and is running; pick another name'
	expect_exit 0 flow run f
	local first
	first=$(git -C "$R" rev-parse hive/f/a)
	expect_exit 4 flow create --file "$S/flow.json"
	expect_stderr_line 'flow name "f" belongs to a flow that has ended, but its result branches remain \(hive/f/a\); .*hive gc --branches'
	assert_eq "$(git -C "$R" rev-parse hive/f/a)" "$first" "hive/f/a after the refusal"
	expect_exit 0 gc --branches
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start f
	expect_exit 0 flow run f
	expect_exit 0 flow list
	assert_eq "$(grep -c '^f ' "$OUT")" 2 "flows named f"
	expect_exit 0 --json flow status f
	assert_contains "$OUT" '"state":"completed"'
	expect_exit 0 events verify
}

run_tests "$@"
