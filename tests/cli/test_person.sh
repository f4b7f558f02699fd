#!/bin/bash
# test_person.sh - a person in the loop (issue 10, SPEC section 12):
# `task retry --note/--note-file` reaches the next attempt's prompt,
# retry context and input.json, and later attempts until replaced;
# `task edit` changes the next attempt's check and its context says so;
# `task accept` of an escalated task makes its dependants run on the
# accepted commit and the flow complete; every event a person's command
# appends carries `actor` (--actor > $HIVE_ACTOR > the login name); bad
# input is one line, its exit code, and nothing written.
#
# Real repos, real processes: the agents are shell scripts that keep a
# copy of each attempt's prompt.md and input.json in $O.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_person.sh
source "$(dirname "$0")/lib.sh"

# flowspec TASKS_JSON: flow f of project p over $R.
flowspec() {
	cat >"$S/flow.json" <<JSON
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s",
                          "env": {"OUT": "$O"}}},
 "tasks": $1}
JSON
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start f
}

# An agent that never fixes anything (it writes 3; the check wants 2),
# keeping each attempt's prompt and input.
stubborn_repo() {
	echo 1 >"$R/value.txt"
	script agent.sh <<'SH'
#!/bin/sh
cp "$HIVE_PROMPT_FILE" "$OUT/prompt.$HIVE_ATTEMPT_NUMBER"
cp "$HIVE_INPUT_FILE" "$OUT/input.$HIVE_ATTEMPT_NUMBER.json"
echo 3 > value.txt
SH
	mkrepo
}

UNIT='"checks": [{"name": "unit", "command": "test \"$(cat value.txt)\" = 2"}]'

# How many events the log holds (nothing written = the same number).
n_events() { "$HIVE_BIN" events list --json </dev/null | wc -l; }

test_note_reaches_the_next_attempts_until_replaced() {
	sandbox
	stubborn_repo
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT, \"retry\": {\"max_attempts\": 1}}]"
	expect_exit 1 flow run f
	expect_exit 0 task retry fix --reset-count --note "The check wants 2 in value.txt, not 3." --actor alice
	assert_contains "$OUT" "your note goes to it"
	expect_exit 1 flow run f
	# attempt 2: at the top of the retry context, with who and when
	assert_contains "$O/prompt.2" "### Guidance from a person"
	assert_contains "$O/prompt.2" "From alice at "
	assert_contains "$O/prompt.2" "> The check wants 2 in value.txt, not 3."
	local top
	top=$(sed -n '/^## Retry context/,/^### Attempt 1/p' "$O/prompt.2")
	assert_contains "$top" "Guidance from a person"
	assert_eq "$(json_get "$O/input.2.json" guidance.note)" "The check wants 2 in value.txt, not 3." "input.json guidance"
	assert_eq "$(json_get "$O/input.2.json" guidance.actor)" alice "input.json guidance actor"
	# attempt 3, retried without a note: the guidance still applies
	expect_exit 0 task retry fix --reset-count
	expect_exit 1 flow run f
	assert_contains "$O/prompt.3" "> The check wants 2 in value.txt, not 3."
	assert_eq "$(json_get "$O/input.3.json" guidance.before_attempt)" 2 "guidance given before attempt 2"
	# a new note (from a file, two lines) replaces it
	printf 'Write 2.\nNothing else.\n' >"$T/note.md"
	HIVE_ACTOR=bob expect_exit 0 task retry fix --reset-count --note-file "$T/note.md"
	expect_exit 1 flow run f
	assert_contains "$O/prompt.4" "From bob at "
	assert_contains "$O/prompt.4" "> Write 2.
> Nothing else."
	assert_not_contains "$O/prompt.4" "not 3."
	# the record: the event, the retry context payload, inspect, status
	events_dump --type task_retry_requested
	pa "notes and actors in task_retry_requested" \
		'[(P(e).get("note"), P(e).get("actor")) for e in EV] == [("The check wants 2 in value.txt, not 3.", "alice"),
		  (None, "'"$(id -un)"'"),
		  ("Write 2.\nNothing else.\n", "bob")]'
	local a4='f/fix#4' # FLOW/TASK#N (SPEC section 12)
	expect_exit 0 attempt inspect "$a4"
	assert_contains "$OUT" "guidance: from bob at "
	assert_contains "$OUT" "Write 2. ..."
	expect_exit 0 --json attempt inspect "$a4" --context
	assert_eq "$(json_get "$OUT" guidance.actor)" bob "context payload guidance"
	expect_exit 0 flow status f
	assert_contains "$OUT" "note for fix from bob at "
	expect_exit 0 events verify
}

