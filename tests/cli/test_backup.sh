#!/bin/bash
# test_backup.sh - `hive backup PATH` (issue 8): a consistent, compacted
# copy of the store taken while `flow run` writes, restored into a new
# data dir that `events verify` accepts and `flow status` reads.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_backup.sh
source "$(dirname "$0")/lib.sh"

# A flow whose one task fails 4 times (0 s backoff; under the circuit
# breaker's threshold), each attempt printing a little and taking ~0.3 s:
# a runner that writes for a couple of seconds.
busy_flow() {
	R=$T/repo
	mkdir -p "$R"
	cat >"$R/agent.sh" <<'SH'
#!/bin/sh
cat >/dev/null
i=0; while [ $i -lt 50 ]; do echo "attempt $HIVE_ATTEMPT_NUMBER line $i"; i=$((i+1)); done
echo "$HIVE_ATTEMPT_NUMBER" > "n-$HIVE_ATTEMPT_NUMBER.txt"
sleep 0.3
exit 1
SH
	chmod +x "$R/agent.sh"
	git -C "$R" init -q . && git -C "$R" add -A &&
		git -C "$R" -c user.name=t -c user.email=t@t commit -qm init || fail "cannot create the repo"
	cat >"$T/flow.json" <<'JSON'
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "tasks": [{"key": "fix", "title": "Busy",
   "runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
   "retry": {"max_attempts": 4, "backoff": {"initial": "0s"}}}]}
JSON
	expect_exit 0 flow create --file "$T/flow.json"
	expect_exit 0 flow start f
}

last_seq() { # DIR
	"$HIVE_BIN" --dir "$1" --json events list --tail 1 2>/dev/null |
		python3 -c "import json,sys; print(max([json.loads(l)['seq'] for l in sys.stdin] or [0]))"
}

test_backup_while_flow_run_writes_then_restore() {
	busy_flow
	bg_start "$HIVE_BIN" flow run f >"$T/run.out" 2>"$T/run.err" </dev/null
	local runner=$BG_PID n=0
	wait_until 30 eval '"$HIVE_BIN" events list --type attempt_started 2>/dev/null | grep -q .' ||
		fail "flow run started no attempt: $(cat "$T/run.err")"
	# several backups while the runner writes; each is a consistent snapshot
	while pid_alive "$runner" && [ $n -lt 5 ]; do
		n=$((n + 1))
		expect_exit 0 backup "$T/bk$n"
		assert_contains "$OUT" "backed up"
		[ "$(ls "$T/bk$n")" = data.mdb ] || fail "backup $n holds $(ls "$T/bk$n"), expected data.mdb alone"
		sleep 0.2
	done
	[ $n -ge 1 ] || fail "flow run ended before a backup could be taken"
	pid_gone "$runner" 60 || fail "flow run did not end"
	wait "$runner"
	events_dump --type attempt_started
	pa "the runner ran all 4 attempts" 'len(of("attempt_started")) == 4'
	local i orig
	orig=$(last_seq "$HIVE_DIR")
	"$HIVE_BIN" events list --json >"$T/orig.ndjson" </dev/null
	for i in $(seq 1 $n); do
		# restore: copy the backup into a new, empty data dir
		mkdir -p "$T/restored$i"
		cp "$T/bk$i/data.mdb" "$T/restored$i/"
		expect_exit 0 --dir "$T/restored$i" events verify
		expect_exit 0 --dir "$T/restored$i" flow status f
		assert_contains "$OUT" "fix"
		# the copy is a prefix of the log: the same events, byte for byte
		local k
		k=$(last_seq "$T/restored$i")
		[ "$k" -ge 1 ] && [ "$k" -le "$orig" ] || fail "backup $i ends at seq $k, the log at $orig"
		"$HIVE_BIN" --dir "$T/restored$i" events list --json >"$T/r$i.ndjson" </dev/null
		cmp -s "$T/r$i.ndjson" <(head -n "$k" "$T/orig.ndjson") || fail "backup $i is not a prefix of the log"
	done
	# using the backup dir itself as the data dir works too
	expect_exit 0 --dir "$T/bk1" events verify
}

test_backup_is_compacted_and_reports_json() {
	busy_flow
	expect_exit 1 flow run f
	expect_exit 0 --json backup "$T/bk"
	local events bytes
	events=$(json_get "$OUT" events)
	bytes=$(json_get "$OUT" bytes)
	assert_eq "$events" "$(last_seq "$HIVE_DIR")" "events in the backup"
	assert_eq "$bytes" "$(stat -c %s "$T/bk/data.mdb")" "bytes"
	[ "$bytes" -le "$(stat -c %s "$HIVE_DIR/data.mdb")" ] || fail "the backup is larger than the store"
	assert_eq "$(stat -c %a "$T/bk")" 700 "backup dir mode"
	assert_eq "$(stat -c %a "$T/bk/data.mdb")" 600 "backup file mode"
	# an empty existing directory is accepted
	mkdir "$T/empty"
	expect_exit 0 backup "$T/empty"
	expect_exit 0 --dir "$T/empty" events verify
}

test_backup_refuses_a_non_empty_path() {
	busy_flow
	mkdir "$T/full"
	echo keep >"$T/full/notes.txt"
	expect_exit 2 backup "$T/full"
	expect_stderr_line "not empty"
	assert_eq "$(ls "$T/full")" notes.txt "the directory is untouched"
	echo x >"$T/file"
	expect_exit 2 backup "$T/file"
	expect_stderr_line "not a directory"
	expect_exit 5 backup "$T/no/such/parent/bk"
	expect_stderr_line "cannot create"
	expect_exit 2 backup
	expect_stderr_line
}

run_tests "$@"
