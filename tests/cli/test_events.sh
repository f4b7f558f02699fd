#!/bin/bash
# test_events.sh - `hive events list|stream|verify` end to end, plus the
# global behaviour every command shares (help, version, usage errors,
# global flags anywhere, exit codes, one-line errors).
#
# Logs are made by tests/cli/append_events (the store API, or raw LMDB for
# "what a newer hive wrote"), and by real hive commands for `verify`.
. "$(dirname "$0")/lib.sh"

PROJ=0194a1b2-0000-7000-8000-0000000000aa
F1=f1000000-0000-7000-8000-000000000001
F2=f2000000-0000-7000-8000-000000000002
T1=71000000-0000-7000-8000-000000000001
T2=72000000-0000-7000-8000-000000000002
A1=a1000000-0000-7000-8000-000000000001

# The reference log (14 events):
#   1 project_created | 2-4 flow_created F1 | 5-6 flow_created F2
#   7-8 task_ready F1/T1 | 9 task_ready F2/T2 | 10-12 attempt_started F1/T1/A1
#   13 check_completed F1/T1/A1 | 14 future_type F2 (a type this build does not know)
make_log() {
	append_events "$HIVE_DIR" project_created - - - &&
	append_events "$HIVE_DIR" flow_created "$F1" - - 3 &&
	append_events --batch "$HIVE_DIR" flow_created "$F2" - - 2 &&
	append_events "$HIVE_DIR" task_ready "$F1" "$T1" - 2 &&
	append_events "$HIVE_DIR" task_ready "$F2" "$T2" - &&
	append_events --batch "$HIVE_DIR" attempt_started "$F1" "$T1" "$A1" 3 &&
	append_events "$HIVE_DIR" check_completed "$F1" "$T1" "$A1" &&
	append_events --payload '{"spin":[1,-1]}' "$HIVE_DIR" future_type "$F2" - - ||
		fail "could not build the reference log"
}

# list_seqs ARGS...: the seqs `events list --json ARGS` prints, space-separated.
list_seqs() {
	run_hive events list --json "$@"
	[ "$RC" = 0 ] || fail "events list --json $* exited $RC: $(cat "$ERR")"
	[ -s "$ERR" ] && fail "events list --json $* wrote to stderr: $(cat "$ERR")"
	seqs_of "$OUT"
}

stream_seqs() {
	run_hive events stream "$@"
	[ "$RC" = 0 ] || fail "events stream $* exited $RC: $(cat "$ERR")"
	seqs_of "$OUT"
}

# ---- listing -------------------------------------------------------------------

# An empty (even not yet existing) log lists nothing, quietly, exit 0.
test_list_empty_log() {
	# no data dir yet: read-only commands say so and create nothing
	expect_exit 3 events list
	expect_stderr_line "no hive data in $HIVE_DIR"
	[ ! -e "$HIVE_DIR" ] || fail "events list created $HIVE_DIR"
	append_events "$HIVE_DIR" flow_created - - - 0 || fail "cannot create an empty store"
	expect_exit 0 events list
	assert_empty "$OUT"
	assert_empty "$ERR"
	expect_exit 0 events list --json
	assert_empty "$OUT"
	expect_exit 0 events stream
	assert_empty "$OUT"
	expect_exit 0 events list --tail 5 --after 3 --limit 2
	assert_empty "$OUT"
	expect_exit 0 events verify
	assert_contains "$OUT" "verified 0 events"
}

# `events list --json` prints each event's stored bytes exactly, one per
# line; so does `events stream`.
test_json_is_the_stored_bytes() {
	append_events --print-raw "$HIVE_DIR" flow_created "$F1" - - 3 >"$T/raw" || fail "append"
	append_events --print-raw --payload '{"z":1,"a":"caf\u00e9 \"q\"","n":[1.5,null,true]}' \
		"$HIVE_DIR" task_ready "$F1" "$T1" - >>"$T/raw" || fail "append"
	assert_lines "$T/raw" 4
	expect_exit 0 events list --json
	cmp -s "$OUT" "$T/raw" || fail "events list --json differs from the stored bytes:
$(diff "$T/raw" "$OUT")"
	expect_exit 0 events stream
	cmp -s "$OUT" "$T/raw" || fail "events stream differs from the stored bytes"
	assert_ndjson_events "$OUT"
}

