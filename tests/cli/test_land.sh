#!/bin/bash
# test_land.sh - end-to-end tests of getting a flow's result out and of
# moving bases to the repository's new HEAD (issue 9, docs/lifecycle.md):
# `hive flow land`, `hive task retry --rebase`, `hive flow rebase`.
#
# Real git repositories, real processes as runtimes, a fresh data dir per
# test (lib.sh).  Every test also checks that the user's checkout -- its
# HEAD, current branch, index and an uncommitted edit -- is untouched.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_land.sh
source "$(dirname "$0")/lib.sh"

# flowspec NAME TASKS_JSON: $S/flow.json for project p over $R.  Each task
# names what its agent writes: "runtime": {"command": ["sh", "agent.sh", FILE, TEXT]}.
flowspec() {
	cat >"$S/flow.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["sh", "agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": 3, "backoff": {"initial": "0s"}}},
 "tasks": $2}
EOF
}

# task KEY FILE TEXT [DEPS_JSON] [CHECK]: one task of a spec.
task() {
	local check=${5:-true}
	printf '{"key": "%s", "title": "%s", "description": "write %s", "depends_on": %s,
	  "runtime": {"adapter": "exec", "command": ["sh", "agent.sh", "%s", "%s"], "timeout": "60s"},
	  "checks": [{"name": "c", "command": "%s", "timeout": "30s"}]}' \
		"$1" "$1" "$2" "${4:-[]}" "$2" "$3" "$check"
}

# A repository whose agent writes TEXT into FILE; the user's checkout
# carries an uncommitted edit, so any write to it would show.
land_repo() {
	sandbox
	echo base >"$R/base.txt"
	cat >"$R/agent.sh" <<'EOF'
cat >/dev/null
printf '%s\n' "$2" > "$1"
EOF
	mkrepo
	echo "user edit" >>"$R/base.txt"
	user_state >"$S/user.before"
}

# The user's checkout as git sees it: HEAD, current branch, status, the edit.
user_state() {
	git -C "$R" rev-parse HEAD
	git -C "$R" symbolic-ref HEAD
	git -C "$R" status --porcelain --untracked-files=all
	cat "$R/base.txt"
}

assert_user_untouched() {
	user_state >"$S/user.after"
	cmp -s "$S/user.before" "$S/user.after" || fail "the user's checkout changed:
$(diff "$S/user.before" "$S/user.after")"
}

# The user commits FILE (TEXT) on their branch; the edit stays uncommitted.
user_commit() {
	printf '%s\n' "$2" >"$R/$1"
	git -C "$R" add "$1" && git -C "$R" -c user.name=u -c user.email=u@u commit -qm "add $1" ||
		fail "cannot commit $1"
	user_state >"$S/user.before"
}

nevents() { "$HIVE_BIN" events list --json | wc -l; }

run_flow() { # NAME: create, start, run; want exit WANT (default 0)
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start "$1"
	expect_exit "${2:-0}" flow run "$1"
}

# ---- flow land ----------------------------------------------------------------

# two leaves (one of them on top of a dependency) land as one merge on the
# base; the printed git command merges it; landing again changes nothing
test_land_two_leaves() {
	land_repo
	flowspec f "[$(task a a.txt A), $(task b b.txt B), $(task c c.txt C '["a"]')]"
	run_flow f
	expect_exit 2 flow land f --actor "$(printf 'a\tb')"
	expect_stderr_line "actor"
	expect_exit 0 flow land f --actor alice
	assert_contains "$OUT" "landed flow f: branch hive/f/landed, commit "
	local commit base
	commit=$(git -C "$R" rev-parse hive/f/landed)
	base=$("$HIVE_BIN" flow status f --json | "$APPEND" --json-get - flow.base_commit)
	assert_contains "$OUT" "$commit"
	# the leaves are b and c (a is c's dependency): a merge of their results
	assert_eq "$(git -C "$R" rev-list --parents -n1 hive/f/landed | wc -w)" 3 "parents + itself of the landed commit"
	assert_eq "$(git -C "$R" rev-parse hive/f/landed^1)" "$(git -C "$R" rev-parse hive/f/b)" "first parent"
	assert_eq "$(git -C "$R" rev-parse hive/f/landed^2)" "$(git -C "$R" rev-parse hive/f/c)" "second parent"
	for f in a b c; do
		assert_eq "$(git -C "$R" show "hive/f/landed:$f.txt")" "$(echo "$f" | tr a-z A-Z)" "$f.txt on the landed branch"
	done
	git -C "$R" merge-base --is-ancestor "$base" hive/f/landed || fail "the base is not in the landed history"
	assert_user_untouched
	events_dump --type flow_landed
	pa "one flow_landed naming the branch, the commit and both leaves" \
		"len(EV) == 1 and P(EV[0])['branch'] == 'hive/f/landed' and P(EV[0])['commit'] == '$commit' \
		 and P(EV[0])['actor'] == 'alice' \
		 and sorted(l['key'] for l in P(EV[0])['leaves']) == ['b', 'c']"
	# the printed command is the one the user runs: it merges the results
	local cmd
	cmd=$(tail -n1 "$OUT")
	expect_exit 0 flow status f
	assert_contains "$OUT" "landed: branch hive/f/landed, commit $commit"
	assert_contains "$cmd" "git -C $R merge hive/f/landed"
	git -C "$R" stash -q && (cd "$S" && eval "$cmd -q -m land" >/dev/null) || fail "the printed command failed: $cmd"
	[ -f "$R/a.txt" ] && [ -f "$R/c.txt" ] || fail "merging the landed branch did not bring the results"
	# again: nothing new
	local before
	before=$(nevents)
	expect_exit 0 flow land f
	assert_contains "$OUT" "already landed flow f: branch hive/f/landed, commit $commit"
	assert_eq "$(nevents)" "$before" "events after landing again"
}

