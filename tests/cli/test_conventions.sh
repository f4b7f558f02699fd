#!/bin/bash
# test_conventions.sh - the command line's output and parsing conventions
# (issue 11, SPEC section 12): attempts named FLOW/TASK#N everywhere an
# attempt id is accepted; ids shown as the shortest unique prefix of at
# least 13 characters, which resolves back; "schema": 2 in every --json
# document while events stay byte for byte as stored; list summaries;
# --color, NO_COLOR, CLICOLOR_FORCE, TERM=dumb; global flags only where a
# flag stands and "--" ending flags; HIVE_DIR= treated as unset; and the
# small wrongs of the issue (timed-out checks, events payloads, task list
# flow column and --state, attempt list references, task create usage,
# the demo's test binary).
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_conventions.sh
source "$(dirname "$0")/lib.sh"

ESC=$(printf '\033')

# flowspec NAME TASKS_JSON: $S/flow.json for project p over $R.
flowspec() {
	cat >"$S/flow.json" <<JSON
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": 3, "backoff": {"initial": "10ms", "max": "10ms"}}},
 "tasks": $2}
JSON
}

# A task "fix" whose first attempt fails its check and whose second
# passes: two attempts made well within a second of each other.
two_attempt_flow() {
	sandbox
	second_try_repo
	flowspec "${1:-f}" '[{"key": "fix", "title": "Fix the value", "checks": [{"name": "value", "command": "./check.sh"}]}]'
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start "${1:-f}"
	expect_exit 0 flow run "${1:-f}"
}

# on_tty ARGS...: run hive with a pseudo-terminal as stdout; print all it wrote.
on_tty() {
	python3 - "$HIVE_BIN" "$@" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
PY
}

# full id of attempt N of task fix, from the --json list
full_id() {
	expect_exit 0 --json attempt list --task fix
	json_py "[a['id'] for a in d['attempts'] if a['attempt_number'] == $1][0]"
}

# ---- references ------------------------------------------------------------------