# An event of a type this build does not know, written by "a newer hive"
# with its own key order, spacing, escapes and an extra envelope field, is
# listed and streamed byte for byte, shown in the human list, found by
# --type, and passes verify.
test_unknown_type_printed_as_stored() {
	# only unknown types here: they touch no projection, so verify can pass
	append_events "$HIVE_DIR" older_unknown "$F1" - - 2 || fail "append"
	local newer='{"type":"hologram_projected",  "seq": @SEQ@ ,"id":"0194a1b2-0000-7000-8000-0000000000ee","time":"2031-01-02T03:04:05.000001Z","flow_id":"'$F1'","payload":{"b":2, "a":[1,2.50],"s":"\u00e9\n"},"causation_id":"c-9"}'
	append_events --raw "$HIVE_DIR" "$newer" >"$T/raw3" || fail "raw append"
	append_events --print-raw --payload '{"beam":"\u263a"}' "$HIVE_DIR" future_thing "$F1" - - >"$T/raw4" ||
		fail "append of an unknown type through the store API"
	grep -q '"type":"future_thing"' "$T/raw4" || fail "unknown type name not stored: $(cat "$T/raw4")"
	expect_exit 0 events list --json --after 2
	cat "$T/raw3" "$T/raw4" >"$T/want"
	cmp -s "$OUT" "$T/want" || fail "unknown types were not printed as stored:
$(diff "$T/want" "$OUT")"
	expect_exit 0 events stream --after 2 --limit 1
	cmp -s "$OUT" "$T/raw3" || fail "stream rewrote the unknown event"
	expect_exit 0 events list --type hologram_projected --json
	cmp -s "$OUT" "$T/raw3" || fail "--type of an unknown-but-present type"
	expect_exit 0 events list
	assert_lines "$OUT" 4
	assert_contains "$OUT" hologram_projected
	assert_contains "$OUT" future_thing
	expect_exit 0 events verify
	assert_contains "$OUT" "verified 4 events"
}

# Filters by flow/task/attempt (full id and >= 4-char prefix), repeated
# --type, --after, --limit, --tail and their combinations select exactly
# the right events, the same in list and stream.
test_filters() {
	make_log
	assert_eq "$(list_seqs)" "1 2 3 4 5 6 7 8 9 10 11 12 13 14" "all"
	assert_eq "$(list_seqs --flow "$F1")" "2 3 4 7 8 10 11 12 13" "--flow full id"
	assert_eq "$(list_seqs --flow f100)" "2 3 4 7 8 10 11 12 13" "--flow 4-char prefix"
	assert_eq "$(list_seqs --flow=f2000000-00)" "5 6 9 14" "--flow=prefix"
	assert_eq "$(list_seqs --task "$T1")" "7 8 10 11 12 13" "--task"
	assert_eq "$(list_seqs --task 7200)" "9" "--task prefix"
	assert_eq "$(list_seqs --attempt a100)" "10 11 12 13" "--attempt prefix"
	assert_eq "$(list_seqs --attempt "$A1")" "10 11 12 13" "--attempt"
	assert_eq "$(list_seqs --type task_ready)" "7 8 9" "--type"
	assert_eq "$(list_seqs --type task_ready --type check_completed)" "7 8 9 13" "--type twice"
	assert_eq "$(list_seqs --type=future_type)" "14" "--type of an unknown type in the log"
	assert_eq "$(list_seqs --flow "$F2" --type task_ready)" "9" "--flow + --type"
	assert_eq "$(list_seqs --flow "$F1" --task "$T2")" "" "disjoint flow + task"
	assert_eq "$(list_seqs --task "$T1" --attempt "$A1" --type check_completed)" "13" "task+attempt+type"
	assert_eq "$(list_seqs --after 10)" "11 12 13 14" "--after"
	assert_eq "$(list_seqs --after 14)" "" "--after last"
	assert_eq "$(list_seqs --after 99)" "" "--after beyond"
	assert_eq "$(list_seqs --limit 2)" "1 2" "--limit"
	assert_eq "$(list_seqs --after 3 --limit 2)" "4 5" "--after --limit"
	assert_eq "$(list_seqs --tail 2)" "13 14" "--tail"
	assert_eq "$(list_seqs --tail 100)" "1 2 3 4 5 6 7 8 9 10 11 12 13 14" "--tail > count"
	assert_eq "$(list_seqs --flow "$F1" --tail 2)" "12 13" "--flow --tail"
	assert_eq "$(list_seqs --flow "$F1" --after 8 --limit 2)" "10 11" "--flow --after --limit"
	assert_eq "$(list_seqs --type flow_created --after 3 --tail 1)" "6" "--type --after --tail"
	assert_eq "$(stream_seqs --flow f100 --type attempt_started --after 10)" "11 12" "stream with filters"
	assert_eq "$(stream_seqs --tail 3)" "12 13 14" "stream --tail"
	# the human list: one aligned line per event
	expect_exit 0 events list --flow "$F2"
	assert_lines "$OUT" 4
	head -1 "$OUT" | grep -Eq '^ +5  [0-9T:.Z-]+  flow_created' || fail "human line: $(head -1 "$OUT")"
}