# one leaf lands as its own result commit: no merge commit is made
test_land_one_leaf_fast_forward() {
	land_repo
	flowspec g "[$(task a a.txt A), $(task b b.txt B '["a"]')]"
	run_flow g
	expect_exit 0 flow land g --json
	assert_eq "$(json_get "$OUT" schema)" 2 "schema of the --json document"
	assert_eq "$(json_get "$OUT" commit)" "$(git -C "$R" rev-parse hive/g/b)" "landed commit"
	assert_eq "$(git -C "$R" rev-parse hive/g/landed)" "$(git -C "$R" rev-parse hive/g/b)" "landed branch"
	assert_user_untouched
}

# results that conflict are refused, naming the paths; nothing is written
test_land_conflict_names_paths() {
	land_repo
	flowspec f "[$(task a same.txt A), $(task b same.txt B), $(task c other.txt C)]"
	run_flow f
	local before
	before=$(nevents)
	expect_exit 4 flow land f
	expect_stderr_line "flow f cannot be landed: .*merge conflict in: same\.txt$"
	assert_eq "$(nevents)" "$before" "events after a refused land"
	git -C "$R" rev-parse -q --verify hive/f/landed >/dev/null && fail "a landed branch was made"
	assert_user_untouched
}

# a landed branch hive did not leave there (made by a person, or moved
# since with their commits) is never moved; deleted, it is made again
test_land_never_moves_a_foreign_branch() {
	land_repo
	flowspec f "[$(task a a.txt A), $(task b b.txt B)]"
	run_flow f
	git -C "$R" branch hive/f/landed HEAD
	local before
	before=$(nevents)
	expect_exit 4 flow land f
	expect_stderr_line "branch hive/f/landed exists at [0-9a-f]{12}, which is not where hive landed flow f"
	assert_eq "$(git -C "$R" rev-parse hive/f/landed)" "$(git -C "$R" rev-parse HEAD)" "the user's branch"
	assert_eq "$(nevents)" "$before" "events after the refusal"
	git -C "$R" branch -q -D hive/f/landed
	expect_exit 0 flow land f
	local landed
	landed=$(git -C "$R" rev-parse hive/f/landed)
	# a person commits on it: the next land refuses instead of dropping that commit
	git -C "$R" worktree add -q "$S/wt" hive/f/landed && echo mine >"$S/wt/mine.txt" &&
		git -C "$S/wt" add mine.txt && git -C "$S/wt" -c user.name=u -c user.email=u@u commit -qm mine ||
		fail "cannot commit on the landed branch"
	expect_exit 4 flow land f
	expect_stderr_line "is not where hive landed flow f"
	git -C "$R" merge-base --is-ancestor "$landed" hive/f/landed || fail "the landed commit is gone"
	assert_eq "$(git -C "$R" show hive/f/landed:mine.txt)" mine "the person's commit"
	assert_user_untouched
}