test_note_bad_inputs_write_nothing() {
	sandbox
	stubborn_repo
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT, \"retry\": {\"max_attempts\": 1}}]"
	expect_exit 1 flow run f
	local before
	before=$(n_events)
	expect_exit 2 task retry fix --note "a" --note-file "$T/x"
	expect_stderr_line "give --note or --note-file, not both"
	expect_exit 3 task retry fix --note-file "$T/missing.md"
	expect_stderr_line "--note-file .*missing.md: cannot read it"
	: >"$T/empty.md"
	expect_exit 2 task retry fix --note-file "$T/empty.md"
	expect_stderr_line "--note-file .*empty.md is empty"
	printf '  \n\n' >"$T/blank.md"
	expect_exit 2 task retry fix --note-file "$T/blank.md"
	expect_stderr_line "is empty"
	expect_exit 3 task retry fix --note-file "$T"
	expect_stderr_line "cannot read it"
	expect_exit 2 task retry fix --note "$(head -c 5000 /dev/zero | tr '\0' x)"
	expect_stderr_line "--note is 5000 bytes; at most 4096"
	expect_exit 2 task retry fix --note "$(printf 'bad\033[31m')"
	expect_stderr_line "not UTF-8 text"
	expect_exit 2 task retry fix --note "ok" --actor ""
	expect_stderr_line 'actor "": use 1 to 64'
	assert_eq "$(n_events)" "$before" "events after refused retries"
	expect_exit 0 task show fix
	assert_contains "$OUT" "state:    failed"
}

test_edit_changes_the_next_check_and_says_so() {
	sandbox
	stubborn_repo
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT, \"retry\": {\"max_attempts\": 1}}]"
	expect_exit 1 flow run f
	local before
	before=$(n_events)
	# bad input: one line, its exit code, nothing written
	expect_exit 2 task edit fix
	expect_stderr_line "nothing to change"
	expect_exit 2 task edit fix --title "Fix the value"
	expect_stderr_line "nothing changes"
	expect_exit 3 task edit fix --remove-check lint
	expect_stderr_line 'no check named "lint" to remove \(its checks: unit\)'
	expect_exit 2 task edit fix --retry '{"max_attempts": 0}'
	expect_stderr_line "task edit: fix.retry.max_attempts: must be from 1"
	expect_exit 2 task edit fix --retry '{"max_attempts": '
	expect_stderr_line "--retry is not valid JSON"
	expect_exit 2 task edit fix --check 'bad name=true'
	expect_stderr_line 'invalid name "bad name"'
	expect_exit 2 task edit fix --check 'unit'
	expect_stderr_line "use NAME=COMMAND"
	expect_exit 3 task edit nosuch --title x
	assert_eq "$(n_events)" "$before" "events after refused edits"
	# the edit: the check now wants 3, plus an optional one, more attempts
	expect_exit 0 task edit fix --check 'unit=test "$(cat value.txt)" = 3' --optional-check 'lint=true' \
		--retry '{"max_attempts": 3}' --reason "3 is the right value" --actor carol
	assert_contains "$OUT" "task fix edited (checks, retry)"
	events_dump --type task_edited
	pa "task_edited has before/after and the actor" \
		'len(EV) == 1 and P(EV[0])["actor"] == "carol" and P(EV[0])["after_attempt"] == 1
		 and P(EV[0])["changes"]["checks"]["before"][0]["command"] == "test \"$(cat value.txt)\" = 2"
		 and [c["name"] for c in P(EV[0])["changes"]["checks"]["after"]] == ["unit", "lint"]
		 and P(EV[0])["changes"]["retry"]["after"]["max_attempts"] == 3 and P(EV[0])["reason"] == "3 is the right value"'
	expect_exit 0 task retry fix
	expect_exit 0 flow run f
	# attempt 2 ran the new check (the agent still writes 3) and was told
	assert_contains "$O/prompt.2" '`unit` (required): `test "$(cat value.txt)" = 3` must exit 0'
	assert_contains "$O/prompt.2" "### Changed by a person since attempt 1"
	assert_contains "$O/prompt.2" "carol at "
	assert_contains "$O/prompt.2" '- check "unit" changed: `test "$(cat value.txt)" = 3` (was `test "$(cat value.txt)" = 2`)'
	assert_contains "$O/prompt.2" '- check "lint" added: `true` (optional)'
	assert_contains "$O/prompt.2" "- retry policy max_attempts: 3 (was 1)"
	expect_exit 0 task show fix
	assert_contains "$OUT" "state:    success"
	expect_exit 0 flow status f
	assert_contains "$OUT" "fix edited by carol at "
	# a task that succeeded runs no more attempts: nothing to edit
	expect_exit 4 task edit fix --title "Another"
	expect_stderr_line "has succeeded"
	expect_exit 0 events verify
}