# --json output is NDJSON: every line one complete envelope, in seq order.
test_json_lines_parse() {
	make_log
	expect_exit 0 events list --json
	assert_lines "$OUT" 14
	assert_ndjson_events "$OUT"
	assert_eq "$(seqs_of "$OUT")" "1 2 3 4 5 6 7 8 9 10 11 12 13 14" "seqs in order"
	assert_eq "$(grep -c "\"flow_id\":\"$F1\"" "$OUT")" 9 "events with flow_id $F1"
	# correlation fields appear only when they apply
	assert_eq "$(head -1 "$OUT" | json_get - . keys)" "id payload project_id seq time type" "keys of event 1"
	assert_eq "$(sed -n 13p "$OUT" | json_get - . keys)" \
		"attempt_id flow_id id payload project_id seq task_id time type" "keys of event 13"
	expect_exit 0 events stream --type attempt_started
	assert_ndjson_events "$OUT"
	assert_lines "$OUT" 3
}

# ---- follow ----------------------------------------------------------------------

# `events stream --follow --after K` prints K+1.. and then every event
# another process commits, with no gap and no duplicate, and stops on
# SIGTERM with exit 0 and nothing on stderr.
test_stream_follow_resumes_exactly() {
	append_events "$HIVE_DIR" flow_created "$F1" - - 5 || fail "append"
	bg_start "$HIVE_BIN" events stream --follow --after 3 >"$T/follow" 2>"$T/follow.err"
	local pid=$BG_PID
	wait_until 20 lines_ge "$T/follow" 2 || fail "no initial events: $(cat "$T/follow.err")"
	# singles, a batch, and an event that matches no filter of ours
	append_events --delay-ms 20 "$HIVE_DIR" task_ready "$F1" "$T1" - 4 || fail "append"
	append_events --batch "$HIVE_DIR" attempt_started "$F1" "$T1" "$A1" 5 || fail "append"
	append_events "$HIVE_DIR" flow_created "$F2" - - || fail "append"
	wait_until 30 lines_ge "$T/follow" 12 || fail "follower saw $(wc -l <"$T/follow") of 12 events"
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_eq "$rc" 0 "exit status after SIGTERM"
	assert_empty "$T/follow.err"
	assert_eq "$(seqs_of "$T/follow")" "4 5 6 7 8 9 10 11 12 13 14 15" "followed seqs"
	assert_ndjson_events "$T/follow"
}

# A filtered follow prints only matching new events, and stops on SIGINT
# too (a background job's SIGINT is ignored by default: hive installs its
# own handler).
test_stream_follow_filtered_sigint() {
	append_events "$HIVE_DIR" flow_created "$F1" - - 2 || fail "append"
	append_events "$HIVE_DIR" flow_created "$F2" - - || fail "append" # seq 3
	bg_start "$HIVE_BIN" --json events stream --after 2 --follow --flow f200 >"$T/follow" 2>"$T/follow.err"
	local pid=$BG_PID
	wait_until 20 lines_ge "$T/follow" 1 || fail "no output: $(cat "$T/follow.err")"
	append_events "$HIVE_DIR" flow_created "$F1" - - 3 || fail "append"    # 4-6: other flow
	append_events "$HIVE_DIR" flow_started "$F2" - - 2 || fail "append"    # 7-8
	append_events "$HIVE_DIR" flow_paused "$F1" - - || fail "append"       # 9: other flow
	wait_until 20 lines_ge "$T/follow" 3 || fail "filtered follow saw: $(cat "$T/follow")"
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_eq "$rc" 0 "exit status after SIGINT"
	assert_empty "$T/follow.err"
	assert_eq "$(seqs_of "$T/follow")" "3 7 8" "filtered follow"
}

# `events stream --follow --limit N` stops by itself after N events.
test_stream_follow_limit_ends() {
	append_events "$HIVE_DIR" flow_created "$F1" - - 2 || fail "append"
	bg_start "$HIVE_BIN" events stream --follow --limit 4 >"$T/follow" 2>"$T/follow.err"
	local pid=$BG_PID
	wait_until 20 lines_ge "$T/follow" 2 || fail "no initial events"
	append_events "$HIVE_DIR" flow_created "$F1" - - 5 || fail "append"
	local rc=0
	wait "$pid" || rc=$?
	assert_eq "$rc" 0 "exit status"
	assert_eq "$(seqs_of "$T/follow")" "1 2 3 4" "--limit 4"
}

