#!/bin/bash
# test_steer.sh - a sleeping runner obeys the world (issue 8 item 2):
# `flow run` waiting out a long backoff wakes on any new event for its
# flow (flow abort/pause, task abort/retry) and re-evaluates at once, and a
# verdict's retry_after is bounded by retry.max_retry_after (SPEC 12).
#
# The runner sleeps on a 1 h backoff; the steering command comes from
# another process.  Bounds on how soon the runner reacts are generous
# (20 s, polled): they catch a runner that sleeps the hour, not a slow one.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_steer.sh
source "$(dirname "$0")/lib.sh"

# flowspec NAME TASKS_JSON: $S/flow.json for project p over $R.
flowspec() {
	cat >"$S/flow.json" <<JSON
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s",
                          "env": {"OUT": "$O"}}},
 "tasks": $2}
JSON
}

create_start() { expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start "$1"; }

# A task whose attempt 1 fails its check and waits a 1 h backoff; attempt
# 2 (when it ever runs) fixes the value.
hour_backoff_flow() {
	second_try_repo
	flowspec f '[{"key": "fix", "title": "Fix the value",
	  "checks": [{"name": "unit", "command": "sh check.sh"}],
	  "retry": {"max_attempts": 3, "backoff": {"initial": "1h", "max": "1h", "jitter": "none"}}}]'
	create_start f
}

retry_scheduled() {
	"$HIVE_BIN" events list --type task_retry_scheduled 2>/dev/null | grep -q task_retry_scheduled
}

# start_sleeping_runner: `flow run f` in the background, once it has
# scheduled the 1 h retry and is waiting (its pid in $RUNNER).
start_sleeping_runner() {
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err" </dev/null
	RUNNER=$BG_PID
	wait_until 60 retry_scheduled || fail "flow run never scheduled the retry: $(cat "$T/run.err")"
	wait_until 20 grep -q "waiting: retry of" "$T/run.out" || fail "flow run is not waiting: $(cat "$T/run.out")"
}

# runner_exits WANT_RC: the runner ends within 20 s with status WANT_RC.
runner_exits() {
	pid_gone "$RUNNER" 20 || fail "flow run still sleeps 20 s after the command (it waits the hour)"
	local rc=0
	wait "$RUNNER" || rc=$?
	san_check "$T/run.err"
	assert_eq "$rc" "$1" "flow run exit status (stderr: $(cat "$T/run.err"))"
}

test_flow_abort_wakes_a_sleeping_runner() {
	sandbox
	hour_backoff_flow
	start_sleeping_runner
	expect_exit 0 flow abort f --reason "stop waiting"
	runner_exits 4
	assert_contains "$T/run.err" "aborted"
	# the lock is free: another runner gets the flow's answer at once
	expect_exit 4 flow run f
	expect_stderr_line "aborted"
	expect_exit 0 events verify
}

test_flow_pause_wakes_a_sleeping_runner() {
	sandbox
	hour_backoff_flow
	start_sleeping_runner
	expect_exit 0 flow pause f
	runner_exits 4
	assert_contains "$T/run.err" "paused"
	expect_exit 0 flow resume f
	expect_exit 0 events verify
}

test_task_retry_runs_the_task_now() {
	sandbox
	hour_backoff_flow
	start_sleeping_runner
	expect_exit 0 task retry fix
	runner_exits 0
	events_dump
	pa "attempt 2 ran and the flow completed" \
		'len(of("attempt_started")) == 2 and P(of("attempt_completed")[-1])["outcome"] == "success" and len(of("flow_completed")) == 1'
	expect_exit 0 events verify
}

test_task_abort_wakes_a_sleeping_runner() {
	sandbox
	hour_backoff_flow
	start_sleeping_runner
	expect_exit 0 task abort fix --reason "not worth it"
	runner_exits 1
	events_dump
	pa "one attempt only; the flow failed" 'len(of("attempt_started")) == 1 and len(of("flow_failed")) == 1'
	expect_exit 0 events verify
}