# fix escalates (its agent never satisfies the check); docs depends on it
# and records the commit it starts from.
escalating_flow() {
	stubborn_repo
	script docs.sh <<'SH'
#!/bin/sh
cat >/dev/null
git rev-parse HEAD > "$OUT/docs.base"
cat value.txt > "$OUT/docs.value"
SH
	git -C "$R" add docs.sh && git -C "$R" -c user.name=t -c user.email=t@t commit -qm docs
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT,
	            \"retry\": {\"max_attempts\": 2, \"on_exhausted\": \"escalate\"}},
	           {\"key\": \"docs\", \"title\": \"Document it\", \"depends_on\": [\"fix\"],
	            \"runtime\": {\"command\": [\"./docs.sh\"]}}]"
	expect_exit 1 flow run f
	expect_exit 0 task show fix
	assert_contains "$OUT" "state:    escalated"
}

test_accept_escalated_task_runs_dependants_on_the_accepted_commit() {
	sandbox
	escalating_flow
	events_dump --type changes_recorded
	local c1 c2
	c1=$(pv 'P(EV[0])["commit"]')
	c2=$(pv 'P(EV[1])["commit"]')
	assert_eq "$(git -C "$R" rev-parse hive/f/fix)" "$c2" "branch before accept"
	[ -d "$HIVE_DIR/worktrees/f/fix" ] || fail "an escalated task keeps its worktree"
	expect_exit 0 task accept fix --attempt 1 --reason "3 is fine for now" --actor dave
	assert_contains "$OUT" "task fix accepted: attempt 1 (commit ${c1:0:12}) is its result, on branch hive/f/fix"
	assert_contains "$OUT" "its flow runs again"
	assert_eq "$(git -C "$R" rev-parse hive/f/fix)" "$c1" "result branch after accept"
	[ ! -e "$HIVE_DIR/worktrees/f/fix" ] || fail "the accepted task's worktree is still there"
	expect_exit 0 --json task show fix
	assert_eq "$(json_get "$OUT" state)" success "state"
	assert_eq "$(json_get "$OUT" result_commit)" "$c1" "result_commit"
	assert_eq "$(json_get "$OUT" accepted.actor)" dave "accepted.actor"
	expect_exit 0 flow status f
	assert_contains "$OUT" "flow f ("
	assert_contains "$OUT" "running"
	assert_contains "$OUT" "fix accepted by dave at "
	assert_contains "$OUT" "attempt 1 (commit ${c1:0:12}): 3 is fine for now"
	events_dump
	pa "accept: one transaction of events, all by dave" \
		'[e["type"] for e in EV if P(e).get("actor") == "dave"][:3] == ["task_accepted", "task_state_changed", "flow_resumed"]
		 and P(one("task_accepted"))["commit"] == "'"$c1"'" and P(one("task_accepted"))["attempt_number"] == 1
		 and one("task_accepted")["attempt_id"] == P(one("task_accepted"))["attempt_id"]
		 and [P(e)["to"] for e in of("task_state_changed") if P(e).get("actor") == "dave"] == ["success", "ready"]
		 and P(of("worktree_released")[-1]).get("actor") == "dave"'
	# the next run starts docs on the accepted commit; the flow completes
	expect_exit 0 flow run f
	assert_eq "$(cat "$O/docs.base")" "$c1" "docs started from"
	assert_eq "$(cat "$O/docs.value")" 3 "docs saw the accepted work"
	expect_exit 0 flow status f
	assert_contains "$OUT" "): completed"
	expect_exit 0 events verify
}

test_accept_refusals_write_nothing() {
	sandbox
	escalating_flow
	local before
	before=$(n_events)
	expect_exit 2 task accept fix
	expect_stderr_line -- "--reason TEXT is required"
	expect_exit 2 task accept fix --reason ""
	expect_stderr_line "give a reason"
	expect_exit 2 task accept fix --reason x --attempt 0
	expect_stderr_line "attempt number"
	expect_exit 3 task accept fix --reason x --attempt 9
	expect_stderr_line "task fix has no attempt 9 \(it has 2\)"
	expect_exit 4 task accept docs --reason x
	expect_stderr_line "task docs is pending; only a failed, escalated or retry task can be accepted"
	expect_exit 3 task accept nosuch --reason x
	expect_exit 2 task accept fix --reason x --actor "$(printf 'a\tb')"
	expect_stderr_line "actor"
	assert_eq "$(n_events)" "$before" "events after refused accepts"
	assert_eq "$(git -C "$R" rev-parse hive/f/fix)" "$(git -C "$HIVE_DIR/worktrees/f/fix" rev-parse HEAD)" "branch untouched"
	# the default is the latest attempt with a checkpoint commit; once
	# accepted, the task is success and cannot be accepted again
	expect_exit 0 task accept fix --reason "good enough"
	assert_contains "$OUT" "attempt 2"
	expect_exit 4 task accept fix --reason again
	expect_stderr_line "task fix is success"
}

# A task waiting for its retry may be started by a runner at any moment:
# accepting it is refused while a runner holds the flow, and works once
# the runner is gone.
test_accept_of_a_retry_task_waits_for_the_runner() {
	sandbox
	stubborn_repo
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT,
	            \"retry\": {\"max_attempts\": 3, \"backoff\": {\"initial\": \"1h\", \"max\": \"1h\", \"jitter\": \"none\"}}}]"
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err" </dev/null
	local runner=$BG_PID
	wait_until 60 grep -q "waiting: retry of" "$T/run.out" || fail "flow run is not waiting: $(cat "$T/run.out" "$T/run.err")"
	local before
	before=$(n_events)
	expect_exit 4 task accept fix --reason "good enough"
	expect_stderr_line "task fix waits for a retry that a runner may start now; stop the runner first: flow f is locked"
	assert_eq "$(n_events)" "$before" "events after the refused accept"
	kill -TERM "$runner"
	pid_gone "$runner" 20 || fail "flow run did not stop on SIGTERM"
	expect_exit 0 task accept fix --reason "good enough"
	expect_exit 0 flow status f
	assert_contains "$OUT" "): completed"
	[ ! -e "$HIVE_DIR/worktrees/f/fix" ] || fail "the worktree of a completed flow is still there"
	expect_exit 0 events verify
}

test_actor_precedence() {
	sandbox
	stubborn_repo
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT}]"
	local login
	login=$(id -un)
	expect_exit 0 flow pause f --actor erin
	HIVE_ACTOR=frank expect_exit 0 flow resume f --actor gina
	HIVE_ACTOR=frank expect_exit 0 flow pause f
	HIVE_ACTOR= expect_exit 0 flow resume f
	expect_exit 2 flow abort f --actor ""
	expect_stderr_line 'actor "": use 1 to 64 bytes'
	expect_exit 0 task abort fix --reason "not today"
	events_dump
	pa "actors: --actor, then HIVE_ACTOR, then the login name" \
		'[P(e).get("actor") for e in of("flow_paused") + of("flow_resumed")] == ["erin", "frank", "gina", "'"$login"'"]
		 and P(one("task_aborted")).get("actor") == "'"$login"'"
		 and P(of("task_state_changed")[-1]).get("actor") == "'"$login"'"
		 and P(one("flow_started")).get("actor") == "'"$login"'"
		 and all(P(e).get("actor") == "'"$login"'" for e in of("project_created") + of("task_created") + of("flow_created"))'
	expect_exit 0 events verify
}