# Streaming into a reader that stops early (head -1) ends quietly: exit 0
# or 141 (SIGPIPE, from the shell's view), never an error line from hive.
test_stream_into_closed_pipe() {
	append_events --batch "$HIVE_DIR" flow_created "$F1" - - 3000 || fail "append"
	local cmd first st
	for cmd in "events stream" "events list --json" "events list"; do
		# shellcheck disable=SC2086
		first=$("$HIVE_BIN" $cmd 2>"$T/pipe.err" | head -1; echo "st=${PIPESTATUS[0]}")
		st=${first##*st=}
		case $st in 0 | 141) ;; *) fail "hive $cmd | head -1: hive exited $st" ;; esac
		assert_empty "$T/pipe.err"
		assert_contains "$first" "1"
	done
	# --follow on an idle log: the closed pipe is noticed without waiting
	# for another event (20 s is a hang guard, not the expected time)
	mkfifo "$T/fifo"
	head -1 <"$T/fifo" >"$T/head.out" &
	_BG_PIDS+=($!)
	timeout 20 "$HIVE_BIN" events stream --follow >"$T/fifo" 2>"$T/pipe.err" &
	local pid=$!
	_BG_PIDS+=("$pid")
	st=0
	wait "$pid" || st=$?
	case $st in
	0 | 141) ;;
	124) fail "events stream --follow did not end after its reader went away" ;;
	*) fail "events stream --follow | head -1: hive exited $st: $(cat "$T/pipe.err")" ;;
	esac
	assert_lines "$T/head.out" 1
	assert_empty "$T/pipe.err"
}

# ---- verify ------------------------------------------------------------------------

# A log written by real hive commands verifies clean (exit 0); a deleted
# index entry makes verify exit 5 naming the event, in text and in JSON.
test_verify() {
	command -v git >/dev/null || fail "git is needed"
	git init -q "$T/repo" && git -C "$T/repo" -c user.email=t@t -c user.name=t commit -q --allow-empty -m init ||
		fail "git init"
	expect_exit 0 project create webapp --repo "$T/repo"
	expect_exit 0 task create webapp "Fix the login bug" --key fix --check "unit=true" --runtime-command true
	expect_exit 0 task create webapp "Document it" --key docs --depends-on fix --runtime-command true
	expect_exit 0 flow create webapp --name fix-login --task fix --task docs
	expect_exit 0 events verify
	assert_contains "$OUT" "verified"
	assert_not_contains "$OUT" "problem"
	expect_exit 0 --json events verify
	assert_eq "$(json_get "$OUT" ok)" true "verify --json .ok"
	assert_eq "$(json_get "$OUT" problems)" 0 "verify --json .problems"
	[ "$(json_get "$OUT" events)" -gt 0 ] || fail "verify --json .events: $(cat "$OUT")"
	expect_exit 0 events list --json --type task_created
	assert_lines "$OUT" 2
	# the flow's events are found by flow name too
	expect_exit 0 events list --json --flow fix-login
	[ -s "$OUT" ] || fail "--flow by name listed nothing"
	assert_ndjson_events "$OUT"

	# corrupt: delete the idx_type entry of the first task_created event
	local seq
	seq=$("$HIVE_BIN" events list --json --type task_created --limit 1 | json_get - seq)
	append_events --drop-index "$HIVE_DIR" idx_type task_created "$seq" || fail "drop-index"
	expect_exit 5 events verify
	assert_contains "$OUT" "event $seq: missing from index idx_type"
	expect_stderr_line 'problem'
	expect_exit 5 events verify --json
	assert_eq "$(json_get "$OUT" ok)" false "verify --json .ok"
	[ "$(json_get "$OUT" problems)" -ge 1 ] || fail "verify --json .problems: $(cat "$OUT")"
	json_get "$OUT" messages | grep -q "event $seq: missing from index idx_type" ||
		fail "verify --json .messages: $(cat "$OUT")"
	expect_stderr_line '"code": *"system"'
}

# ---- command line ---------------------------------------------------------------------

# --help works on every command word, exits 0, prints usage on stdout and
# touches no data dir.
test_help_everywhere() {
	local args
	for args in "--help" "-h" "events --help" "events list --help" "events stream --help" \
		"events verify --help" "--help events list" "events list --bogus --help"; do
		# shellcheck disable=SC2086
		expect_exit 0 $args
		assert_contains "$OUT" "usage"
		assert_empty "$ERR"
	done
	expect_exit 0 events stream --help
	assert_contains "$OUT" "--follow"
	[ ! -e "$HIVE_DIR" ] || fail "--help created the data dir"
}