# unknown flow, flow not complete: one clear line, exit 3 / 4, nothing written
test_land_bad_input() {
	land_repo
	flowspec f "[$(task a a.txt A), $(task b b.txt B "[]" false)]"
	run_flow f 1
	local before
	before=$(nevents)
	expect_exit 3 flow land nosuch
	expect_stderr_line "nosuch"
	expect_exit 4 flow land f
	expect_stderr_line "flow f is failed; only a completed flow can be landed"
	expect_exit 4 flow land f --json
	expect_stderr_line
	assert_eq "$(nevents)" "$before" "events after refused lands"
	git -C "$R" rev-parse -q --verify hive/f/landed >/dev/null && fail "a landed branch was made"
	expect_exit 3 flow rebase nosuch
	expect_stderr_line "nosuch"
	expect_exit 2 task retry a --rebase --mode bogus
	expect_stderr_line "bogus"
	assert_eq "$(nevents)" "$before" "events after refused rebases"
	assert_user_untouched
}

# the landed branch is one of the flow's result branches: it keeps the
# flow's name taken, and hive gc --branches deletes it (recorded)
test_land_branch_collected_by_gc() {
	land_repo
	flowspec f "[$(task a a.txt A), $(task b b.txt B)]"
	run_flow f
	expect_exit 0 flow land f
	local commit
	commit=$(git -C "$R" rev-parse hive/f/landed)
	expect_exit 0 gc
	git -C "$R" rev-parse -q --verify hive/f/landed >/dev/null || fail "plain gc deleted the landed branch"
	git -C "$R" branch -q -D hive/f/a hive/f/b
	expect_exit 4 flow create --file "$S/flow.json"
	expect_stderr_line "result branches remain \\(hive/f/landed\\)"
	expect_exit 0 gc --branches
	git -C "$R" rev-parse -q --verify hive/f/landed >/dev/null && fail "gc --branches kept the landed branch"
	events_dump --type branch_deleted
	pa "branch_deleted names the landed branch and its commit" \
		"[(P(e)['branch'], P(e)['commit']) for e in EV] == [('hive/f/landed', '$commit')] and 'task_id' not in EV[0]"
	expect_exit 0 flow create --file "$S/flow.json"
	assert_user_untouched
}

# person_commit BRANCH: a person's commit on BRANCH (not checked out); prints it
person_commit() {
	local c
	c=$(git -C "$R" -c user.name=u -c user.email=u@u commit-tree -p "$1" -m "person on $1" "$1^{tree}") &&
		git -C "$R" update-ref "refs/heads/$1" "$c" || fail "cannot commit on $1"
	echo "$c"
}

# SPEC section 12: gc --branches deletes a result branch only while it is
# where hive left it.  A reused name's branches are the newest flow's: the
# old flow (which had landed too) claims none of them.  A branch a person
# committed on is kept and reported, with no event; an untouched one is
# deleted and recorded under the flow that made it.
test_gc_keeps_branches_a_person_moved() {
	land_repo
	flowspec f2 "[$(task a a.txt A), $(task b b.txt B)]"
	run_flow f2
	expect_exit 0 flow land f2
	expect_exit 0 --json flow status f2
	local old
	old=$(json_py 'd["flow"]["id"]')
	expect_exit 0 gc --branches
	git -C "$R" rev-parse -q --verify hive/f2/landed >/dev/null && fail "gc --branches kept the first landed branch"
	run_flow f2
	expect_exit 0 flow land f2
	expect_exit 0 --json flow status f2
	local new
	new=$(json_py 'd["flow"]["id"]')
	local cl ca cb
	cb=$(git -C "$R" rev-parse hive/f2/b)
	cl=$(person_commit hive/f2/landed)
	ca=$(person_commit hive/f2/a)
	local before
	before=$(nevents)
	expect_exit 0 gc --branches
	assert_contains "$OUT" "hive/f2/landed moved since hive left it (now at $cl): not deleted"
	assert_contains "$OUT" "hive/f2/a moved since hive left it (now at $ca): not deleted"
	assert_contains "$OUT" ", 1 branch of 1 ended flow"
	assert_eq "$(git -C "$R" rev-parse hive/f2/landed)" "$cl" "hive/f2/landed after gc"
	assert_eq "$(git -C "$R" rev-parse hive/f2/a)" "$ca" "hive/f2/a after gc"
	git -C "$R" rev-parse -q --verify hive/f2/b >/dev/null && fail "gc --branches kept the untouched hive/f2/b"
	events_dump --type branch_deleted
	pa "the first gc's deletions are the old flow's" \
		"sorted(P(e)['branch'] for e in EV[:3]) == ['hive/f2/a', 'hive/f2/b', 'hive/f2/landed'] and all(e['flow_id'] == '$old' for e in EV[:3])"
	pa "the second gc deleted only hive/f2/b, recorded under the new flow (no event for a kept branch)" \
		"[(e['flow_id'], P(e)['branch'], P(e)['commit']) for e in EV[3:]] == [('$new', 'hive/f2/b', '$cb')]"
	expect_exit 0 --json gc --branches
	assert_contains "$OUT" '"branches":0'
	assert_contains "$OUT" "hive/f2/landed moved since hive left it (now at $cl): not deleted"
	expect_exit 4 flow create --file "$S/flow.json"
	expect_stderr_line "result branches remain \\(hive/f2/a, hive/f2/landed\\), and hive gc --branches never deletes one moved since hive left it \\(hive/f2/a, hive/f2/landed\\): .*git branch -D"
	git -C "$R" branch -q -D hive/f2/a hive/f2/landed
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 events verify
	assert_user_untouched
}

