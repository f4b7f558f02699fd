#!/bin/bash
# test_lifecycle_spares.sh - end-to-end tests of spare worktrees
# (docs/lifecycle.md, "Spare worktrees"): a succeeded task's worktree is
# kept as a spare and the next task adopts it instead of a fresh checkout.
# What the adopting task sees must be exactly its base tree; a spare a
# runtime made unusable falls back to a fresh checkout; spares go when the
# flow ends and with `hive gc`; a SIGKILL at any step of parking or
# adopting is cleaned up; git's own `worktree list` / `worktree prune`
# agree with hive throughout; the user's checkout is never touched.
#
# Real git repositories, real processes as runtimes, a fresh data dir per
# test (lib.sh).
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_lifecycle_spares.sh
source "$(dirname "$0")/lib.sh"

# flowspec NAME TASKS_JSON: write $S/flow.json for project p over $R.
flowspec()
{
	cat >"$S/flow.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s",
                          "env": {"OUT": "$O"}},
              "retry": {"max_attempts": 1}},
 "tasks": $2}
EOF
}

create_start() { expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start "$1"; }

# spare_of KEY [FIELD]: attempt_started's "spare" (or one field of it) for
# the first attempt of the task keyed KEY, from the dumped events.
spare_of()
{
	python3 - "$T/events.ndjson" "$1" "${2:-}" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tid = [e["task_id"] for e in ev if e["type"] == "task_created" and e["payload"]["key"] == sys.argv[2]][-1]
sp = [e["payload"].get("spare") for e in ev if e["type"] == "attempt_started" and e["task_id"] == tid][0]
print(json.dumps(sp if not sys.argv[3] else (sp or {}).get(sys.argv[3])))
PY
}

# git's view of the repository's linked worktrees: "path state" lines
# (state: the branch, "detached", or "prunable").
wt_list()
{
	git -C "$R" worktree list --porcelain | awk 'BEGIN { RS = ""; FS = "\n" } NR > 1 {
		p = ""; s = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^worktree /) p = substr($i, 10)
			else if ($i ~ /^branch /) s = substr($i, 8)
			else if ($i == "detached") s = "detached"
			else if ($i ~ /^prunable/) s = "prunable"
		}
		print p, s }' | sort
}

# The user's checkout as a string: HEAD, branch, index, status (with
# ignored files) and the dirty file's content.
user_state()
{
	{ git -C "$R" rev-parse HEAD; git -C "$R" symbolic-ref HEAD; sha256sum "$R/.git/index" | cut -c1-64
	  git -C "$R" status --porcelain --ignored; cat "$R/keep.txt"; } 2>&1
}

# A repository with tracked files of every kind a task may change, an
# ignore file, and an agent that, for a task keyed a*, changes all of them
# and commits a new file; its check (after the checkpoint) leaves an
# untracked file and nested ignored build output, as a build would.  Every
# task first records what its worktree holds: each path with its mode and
# content hash, and git's status including ignored files.
recycle_repo()
{
	printf 'keep\n' >"$R/keep.txt"
	printf 'base\n' >"$R/mod.txt"
	printf 'delete me\n' >"$R/del.txt"
	printf '#!/bin/sh\n' >"$R/tool.sh"
	mkdir -p "$R/src/deep"
	printf 'int x;\n' >"$R/src/deep/x.c"
	printf 'build/\n*.o\n' >"$R/.gitignore"
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
key=$(basename "$PWD")
find . -path ./.git -prune -o -print | sort | while read -r p; do
	if [ -f "$p" ]; then echo "$p $(stat -c %a "$p") $(sha256sum < "$p" | cut -c1-16)"; else echo "$p dir"; fi
done > "$OUT/tree-$key.txt"
git status --porcelain --ignored > "$OUT/status-$key.txt" 2>&1
case $key in a*)
	echo "added by $key" > added.txt
	echo changed > mod.txt
	rm del.txt
	chmod 755 tool.sh
	rm -r src/deep
	mkdir -p newdir && echo n > newdir/n.txt ;;
esac
EOF
	script check.sh <<'EOF'
#!/bin/sh
mkdir -p build/deep/er obj && echo o > build/deep/er/out.o && echo o > obj/y.o
echo scratch > untracked-after-checkpoint.txt
EOF
	mkrepo
}

CHECK='"checks": [{"name": "build", "command": "sh check.sh", "timeout": "30s"}]'