# Both attempts (made within a second) are addressable by the prefix the
# text list prints and by FLOW/TASK#N, TASK#N and TASK-ID#N, in attempt
# inspect and in events --attempt; a wrong number says how many there are.
test_attempt_references() {
	two_attempt_flow f
	local a1 a2 tid
	a1=$(full_id 1)
	a2=$(full_id 2)
	[ "$a1" != "$a2" ] && [ ${#a1} = 36 ] || fail "attempt ids: '$a1' '$a2'"
	expect_exit 0 attempt list --flow f
	assert_lines "$OUT" 3
	local line shown n=0
	cp "$OUT" "$T/list.txt"
	while read -r shown line; do
		[ "$shown" = ATTEMPT ] && continue
		n=$((n + 1))
		[ ${#shown} -ge 13 ] && [ ${#shown} -lt 36 ] || fail "attempt list shows id '$shown' (want a prefix of 13+ chars)"
		case $line in "f/fix#$n "*) ;; *) fail "attempt list row $n does not name f/fix#$n: $shown $line" ;; esac
		expect_exit 0 --json attempt inspect "$shown"
		local want=$a1
		[ $n = 2 ] && want=$a2
		assert_eq "$(json_py "d['id']")" "$want" "attempt the printed prefix $shown names"
	done <"$T/list.txt"
	assert_eq "$n" 2 "rows of attempt list"

	expect_exit 0 --json attempt inspect 'f/fix#1'
	assert_eq "$(json_py "d['id']")" "$a1" "f/fix#1"
	expect_exit 0 --json attempt inspect 'f/fix#2'
	assert_eq "$(json_py "d['id'], d['task_key'], d['flow_name'], d['attempt_number']")" "('$a2', 'fix', 'f', 2)" "f/fix#2"
	expect_exit 0 --json attempt inspect 'fix#2'
	assert_eq "$(json_py "d['id']")" "$a2" "fix#2"
	expect_exit 0 --json task show f/fix
	tid=$(json_py "d['id']")
	expect_exit 0 --json attempt inspect "$tid#1"
	assert_eq "$(json_py "d['id']")" "$a1" "TASK-ID#1"
	# text inspect names the attempt the way it can be typed
	expect_exit 0 attempt inspect 'f/fix#2'
	assert_contains "$OUT" "attempt:  $a2 (f/fix#2)"
	# the events of one attempt, by reference
	expect_exit 0 --json events list --attempt 'f/fix#1'
	[ -s "$OUT" ] || fail "no events for f/fix#1"
	assert_eq "$(python3 -c 'import json,sys; print(sorted({json.loads(l)["attempt_id"] for l in open(sys.argv[1])}))' "$OUT")" \
		"['$a1']" "attempt ids of events --attempt f/fix#1"
	expect_exit 0 --json events list
	cp "$OUT" "$T/log.before"
	expect_exit 3 attempt inspect 'f/fix#3'
	expect_stderr_line 'no attempt matches "f/fix#3": the task has 2 attempts'
	expect_exit 2 attempt inspect 'f/fix#0'
	expect_stderr_line "after '#' give the attempt number"
	expect_exit 3 attempt inspect 'g/fix#1'
	expect_stderr_line 'no task matches "g/fix"'
	expect_exit 0 --json events list
	cmp -s "$T/log.before" "$OUT" || fail "a refused reference changed the log"
}

# #N is the task's attempt number whatever flow it ran in: after the task
# joins a new flow, NEW/KEY#1 is still the attempt that ran in the old one.
test_attempt_number_across_flows() {
	sandbox
	second_try_repo
	cat >"$S/flow.json" <<JSON
{"name": "old", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": 1}},
 "tasks": [{"key": "fix", "title": "Fix", "checks": [{"name": "value", "command": "./check.sh"}]}]}
JSON
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start old
	expect_exit 1 flow run old
	expect_exit 0 flow abort old
	expect_exit 0 flow create p --name new --task old/fix
	expect_exit 0 --json attempt inspect 'new/fix#1'
	assert_eq "$(json_py "d['flow_name'], d['attempt_number']")" "('old', 1)" "new/fix#1 is the attempt that ran in old"
	expect_exit 0 flow start new
	expect_exit 0 flow run new
	expect_exit 0 --json attempt inspect 'new/fix#2'
	assert_eq "$(json_py "d['flow_name'], d['outcome']")" "('new', 'success')" "new/fix#2"
	expect_exit 0 --json attempt inspect 'old/fix#2'
	assert_eq "$(json_py "d['flow_name']")" new "old/fix#2 (the same task, whatever flow)"
}

# ---- JSON documents ---------------------------------------------------------------

# Every --json document of every command is one object whose first member
# is "schema": 2; events stay byte for byte as stored (no schema member,
# list and stream print the same bytes).
test_schema_in_every_document() {
	two_attempt_flow f
	mkdir -p "$T/empty"
	local cmds=(
		"project list" "project show p" "flow list" "flow list --project p" "flow status f"
		"task list" "task list --flow f" "task list --state success" "task show f/fix"
		"attempt list" "attempt list --flow f" "attempt list --task f/fix"
		"attempt inspect f/fix#1" "attempt inspect f/fix#2 --context" "attempt inspect f/fix#1 --context"
		"attempt inspect f/fix#2 --diff" "attempt inspect f/fix#2 --output" "attempt inspect f/fix#2 --diff --output"
		"events verify" "task create p Extra --key extra --runtime-command true" "flow create p --name g --task extra"
		"flow start g" "flow pause g" "flow resume g" "flow tick g" "flow run g" "flow abort g"
		"task abort extra" "backup $T/backup" "gc" "--version"
	)
	local c
	for c in "${cmds[@]}"; do
		# shellcheck disable=SC2086
		run_hive --json $c
		[ "$RC" = 0 ] || [ "$RC" = 1 ] || [ "$RC" = 4 ] || fail "hive --json $c exited $RC: $(cat "$ERR")"
		local doc=$OUT
		[ "$RC" = 0 ] || doc=$ERR
		assert_lines "$doc" 1
		python3 - "$doc" "$c" <<'PY' || fail "hive --json $c: not a schema 2 document: $(head -c 300 "$doc")"
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text, object_pairs_hook=lambda kv: kv)
assert isinstance(d, list) and d and d[0] == ("schema", 2), d[:1]
PY
	done
	# errors too, on stderr
	expect_exit 3 --json flow status nosuch
	assert_contains "$ERR" '{"schema":2,"error":{"code":"not_found"'
	expect_exit 2 --json task list --state bogus
	assert_contains "$ERR" '{"schema":2,"error":{"code":"invalid"'
	# events: as stored, never wrapped
	expect_exit 0 --json events list
	assert_not_contains "$OUT" '"schema"'
	assert_ndjson_events "$OUT"
	cp "$OUT" "$T/list.ndjson"
	expect_exit 0 events stream
	cmp -s "$T/list.ndjson" "$OUT" || fail "events list --json and events stream differ"
	# the demo's document as well
	expect_exit 0 --json --dir "$T/demo" demo
	assert_eq "$(json_py "list(d)[0], d['schema']")" "('schema', 2)" "demo --json"
}

# List commands return summaries; show/inspect the whole document.
test_lists_are_summaries() {
	two_attempt_flow f
	expect_exit 0 --json attempt list
	local list_bytes
	list_bytes=$(wc -c <"$OUT")
	assert_eq "$(json_py "sorted(set(k for a in d['attempts'] for k in a) & {'context', 'checks', 'runtime_exited', 'changes', 'runtime_started'})")" \
		"[]" "heavy fields in attempt list --json"
	assert_eq "$(json_py "[(a['task_key'], a['flow_name'], a['attempt_number'], a['outcome']) for a in d['attempts']]")" \
		'[["fix", "f", 1, "check_failed"], ["fix", "f", 2, "success"]]' "attempt summaries"
	expect_exit 0 --json attempt inspect 'f/fix#2'
	assert_eq "$(json_py "sorted(set(d) & {'context', 'checks', 'runtime_exited', 'changes'})")" \
		'["changes", "checks", "context", "runtime_exited"]' \
		"attempt inspect --json is the whole document"
	[ "$(wc -c <"$OUT")" -gt "$list_bytes" ] || fail "one inspected attempt ($(wc -c <"$OUT") bytes) is not larger than the list of two ($list_bytes)"
	expect_exit 0 --json task list
	assert_eq "$(json_py "[(t['key'], t['flow_name'], t['state']) for t in d['tasks']], 'runtime' in d['tasks'][0], 'retry' in d['tasks'][0]")" \
		"([('fix', 'f', 'success')], False, False)" "task summaries"
	expect_exit 0 --json task show f/fix
	assert_eq "$(json_py "'runtime' in d and 'retry' in d")" True "task show --json is the whole document"
}

# ---- parsing --------------------------------------------------------------------

# A global flag's spelling as another flag's value is that value; "--"
# ends flags.
test_global_flags_only_where_flags_stand() {
	two_attempt_flow f
	expect_exit 0 task create p "Extra" --key extra --runtime-command true
	expect_exit 0 task abort extra --reason --json
	assert_eq "$(cat "$OUT")" "task extra aborted" "text output (the --json was a value)"
	events_dump --type task_aborted
	assert_eq "$(events_py 'E[-1]["payload"]["reason"]')" "--json" "recorded reason"
	expect_exit 0 task create p --key dashed --runtime-command true -- "--help me"
	expect_exit 0 --json task show dashed
	assert_eq "$(json_py "d['title']")" "--help me" "title after --"
	expect_exit 0 task create p "Dir" --key dir1 --description --dir --runtime-command true
	expect_exit 0 task show dir1 --json
	assert_eq "$(json_py "d['description']")" "--dir" "description given as --dir"
	# where a flag stands, it is the global flag (before, between, after the words)
	expect_exit 0 task --json show dir1
	json_ok "$(cat "$OUT")" || fail "task --json show: not JSON"
	expect_exit 2 --color sometimes flow list
	expect_stderr_line -- '--color sometimes: use auto, always or never'
}

# Colour: --color decides; else NO_COLOR, CLICOLOR_FORCE, TERM=dumb, a tty.
test_color() {
	two_attempt_flow f
	run_hive events list --limit 3
	assert_not_contains "$OUT" "$ESC" # a file: no colour
	CLICOLOR_FORCE=1 run_hive events list --limit 3
	assert_contains "$OUT" "$ESC"
	NO_COLOR=1 CLICOLOR_FORCE=1 run_hive events list --limit 3
	assert_not_contains "$OUT" "$ESC"
	NO_COLOR=1 run_hive --color always events list --limit 3
	assert_contains "$OUT" "$ESC"
	CLICOLOR_FORCE=1 run_hive events list --limit 3 --color=never
	assert_not_contains "$OUT" "$ESC"
	CLICOLOR_FORCE=1 run_hive --json events list --limit 3
	assert_not_contains "$OUT" "$ESC"
	# on a terminal
	TERM=xterm on_tty events list --limit 3 >"$T/tty.out"
	assert_contains "$T/tty.out" "$ESC["
	TERM=dumb on_tty events list --limit 3 >"$T/tty.out"
	assert_contains "$T/tty.out" "project_created"
	assert_not_contains "$T/tty.out" "$ESC"
	NO_COLOR=1 TERM=xterm on_tty events list --limit 3 >"$T/tty.out"
	assert_contains "$T/tty.out" "project_created"
	assert_not_contains "$T/tty.out" "$ESC"
}

# HIVE_DIR= (set, empty) is unset: the default dir is used, and the demo
# keeps its data in its own temp dir (not the default data dir); its
# check's binary goes to TMPDIR and does not stay.
test_empty_hive_dir_is_unset() {
	mkdir -p "$T/tmp"
	HIVE_DIR= run_hive project list
	assert_eq "$RC" 3 "exit of project list with HIVE_DIR= and no store"
	expect_stderr_line "no hive data in $HOME/.local/share/hive"
	HIVE_DIR= TMPDIR=$T/tmp run_hive demo
	assert_eq "$RC" 0 "exit of demo with HIVE_DIR= ($(tail -3 "$ERR"))"
	[ ! -e "$HOME/.local/share/hive" ] || fail "demo with HIVE_DIR= wrote to the default data dir"
	local root
	root=$(ls -d "$T"/tmp/hive-demo-*)
	[ -f "$root/data/data.mdb" ] || fail "demo with HIVE_DIR= kept no log in its own dir $root"
	assert_eq "$(ls "$T/tmp" | grep -c hive-demo-test)" 0 "test binaries left in TMPDIR"
	grep -q 'TMPDIR' "$root/repo/test.sh" || fail "the demo's check does not build in TMPDIR: $(cat "$root/repo/test.sh")"
	assert_not_contains "$root/repo/test.sh" "/tmp/hive-demo-test-\$\$"
}

# ---- the small wrongs -------------------------------------------------------------

test_task_and_attempt_lists() {
	two_attempt_flow f
	expect_exit 0 task create p "Loose" --key loose --runtime-command true
	expect_exit 0 task list
	grep -Eq '^KEY +FLOW +STATE ' "$OUT" || fail "task list has no FLOW column: $(cat "$OUT")"
	grep -Eq '^fix +f +success ' "$OUT" || fail "task list does not show fix in flow f: $(cat "$OUT")"
	grep -Eq '^loose +- +pending ' "$OUT" || fail "task list does not show loose in no flow: $(cat "$OUT")"
	expect_exit 0 task list --state success
	assert_lines "$OUT" 2
	assert_contains "$OUT" "fix"
	expect_exit 0 --json task list --state pending
	assert_eq "$(json_py "[t['key'] for t in d['tasks']]")" '["loose"]' "task list --state pending"
	expect_exit 2 task list --state sleeping
	expect_stderr_line 'no task state "sleeping"; use pending, ready'
	expect_exit 0 attempt list
	assert_contains "$OUT" "f/fix#1"
	assert_contains "$OUT" "f/fix#2"
	local tid
	expect_exit 0 --json task show f/fix
	tid=$(json_py "d['id']")
	expect_exit 0 attempt list
	assert_not_contains "$OUT" "$tid"
	# task create: the usage line marks --runtime-command as required
	expect_exit 0 task create --help
	assert_contains "$OUT" "[--depends-on TASK]... --runtime-command CMD ["
}

# Text events list shows each event's payload on its line.
test_events_list_payload() {
	two_attempt_flow f
	expect_exit 0 events list --type task_state_changed --limit 1
	assert_contains "$OUT" '{"from":"pending","to":"ready"'
	expect_exit 0 events list --type retry_context_assembled
	assert_lines "$OUT" 1
	[ "$(wc -c <"$OUT")" -lt 400 ] || fail "a long payload is not cut: $(wc -c <"$OUT") bytes"
	grep -q '\.\.\.$' "$OUT" || fail "a cut payload does not end in ...: $(cat "$OUT")"
}

# A timed-out check is "timed out after ...", never "exit 0, timed out".
test_timed_out_check_in_inspect() {
	sandbox
	script agent.sh <<'SH'
#!/bin/sh
cat >/dev/null
SH
	mkrepo
	cat >"$S/flow.json" <<JSON
{"name": "t", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": 1}},
 "tasks": [{"key": "slow", "title": "Slow", "checks": [{"name": "hang", "command": "sleep 30", "timeout": "300ms"}]}]}
JSON
	expect_exit 0 flow create --file "$S/flow.json"
	expect_exit 0 flow start t
	expect_exit 1 flow run t
	expect_exit 0 attempt inspect 't/slow#1'
	grep -Eq '^check: +hang: FAILED \(timed out after [0-9.]+m?s\)$' "$OUT" || fail "inspect: $(cat "$OUT")"
	assert_not_contains "$OUT" "exit 0"
	expect_exit 0 attempt inspect 't/slow#1' --output
	assert_contains "$OUT" "--- check hang (timed out after"
}

run_tests "$@"