# ---- task retry --rebase ---------------------------------------------------------

# The check needs config.txt, which the user had not committed yet: after
# they commit it, --rebase moves the task's base to HEAD and the next
# attempt passes; its retry context says the base moved.
test_retry_rebase_after_user_commit() {
	land_repo
	flowspec f "[$(task t t.txt T "[]" "test -f config.txt")]"
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start f
	local old
	old=$(git -C "$R" rev-parse HEAD)
	expect_exit 1 flow tick f
	user_commit config.txt "setting=1"
	local head
	head=$(git -C "$R" rev-parse HEAD)
	expect_exit 0 task retry t --rebase
	assert_contains "$OUT" "base moved from $old to $head"
	expect_exit 0 flow run f
	assert_contains "$OUT" "completed"
	events_dump
	pa "one task_rebased from the old base to HEAD" \
		"len(of('task_rebased')) == 1 and P(one('task_rebased'))['from'] == '$old' \
		 and P(one('task_rebased'))['to'] == '$head' and P(one('task_rebased'))['head'] == '$head'"
	pa "attempt 2 started on the new base" \
		"[P(e)['base_commit'] for e in of('attempt_started')] == ['$old', '$head']"
	pa "the retry context says the base moved" \
		"'base moved from $old to $head' in P(of('retry_context_assembled')[-1])['context'] \
		 and P(of('retry_context_assembled')[-1])['base_moved']['to'] == '$head'"
	pa "the rebase came before the retry request" \
		"[e['type'] for e in EV if e['type'] in ('task_rebased', 'task_retry_requested')] == ['task_rebased', 'task_retry_requested']"
	git -C "$R" show hive/f/t:config.txt >/dev/null 2>&1 || fail "the result lacks the user's config.txt"
	assert_user_untouched
}

# continue mode starts from the new base too, not from the old checkpoint
test_retry_rebase_continue_mode() {
	land_repo
	flowspec f "[$(task t t.txt T "[]" "test -f config.txt")]"
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start f
	expect_exit 1 flow tick f
	user_commit config.txt "setting=1"
	expect_exit 0 task retry t --rebase --mode continue
	expect_exit 0 flow run f
	events_dump --type attempt_started
	pa "attempt 2 starts at HEAD" "P(EV[-1])['base_commit'] == '$(git -C "$R" rev-parse HEAD)'"
}

# a task with a dependency: HEAD is merged with the dependency's result;
# when they conflict the rebase is refused naming the paths, nothing moves
test_retry_rebase_conflict_refused() {
	land_repo
	flowspec f "[$(task a shared.txt A), $(task b b.txt B '["a"]' "test -f config.txt")]"
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start f
	expect_exit 0 flow tick f
	expect_exit 1 flow tick f
	"$HIVE_BIN" task show b --json >"$S/b.json"
	assert_eq "$(json_get "$S/b.json" state)" retry "b after its first attempt"
	user_commit shared.txt "the user's version"
	local before
	before=$(nevents)
	expect_exit 4 task retry b --rebase
	expect_stderr_line "task b cannot be rebased: .*merge conflict in: shared\.txt$"
	assert_eq "$(nevents)" "$before" "events after the refused rebase"
	"$HIVE_BIN" task show b --json >"$S/b2.json"
	assert_eq "$(json_get "$S/b2.json" state)" retry "b after the refused rebase"
	assert_eq "$(json_get "$S/b2.json" base_commit)" "$(json_get "$S/b.json" base_commit)" "b's base"
	assert_user_untouched
	# without the conflict it merges HEAD with a's result
	git -C "$R" rm -q shared.txt && git -C "$R" -c user.name=u -c user.email=u@u commit -qm "drop shared" &&
		user_commit config.txt x
	expect_exit 0 task retry b --rebase
	local to
	to=$("$HIVE_BIN" task show b --json | "$APPEND" --json-get - base_commit)
	git -C "$R" merge-base --is-ancestor "$(git -C "$R" rev-parse HEAD)" "$to" || fail "new base lacks HEAD"
	git -C "$R" merge-base --is-ancestor "$(git -C "$R" rev-parse hive/f/a)" "$to" || fail "new base lacks a's result"
	expect_exit 0 flow run f
	assert_user_untouched
}