# the flow's base tree as agent.sh records it (from a fresh clone of the base)
base_tree()
{
	git clone -q "$R" "$S/base" && (cd "$S/base" && rm -rf .git && mkdir -p "$S/bout" &&
		OUT=$S/bout sh "$R/agent.sh" </dev/null >/dev/null 2>&1 || true)
	# a clone is named "base": the agent recorded tree-base.txt
	grep -v ' dir$' "$S/bout/tree-base.txt" | grep -v '^\./\.git$'
}

# task b runs in a's recycled worktree and sees exactly the base tree; c (after a) sees a's result
test_recycled_worktree_is_exactly_the_base() {
	sandbox
	recycle_repo
	# the user's work in progress: an uncommitted edit, a staged file, an untracked one
	echo "user's edit" >"$R/keep.txt"
	echo staged >"$R/staged.txt" && git -C "$R" add staged.txt
	echo notes >"$R/notes.untracked"
	user_before=$(user_state)
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$CHECK"'},
	             {"key": "b", "title": "b", "description": "d", '"$CHECK"'},
	             {"key": "c", "title": "c", "description": "d", "depends_on": ["a"], '"$CHECK"'}]'
	create_start f
	expect_exit 0 flow tick f
	# a's worktree is a spare now: detached, under the data dir, its path free
	[ ! -e "$D/worktrees/f/a" ] || fail "task a succeeded but its path still holds a worktree"
	spare=$(ls -d "$D"/spares/*/* 2>/dev/null)
	[ -n "$spare" ] || fail "no spare kept after task a succeeded"
	assert_eq "$(wt_list)" "$spare detached" "git's worktrees after a (one detached spare)"
	git -C "$R" worktree prune -v >"$S/prune.txt" 2>&1
	assert_empty "$S/prune.txt"
	[ -f "$spare/build/deep/er/out.o" ] || fail "the spare lost a's build output before it was adopted"
	expect_exit 0 flow tick f
	# b: exactly the base, nothing of a (committed, untracked, ignored), tool.sh not executable
	base_tree >"$S/base-tree.txt"
	grep -v ' dir$' "$O/tree-b.txt" >"$S/b-tree.txt"
	assert_eq "$(cat "$S/b-tree.txt")" "$(cat "$S/base-tree.txt")" "files task b saw (path mode hash)"
	assert_not_contains "$O/tree-b.txt" "added.txt"
	assert_not_contains "$O/tree-b.txt" "build"
	assert_not_contains "$O/tree-b.txt" "untracked-after-checkpoint"
	assert_not_contains "$O/tree-b.txt" "newdir"
	assert_contains "$O/tree-b.txt" "./del.txt 644"
	assert_contains "$O/tree-b.txt" "./tool.sh 644"
	assert_contains "$O/tree-b.txt" "./src/deep/x.c"
	assert_empty "$O/status-b.txt"
	events_dump
	assert_eq "$(spare_of b)" "{\"path\": \"$spare\", \"adopted\": true}" "attempt_started's spare for b"
	pa "a's release names the spare" 'P(of("worktree_released")[0]) == {"path": D + "/worktrees/f/a", "branch": "hive/f/a", "reason": "task_succeeded", "spare": "'"$spare"'"}'
	expect_exit 0 flow tick f
	# c started from a's result in a recycled worktree
	assert_contains "$O/tree-c.txt" "./added.txt"
	assert_not_contains "$O/tree-c.txt" "./del.txt"
	assert_contains "$O/tree-c.txt" "./tool.sh 755"
	assert_not_contains "$O/tree-c.txt" "build"
	assert_not_contains "$O/tree-c.txt" "untracked-after-checkpoint"
	assert_empty "$O/status-c.txt"
	git -C "$R" merge-base --is-ancestor hive/f/a hive/f/c || fail "hive/f/c does not descend from a's result"
	git -C "$R" merge-base --is-ancestor hive/f/a hive/f/b && fail "hive/f/b descends from a's result"
	# the flow has completed: no spare, no worktree, nothing for git to prune
	expect_exit 0 --json flow status f
	assert_contains "$OUT" '"state":"completed"'
	assert_eq "$(wt_list)" "" "git's worktrees after the flow completed"
	assert_eq "$(find "$D/spares" -mindepth 2 | wc -l)" 0 "spares left after the flow completed"
	assert_eq "$(ls "$R/.git/worktrees" 2>/dev/null | wc -l)" 0 "entries left in .git/worktrees"
	assert_eq "$(user_state)" "$user_before" "the user's checkout"
	expect_exit 0 events verify
}

# spares are bounded by the run's parallelism + 1, and parallel tasks each adopt one
test_spares_are_bounded() {
	sandbox
	recycle_repo
	flowspec f '[{"key": "x1", "title": "x", "description": "d"}, {"key": "x2", "title": "x", "description": "d"},
	             {"key": "x3", "title": "x", "description": "d"},
	             {"key": "y1", "title": "y", "description": "d", "depends_on": ["x1", "x2", "x3"]},
	             {"key": "y2", "title": "y", "description": "d", "depends_on": ["x1"]}]'
	create_start f
	expect_exit 0 flow tick f --max-parallel 3
	assert_eq "$(ls "$D"/spares/* | wc -l)" 3 "spares after three tasks at parallelism 3"
	expect_exit 0 flow tick f --max-parallel 1
	# y1 adopted one; with parallelism 1 at most 2 are kept
	assert_eq "$(ls "$D"/spares/* | wc -l)" 2 "spares after a tick at parallelism 1"
	assert_eq "$(wt_list | grep -c detached)" 2 "detached spares git lists"
	expect_exit 0 flow run f --max-parallel 2
	assert_eq "$(wt_list)" "" "git's worktrees after the flow completed"
	events_dump
	pa "each spare removed at the end is recorded" 'all(P(e)["reason"] == "flow_completed" for e in of("spare_removed"))'
	pa "y1 and y2 adopted spares" 'len([e for e in of("attempt_started") if P(e).get("spare", {}).get("adopted")]) == 2'
	pa "x1-x3 kept as spares, y1 not (the bound), y2 released as the flow completed" '[("spare" in P(e)) for e in of("worktree_released")] == [True, True, True, False, False]'
	pa "the one spare left was removed when the flow completed" 'len(of("spare_removed")) == 1'
	expect_exit 0 events verify
}

# what a runtime leaves that git cannot reset: the next task falls back to a fresh checkout
test_unusable_spare_falls_back() {
	sandbox
	recycle_repo
	cat >"$R/check.sh" <<'EOF'
#!/bin/sh
case $(basename "$PWD") in
a1) mkfifo build.fifo ;;
a2) mkdir -p ro/sub && echo f > ro/sub/f && chmod 555 ro/sub ro ;;
a3) mkdir -p locked/inner && echo f > locked/inner/f && chmod 000 locked ;;
a4) mkdir -p nested && git init -q nested ;;
esac
exit 0
EOF
	git -C "$R" -c user.name=t -c user.email=t@t commit -qam "hostile checks"
	tasks=""
	for k in a1 b1 a2 b2 a3 b3 a4 b4; do
		tasks="$tasks${tasks:+,} {\"key\": \"$k\", \"title\": \"$k\", \"description\": \"d\", $CHECK}"
	done
	flowspec f "[$tasks]"
	create_start f
	expect_exit 0 flow run f --max-parallel 1
	base_tree >"$S/base-tree.txt"
	for b in b1 b2 b3 b4; do
		grep -v ' dir$' "$O/tree-$b.txt" >"$S/$b-tree.txt"
		assert_eq "$(cat "$S/$b-tree.txt")" "$(cat "$S/base-tree.txt")" "files task $b saw after a hostile spare"
		assert_empty "$O/status-$b.txt"
	done
	events_dump
	for b in b1 b2 b3 b4; do
		assert_eq "$(spare_of $b adopted)" false "$b adopted the spare its predecessor broke"
	done
	assert_contains "$(spare_of b1 error)" "neither a file nor a directory"
	assert_contains "$(spare_of b2 error)" "is not writable"
	assert_contains "$(spare_of b3 error)" "is not writable"
	assert_contains "$(spare_of b4 error)" "nested repository"
	assert_eq "$(wt_list)" "" "git's worktrees after the flow completed"
	assert_eq "$(find "$D/spares" -mindepth 1 -maxdepth 2 | wc -l)" 1 "what is left under spares/ (the flow's empty dir)"
	expect_exit 0 events verify
}

# a tracked file a task turned into a directory: the next task still sees the file
test_file_turned_directory() {
	sandbox
	recycle_repo
	cat >"$R/agent.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
key=$(basename "$PWD")
if [ "$key" = a ]; then rm mod.txt && mkdir -p mod.txt/inner && echo x > mod.txt/inner/f; fi
cat mod.txt > "$OUT/mod-$key.txt" 2>&1 || echo "not a file" > "$OUT/mod-$key.txt"
EOF
	git -C "$R" -c user.name=t -c user.email=t@t commit -qam "agent"
	flowspec f '[{"key": "a", "title": "a", "description": "d"}, {"key": "b", "title": "b", "description": "d"}]'
	create_start f
	expect_exit 0 flow run f --max-parallel 1
	assert_eq "$(cat "$O/mod-b.txt")" "base" "mod.txt as task b saw it"
	git -C "$R" cat-file -e hive/f/a:mod.txt/inner/f || fail "a's result lacks mod.txt/inner/f"
	assert_eq "$(wt_list)" "" "git's worktrees after the flow completed"
}

# an aborted flow whose runner died keeps its spare until hive gc, which removes it
test_gc_removes_spares_of_ended_flows() {
	sandbox
	recycle_repo
	cat >"$R/agent.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
key=$(basename "$PWD")
[ "$key" = slow ] && { echo $$ > "$OUT/slow.pid"; sleep 60; }
exit 0
EOF
	git -C "$R" -c user.name=t -c user.email=t@t commit -qam "agent"
	flowspec f '[{"key": "a", "title": "a", "description": "d"}, {"key": "b", "title": "b", "description": "d"},
	             {"key": "slow", "title": "s", "description": "d", "depends_on": ["a", "b"]}]'
	create_start f
	kill_on_exit "$O/slow.pid"
	bg_start "$HIVE_BIN" flow run f --max-parallel 2
	runner=$BG_PID
	wait_until 30 test -s "$O/slow.pid" || fail "task slow never started"
	assert_eq "$(ls "$D"/spares/* | wc -l)" 1 "spares while slow runs (a's and b's; slow adopted one)"
	# the runner stops holding the lock only by dying: the abort cannot release
	kill -STOP "$runner"
	expect_exit 0 flow abort f
	kill -9 "$runner"
	wait "$runner" 2>/dev/null
	pid_gone "$runner" || fail "the runner did not die"
	kill -9 "$(cat "$O/slow.pid")" 2>/dev/null
	[ "$(wt_list | wc -l)" -ge 1 ] || fail "the test did not leave a spare for gc"
	expect_exit 0 gc
	assert_contains "$OUT" "freed "
	assert_eq "$(wt_list)" "" "git's worktrees after gc"
	assert_eq "$(find "$D/spares" -mindepth 2 | wc -l)" 0 "spares after gc"
	git -C "$R" worktree prune -v >"$S/prune.txt" 2>&1
	assert_empty "$S/prune.txt"
	events_dump
	pa "gc recorded the spare it removed" 'any(P(e)["reason"] == "gc" and P(e)["bytes"] > 0 for e in of("spare_removed"))'
	expect_exit 0 gc
	assert_contains "$OUT" "freed 0 bytes"
	expect_exit 0 events verify
}

# SIGKILL after each step of parking and of adopting: the next run completes the flow cleanly
test_kill_during_park_and_adopt() {
	sandbox
	recycle_repo
	base_tree >"$S/base-tree.txt"
	n=0
	for at in park:1 park:2 park:3 park:4 adopt:1 adopt:2 adopt:3 adopt:4 adopt:5 adopt:6; do
		n=$((n + 1))
		flowspec "k$n" '[{"key": "a", "title": "a", "description": "d", '"$CHECK"'},
		                 {"key": "b", "title": "b", "description": "d", '"$CHECK"'},
		                 {"key": "c", "title": "c", "description": "d", "depends_on": ["a"], '"$CHECK"'}]'
		create_start "k$n"
		RC=0
		(HIVE_TEST_KILL_AT=$at "$HIVE_BIN" flow run "k$n" --max-parallel 1 >"$S/kill.out" 2>&1) 2>/dev/null || RC=$?
		assert_eq "$RC" 137 "flow run killed at $at"
		expect_exit 0 flow run "k$n" --max-parallel 1
		grep -v ' dir$' "$O/tree-b.txt" >"$S/b-tree.txt"
		assert_eq "$(cat "$S/b-tree.txt")" "$(cat "$S/base-tree.txt")" "files task b saw after a kill at $at"
		assert_contains "$O/tree-c.txt" "./added.txt"
		assert_eq "$(wt_list)" "" "git's worktrees after a kill at $at and a rerun"
		assert_eq "$(ls "$R/.git/worktrees" 2>/dev/null | wc -l)" 0 "entries in .git/worktrees after a kill at $at"
		assert_eq "$(find "$D/spares" -mindepth 2 | wc -l)" 0 "spares after a kill at $at"
		assert_eq "$(find "$D/worktrees/k$n" -mindepth 1 | wc -l)" 0 "worktree dirs after a kill at $at"
		expect_exit 0 events verify
	done
}

run_tests "$@"
