#!/bin/bash
# test_cli_table.sh - the declarative command table (cli/cmd_*.c): usage,
# --help and docs/cli.md are generated from it and cannot drift.
# Needs bash and diff.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

CHECK=$REPO_DIR/tests/tools/check_cli_doc.sh

# The committed docs/cli.md is what the binary generates.
test_cli_doc_matches_table() {
	bash "$CHECK" "$HIVE_BIN" "$REPO_DIR/docs/cli.md" >"$T/out" 2>&1 ||
		fail "docs/cli.md differs from the table: $(head -c 2000 "$T/out")"
}

# A docs/cli.md that drifted (one usage word changed, a command missing)
# fails the check, naming the fix.
test_cli_doc_drift_fails() {
	sed 's/hive flow abort FLOW \[--reason TEXT\]/hive flow abort FLOW [--why TEXT]/' \
		"$REPO_DIR/docs/cli.md" >"$T/changed.md"
	cmp -s "$T/changed.md" "$REPO_DIR/docs/cli.md" && fail "the edit did not change the copy"
	if bash "$CHECK" "$HIVE_BIN" "$T/changed.md" >"$T/out" 2>"$T/err"; then
		fail "a drifted docs/cli.md passed the check"
	fi
	grep -q -- "--why TEXT" "$T/out" || fail "the check did not show the difference: $(cat "$T/out")"
	grep -q "make cli-doc" "$T/err" || fail "the check did not say how to fix it: $(cat "$T/err")"
	grep -v '^### hive demo$' "$REPO_DIR/docs/cli.md" >"$T/missing.md"
	if bash "$CHECK" "$HIVE_BIN" "$T/missing.md" >/dev/null 2>&1; then
		fail "a docs/cli.md missing a command passed the check"
	fi
}

# Every command in the table answers --help with its usage line (the same
# line `hive --help` lists) and one Options line per flag of that usage.
test_every_command_help_from_table() {
	local cmd n=0
	expect_exit 0 --help
	cp "$OUT" "$T/all"
	while IFS= read -r cmd; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		expect_exit 0 $cmd --help
		local usage
		usage=$(head -1 "$OUT" | sed 's/^usage: //')
		case $usage in "hive $cmd"*) ;; *) fail "hive $cmd --help: usage line is \"$usage\"" ;; esac
		grep -qxF "  $usage" "$T/all" || fail "hive --help does not list \"$usage\""
		local flag
		for flag in $(printf '%s\n' "$usage" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -q "^  $flag" "$OUT" || fail "hive $cmd --help has no Options line for $flag: $(cat "$OUT")"
		done
	done < <("$HIVE_BIN" __commands)
	[ "$n" -ge 20 ] || fail "only $n commands listed by hive __commands"
}

run_tests "$@"
