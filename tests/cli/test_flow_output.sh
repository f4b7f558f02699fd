#!/bin/bash
# test_flow_output.sh - what a person sees around a flow (issue 11):
# `flow create --dry-run` checks a spec and writes nothing; a spec whose
# repo is wrong is refused naming the field and the file.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_flow_output.sh
source "$(dirname "$0")/lib.sh"

# spec NAME [REPO]: $S/NAME.json, a flow NAME of two tasks over REPO (default "repo").
spec() {
	cat >"$S/$1.json" <<JSON
{"name": "$1", "project": {"name": "webapp", "repo": "${2:-repo}"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"]}},
 "tasks": [{"key": "fix", "title": "Fix it", "checks": [{"name": "unit", "command": "./check.sh"}]},
           {"key": "docs", "title": "Document it", "depends_on": ["fix"]}]}
JSON
}

# the log's bytes, for "nothing was written"
log_digest() { cat "$HIVE_DIR/data.mdb" 2>/dev/null | sha256sum; }

test_dry_run_without_a_store_creates_nothing() {
	sandbox
	echo x >"$R/f"
	mkrepo
	spec f
	expect_exit 0 flow create --file "$S/f.json" --dry-run
	assert_contains "$OUT" "nothing was written"
	assert_contains "$OUT" "would create flow f in the new project webapp with 2 tasks"
	assert_contains "$OUT" "check unit: ./check.sh"
	assert_contains "$OUT" "after fix"
	[ ! -e "$HIVE_DIR" ] || fail "--dry-run created the data dir"
}

test_dry_run_checks_against_the_store_and_writes_nothing() {
	sandbox
	echo x >"$R/f"
	mkrepo
	spec f
	expect_exit 0 flow create --file "$S/f.json"
	local before n_before
	before=$(log_digest)
	n_before=$("$HIVE_BIN" events list | wc -l)
	# the name is taken: the same refusal as the real create, nothing written
	expect_exit 4 flow create --file "$S/f.json" --dry-run
	assert_contains "$ERR" 'flow named "f" already exists'
	# a new flow in the existing project
	spec g
	expect_exit 0 flow create --file "$S/g.json" --dry-run
	assert_contains "$OUT" "would create flow g in the existing project webapp"
	expect_exit 0 flow create --file "$S/g.json" --dry-run --json
	assert_eq "$(json_py 'd["dry_run"], d["project_new"], d["store_checked"], d["spec"]["name"]')" \
		"(True, False, True, 'g')" "dry-run JSON"
	assert_eq "$(log_digest)" "$before" "data.mdb after --dry-run"
	assert_eq "$("$HIVE_BIN" events list | wc -l)" "$n_before" "events after --dry-run"
	expect_exit 3 flow status g
	# --dry-run is for a spec
	expect_exit 2 flow create webapp --task f/fix --dry-run
	assert_contains "$ERR" "--dry-run checks a spec"
}

test_repo_that_is_not_a_git_repository_names_the_field_and_file() {
	sandbox
	mkdir -p "$S/specs/plain"
	spec f plain
	mv "$S/f.json" "$S/specs/f.json"
	expect_exit 2 flow create --file "$S/specs/f.json"
	assert_contains "$ERR" "$S/specs/f.json: project.repo: not a git repository: $S/specs/plain"
	assert_contains "$ERR" "taken from the spec file's directory"
	expect_exit 2 flow create --file "$S/specs/f.json" --dry-run
	assert_contains "$ERR" "project.repo: not a git repository"
	[ ! -e "$HIVE_DIR/data.mdb" ] || [ "$("$HIVE_BIN" events list | wc -l)" = 0 ] || fail "events written"
}

run_tests "$@"