test_version() {
	expect_exit 0 --version
	grep -Eq '^hive [0-9]+\.[0-9]+\.[0-9]+' "$OUT" || fail "version line: $(cat "$OUT")"
	assert_lines "$OUT" 1
	assert_empty "$ERR"
}

# Usage errors exit 2 with exactly one line "hive: ..." on stderr, or
# {"error":{"code":"invalid",...}} with --json, and print nothing on stdout.
test_usage_errors() {
	make_log
	local args
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		expect_exit 2 $args
		assert_empty "$OUT"
		expect_stderr_line
		# shellcheck disable=SC2086
		expect_exit 2 --json $args
		expect_stderr_line '"invalid"'
	done <<-'EOF'
		events list --bogus
		events list -x
		events list --limit abc
		events list --limit -1
		events list --limit
		events list --after 1.5
		events list --tail=
		events list --follow
		events list extra-argument
		events stream --type nosuch
		events list --type nosuch --type task_ready
		frobnicate
		events frobnicate
		events verify --flow abc
	EOF
	expect_exit 2 events list --type nosuch
	expect_stderr_line 'nosuch'
	expect_exit 2 events list --limit abc
	expect_stderr_line 'limit'
	expect_exit 2 events list --bogus
	expect_stderr_line -- '--bogus'
	expect_exit 2 frobnicate
	expect_stderr_line 'frobnicate'
	# no command at all: exit 2, and the error is the last line on stderr
	# (hive prints the usage summary above it)
	expect_exit 2
	tail -1 "$ERR" | grep -q '^hive: ' || fail "no 'hive: ' error line: $(tail -1 "$ERR")"
	HIVE_DURABILITY=bogus expect_exit 2 events list
	expect_stderr_line 'bogus'
}

# Unknown or ambiguous ids exit 3 with one line naming what was not found.
test_unknown_ids() {
	make_log
	append_events "$HIVE_DIR" flow_created fa000000-0000-7000-8000-000000000001 - - || fail "append"
	append_events "$HIVE_DIR" flow_created fa000000-0000-7000-8000-000000000002 - - || fail "append"
	expect_exit 3 events list --flow 01234567-89ab-7def-8123-456789abcdef
	assert_empty "$OUT"
	expect_stderr_line '01234567-89ab-7def-8123-456789abcdef'
	expect_exit 3 events list --flow ffff
	expect_stderr_line 'ffff'
	expect_exit 3 events stream --task 7fff
	expect_stderr_line '7fff'
	expect_exit 3 events list --attempt aaaa
	expect_stderr_line 'aaaa'
	expect_exit 3 events list --flow fa00
	expect_stderr_line 'ambiguous'
	assert_contains "$ERR" fa000000-0000-7000-8000-000000000001
	assert_contains "$ERR" fa000000-0000-7000-8000-000000000002
	expect_exit 3 --json events list --flow ffff
	expect_stderr_line '"not_found"'
	expect_exit 3 events list --flow ffff --json
	expect_stderr_line '"not_found"'
	# a prefix of the full id, with the dash, still resolves
	expect_exit 0 events list --flow fa000000-0000-7000-8000-000000000002
	assert_lines "$OUT" 1
}

# Global flags (--json, --dir) work before, between and after the command
# words; --dir wins over $HIVE_DIR.
test_global_flags_anywhere() {
	make_log
	local other=$T/other
	append_events "$other" flow_created "$F2" - - 2 || fail "append"
	local args
	for args in "--json events list" "events --json list" "events list --json"; do
		# shellcheck disable=SC2086
		expect_exit 0 $args --limit 1
		assert_ndjson_events "$OUT"
		assert_lines "$OUT" 1
	done
	for args in "--dir $other events list" "events --dir $other list" "events list --dir $other" \
		"events list --dir=$other"; do
		# shellcheck disable=SC2086
		expect_exit 0 $args --json
		assert_lines "$OUT" 2
		grep -q "$F2" "$OUT" || fail "$args did not read $other"
	done
	HIVE_DIR=$other expect_exit 0 events list --json
	assert_lines "$OUT" 2
	# the data dir is created 0700, its files 0600
	assert_eq "$(stat -c %a "$other")" 700 "data dir mode"
	assert_eq "$(stat -c %a "$other/data.mdb")" 600 "data.mdb mode"
	assert_eq "$(stat -c %a "$other/lock.mdb")" 600 "lock.mdb mode"
	# a flag value that looks like a command word is not one
	expect_exit 0 events list --json --type flow_created --dir "$other" --limit 1
	assert_lines "$OUT" 1
}

run_tests "$@"