# Creating things and collecting them are a person's commands too: project,
# task and flow create and gc carry the actor; a bad one writes nothing.
test_actor_on_create_and_gc() {
	sandbox
	stubborn_repo
	expect_exit 0 project create p --repo "$R" --actor hana
	HIVE_ACTOR=ivan expect_exit 0 task create p "Fix the value" --key fix --runtime-command ./agent.sh \
		--check 'unit=true'
	local before
	expect_exit 0 events list --json
	before=$(printf '%s\n' "$OUT" | wc -l)
	expect_exit 2 flow create p --name f --task fix --actor ""
	expect_stderr_line 'actor "": use 1 to 64 bytes'
	expect_exit 2 project create q --repo "$R" --actor "$(printf 'a\tb')"
	expect_exit 0 events list --json
	assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "$before" "a refused actor wrote nothing"
	expect_exit 0 flow create p --name f --task fix --actor jane
	expect_exit 0 flow start f
	expect_exit 0 flow run f
	expect_exit 0 gc --actor kim
	events_dump
	pa "creation and gc events carry their actor" \
		'P(one("project_created")).get("actor") == "hana" and P(one("task_created")).get("actor") == "ivan"
		 and P(one("flow_created")).get("actor") == "jane"
		 and len(of("flow_collected")) == 1 and P(one("flow_collected")).get("actor") == "kim"'
	expect_exit 0 events verify
}