# An event for another flow does not disturb the sleeper (it keeps
# waiting, and says so only once), and SIGTERM still ends the wait.
test_other_flows_do_not_wake_it_and_sigterm_does() {
	sandbox
	hour_backoff_flow
	start_sleeping_runner
	expect_exit 0 project create q --repo "$R"
	expect_exit 0 task create q "Other work" --key other --runtime-command true
	expect_exit 0 flow create q --name other --task other
	expect_exit 0 flow start other
	sleep 2
	# it sleeps: a spinning wait would burn these 2 s (generous bound: 1 s of CPU)
	local ticks
	ticks=$(awk '{print $14 + $15}' "/proc/$RUNNER/stat")
	[ "$ticks" -lt "$(getconf CLK_TCK)" ] || fail "the sleeping runner used $ticks CPU ticks"
	pid_alive "$RUNNER" || fail "flow run ended on another flow's events: $(cat "$T/run.err")"
	assert_eq "$(grep -c "waiting: retry of" "$T/run.out")" 1 "'waiting: retry of' lines"
	kill -TERM "$RUNNER"
	runner_exits 143 # 128 + SIGTERM (SPEC 12)
	assert_contains "$T/run.err" "stopped by a signal"
}

# ---- retry_after is bounded (issue 8 item 2b, SPEC 12) -------------------------

# verdict_flow VERDICT [RETRY_EXTRA]: a task whose runtime reports VERDICT
# and exits 1; one tick runs attempt 1 and schedules the retry.
verdict_flow() {
	script agent.sh <<SH
#!/bin/sh
cat >/dev/null
printf '%s' '$1' > "\$HIVE_RESULT_FILE"
exit 1
SH
	mkrepo
	flowspec f "[{\"key\": \"fix\", \"title\": \"Rate limited\",
	  \"retry\": {\"max_attempts\": 3, \"backoff\": {\"initial\": \"0s\", \"max\": \"1s\"}${2:+, $2}}}]"
	create_start f
	expect_exit 1 flow tick f
	events_dump --type task_retry_scheduled
}

test_retry_after_capped_at_one_hour_by_default() {
	sandbox
	verdict_flow '{"retry_after": "2000000000h", "summary": "come back in 228000 years"}'
	pa "the delay is the default max_retry_after, 1h" 'P(one("task_retry_scheduled"))["delay_ms"] == 3600000'
	pa "the event says it was capped, and what was asked" \
		'P(one("task_retry_scheduled"))["retry_after_capped"] is True and P(one("task_retry_scheduled"))["retry_after_requested_ms"] == 2000000000 * 3600000'
	expect_exit 0 --json task show fix
	pa "the due time is within the hour" \
		'J("stdout")["next_attempt_at_ms"] - P(one("task_retry_scheduled"))["not_before_ms"] == 0 and J("stdout")["retry"]["max_retry_after_ms"] == 3600000'
	expect_exit 0 events verify
}

test_retry_after_capped_by_the_policy() {
	sandbox
	verdict_flow '{"retry_after": "1m"}' '"max_retry_after": "5s"'
	pa "capped at the policy's 5s" \
		'P(one("task_retry_scheduled"))["delay_ms"] == 5000 and P(one("task_retry_scheduled"))["retry_after_capped"] is True and P(one("task_retry_scheduled"))["retry_after_requested_ms"] == 60000'
}

test_retry_after_under_the_cap_is_not_marked() {
	sandbox
	verdict_flow '{"retry_after": "2s"}'
	pa "2s beyond backoff.max 1s, not capped, no mark" \
		'P(one("task_retry_scheduled"))["delay_ms"] == 2000 and "retry_after_capped" not in P(one("task_retry_scheduled")) and "retry_after_requested_ms" not in P(one("task_retry_scheduled"))'
}

test_max_retry_after_invalid_is_refused() {
	sandbox
	script agent.sh <<'SH'
#!/bin/sh
SH
	mkrepo
	flowspec f '[{"key": "fix", "title": "t", "retry": {"max_retry_after": "forever"}}]'
	expect_exit 2 flow create --file "$S/flow.json"
	expect_stderr_line "max_retry_after"
	# nothing written: no data dir, or an empty log
	if [ -d "$HIVE_DIR" ]; then
		expect_exit 0 events list
		assert_empty "$OUT"
	fi
}

run_tests "$@"
