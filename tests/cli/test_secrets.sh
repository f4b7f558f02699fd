#!/bin/bash
# test_secrets.sh - secrets stay secret (issue 8): the value of a
# runtime.env_passthrough variable that the runtime or a check prints is
# masked in every output hive stores: blobs, check excerpts, the verdict,
# the next attempt's retry context, and the log files in the attempt dir.
# The whole data dir (data.mdb included) is searched byte for byte.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_secrets.sh
source "$(dirname "$0")/lib.sh"

KEY=sk-test-5f3a9c0e1d2b4a6879
export API_KEY=$KEY

# A runtime that prints the key on stdout and stderr and in its verdict,
# and a check that prints it (read from a file outside the repo) and fails.
secret_flow() {
	R=$T/repo
	mkdir -p "$R"
	printf '%s\n' "$KEY" >"$T/keyfile"
	cat >"$R/agent.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "attempt $HIVE_ATTEMPT_NUMBER: using key $API_KEY"
echo "warning: $API_KEY rejected" >&2
printf '{"summary": "tried with %s"}' "$API_KEY" > "$HIVE_RESULT_FILE"
SH
	cat >"$R/check.sh" <<'SH'
#!/bin/sh
echo "check sees $(cat "$1")"
exit 1
SH
	chmod +x "$R/agent.sh" "$R/check.sh"
	git -C "$R" init -q . && git -C "$R" add -A &&
		git -C "$R" -c user.name=t -c user.email=t@t commit -qm init || fail "cannot create the repo"
	cat >"$T/flow.json" <<JSON
{"name": "f", "project": {"name": "p", "repo": "repo"},
 "tasks": [{"key": "fix", "title": "Use the key",
   "runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s", "env_passthrough": ["API_KEY"]},
   "checks": [{"name": "unit", "command": "sh check.sh $T/keyfile"}],
   "retry": {"max_attempts": 2, "backoff": {"initial": "0s"}}}]}
JSON
	expect_exit 0 flow create --file "$T/flow.json"
	expect_exit 0 flow start f
	expect_exit 1 flow run f
}

attempt_id() {
	"$HIVE_BIN" --json attempt list --task fix 2>/dev/null |
		python3 -c "import json,sys; print(''.join(a['id'] for a in json.load(sys.stdin)['attempts'] if a['attempt_number'] == $1))"
}

test_passthrough_value_never_stored() {
	secret_flow
	# the data dir, every file (data.mdb, attempt logs, verdicts, worktrees)
	local hits
	hits=$(grep -r -a -l -F -- "$KEY" "$HIVE_DIR" 2>/dev/null)
	[ -z "$hits" ] || fail "the key is stored in: $hits"
	# the attempt logs exist and hold the masked lines (the runtime did print it)
	grep -r -a -q -F "using key ***" "$HIVE_DIR" || fail "no masked runtime output anywhere in the data dir"
	local a1 a2
	a1=$(attempt_id 1) a2=$(attempt_id 2)
	[ -n "$a1" ] && [ -n "$a2" ] || fail "expected two attempts"
	expect_exit 0 attempt inspect "$a1" --output
	assert_not_contains "$OUT" "$KEY"
	assert_contains "$OUT" "using key ***"
	assert_contains "$OUT" "warning: *** rejected"
	assert_contains "$OUT" "check sees ***"
	expect_exit 0 attempt inspect "$a2" --context
	assert_not_contains "$OUT" "$KEY"
	assert_contains "$OUT" "check sees ***"
	expect_exit 0 --json attempt inspect "$a2" --context --output
	assert_not_contains "$OUT" "$KEY"
	expect_exit 0 events list --json
	assert_not_contains "$OUT" "$KEY"
	assert_contains "$OUT" "tried with ***"
	expect_exit 0 events verify
}

# A value under 4 characters is not masked (it would mangle every output
# and the masks would spell it out); the runtime still gets it.
test_short_value_is_not_masked() {
	export API_KEY=xyz
	KEY=xyz
	secret_flow
	expect_exit 0 attempt inspect "$(attempt_id 1)" --output
	assert_contains "$OUT" "using key xyz"
}

run_tests "$@"