# A blank runtime command would run nothing and "succeed": refused by task
# create, task edit and a spec, with nothing written.
test_blank_runtime_command_refused() {
	sandbox
	stubborn_repo
	expect_exit 0 project create p --repo "$R"
	expect_exit 0 task create p "Fix the value" --key fix --runtime-command ./agent.sh
	local before
	expect_exit 0 events list --json
	before=$(printf '%s\n' "$OUT" | wc -l)
	expect_exit 2 task create p "Blank" --key blank --runtime-command '   '
	expect_stderr_line 'task create: --runtime-command is empty'
	expect_exit 2 task edit fix --runtime-command ''
	expect_stderr_line 'task edit: --runtime-command is empty'
	cat >"$S/blank.json" <<JSON
{"name": "b", "project": {"name": "p", "repo": "repo"},
 "tasks": [{"key": "b", "title": "B", "runtime": {"adapter": "exec", "command": ["  "]}}]}
JSON
	expect_exit 2 flow create --file "$S/blank.json" --dry-run
	expect_stderr_line 'runtime.command.0.: must be a non-empty program name'
	expect_exit 0 events list --json
	assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "$before" "refused blank commands wrote nothing"
}

# Accepting the last unfinished task completes its flow, and the message says so.
test_accept_completing_the_flow_says_so() {
	sandbox
	stubborn_repo
	flowspec "[{\"key\": \"fix\", \"title\": \"Fix the value\", $UNIT, \"retry\": {\"max_attempts\": 1}}]"
	expect_exit 1 flow run f
	expect_exit 0 task accept fix --reason "3 will do"
	assert_contains "$OUT" "its flow is completed"
	expect_exit 0 flow status f
	assert_contains "$OUT" "): completed"
}

run_tests "$@"