# while a runner holds the flow (here waiting out an hour's backoff) no base
# moves: it could start the task from the old one; the refusal names it
test_rebase_refused_while_runner_holds_flow() {
	land_repo
	flowspec f "[$(task t t.txt T "[]" "test -f config.txt")]"
	sed -i 's/"initial": "0s"/"initial": "1h", "max": "1h", "jitter": "none"/' "$S/flow.json"
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start f
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err" </dev/null
	wait_until 60 grep -q "waiting: retry of" "$T/run.out" || fail "flow run is not waiting: $(cat "$T/run.out" "$T/run.err")"
	user_commit config.txt x
	local before
	before=$(nevents)
	expect_exit 4 task retry t --rebase
	expect_stderr_line "flow f is locked by another runner"
	expect_exit 4 flow rebase f
	expect_stderr_line "flow f is locked by another runner"
	assert_eq "$(nevents)" "$before" "events after the refusals"
	kill -INT "$BG_PID"
	pid_gone "$BG_PID" 20 || fail "flow run did not stop on SIGINT"
	expect_exit 0 task retry t --rebase
	expect_exit 0 flow run f
	assert_user_untouched
}

# ---- flow rebase -------------------------------------------------------------------

# succeeded tasks keep their base; failed ones move and go back to pending;
# a task waiting on them follows; the flow's base moves; the flow then completes
test_flow_rebase_skips_succeeded() {
	land_repo
	flowspec f "[$(task a a.txt A), $(task b b.txt B "[]" "test -f config.txt"), $(task c c.txt C '["b"]')]"
	sed -i 's/"max_attempts": 3/"max_attempts": 1/' "$S/flow.json"
	run_flow f 1
	"$HIVE_BIN" task show a --json >"$S/a.json"
	user_commit config.txt "setting=1"
	local head
	head=$(git -C "$R" rev-parse HEAD)
	expect_exit 4 flow rebase f
	expect_stderr_line "task b: retry limit exceeded: 1 of 1 attempts used; pass --reset-count"
	HIVE_ACTOR=bob expect_exit 0 flow rebase f --reset-count
	assert_contains "$OUT" "flow f rebased onto the repository's HEAD $head"
	assert_contains "$OUT" "back to pending"
	assert_contains "$OUT" "follows its dependencies"
	events_dump
	local b_id
	b_id=$("$HIVE_BIN" task show b --json | "$APPEND" --json-get - id)
	pa "only b was rebased" "[e['task_id'] for e in of('task_rebased')] == ['$b_id']"
	pa "flow rebase's events carry the actor" \
		"all(P(e).get('actor') == 'bob' for e in of('task_rebased') + of('flow_rebased') + of('task_retry_requested'))"
	pa "the flow's base moved" "P(one('flow_rebased'))['to'] == '$head' and P(one('flow_rebased'))['tasks'] == ['b']"
	"$HIVE_BIN" task show a --json >"$S/a2.json"
	assert_eq "$(json_get "$S/a2.json" base_commit)" "$(json_get "$S/a.json" base_commit)" "a's base"
	assert_eq "$(json_get "$S/a2.json" state)" success "a's state"
	expect_exit 0 flow run f
	assert_contains "$OUT" "completed"
	expect_exit 0 flow land f
	for f in a b c config; do
		git -C "$R" show "hive/f/landed:$f.txt" >/dev/null 2>&1 || fail "landed branch lacks $f.txt"
	done
	assert_user_untouched
}

# flows that cannot be rebased say why
test_flow_rebase_refusals() {
	land_repo
	flowspec f "[$(task a a.txt A)]"
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 4 flow rebase f
	expect_stderr_line "has not started"
	expect_exit 0 flow start f
	expect_exit 0 flow run f
	local before
	before=$(nevents)
	expect_exit 4 flow rebase f
	expect_stderr_line "flow f is completed"
	assert_eq "$(nevents)" "$before" "events after refused rebases"
}

run_tests "$@"
