#!/bin/bash
# test_query.sh - the read side of the library API as the CLI shows it:
# list filters that go through the log's indexes (core/query.c).
# Needs bash, git, python3.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

# A repo with one commit and a project p on it.
make_project() {
	git init -q "$T/repo" && git -C "$T/repo" -c user.email=t@t -c user.name=t commit -q --allow-empty -m init ||
		fail "git init"
	expect_exit 0 project create p --repo "$T/repo"
}

# A flow NAME of one task KEY whose runtime always fails, with N attempts.
failing_flow() { # NAME KEY N
	cat >"$T/$1.json" <<EOF
{"name": "$1", "project": "p",
 "defaults": {"runtime": {"command": ["sh", "-c", "exit 1"]}, "retry": {"max_attempts": $3}},
 "tasks": [{"key": "$2", "title": "$2"}]}
EOF
	expect_exit 0 flow create --file "$T/$1.json"
	expect_exit 0 flow start "$1"
	expect_exit 1 flow run "$1"
}

# python3 over the JSON document in $OUT: prints the expression's value.
py() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$OUT" "$1"
}

# attempt list --flow F lists exactly F's attempts from a store holding
# several flows — also when one task ran in two flows — and --task/--flow
# combine.
test_attempt_list_by_flow() {
	make_project
	failing_flow f1 a 2
	failing_flow f2 b 3
	failing_flow f3 c 1
	expect_exit 0 --json flow status f2
	local f2 b
	f2=$(py 'd["flow"]["id"]')
	b=$(py 'd["tasks"][0]["id"]')

	expect_exit 0 --json attempt list
	assert_eq "$(py "len(d['attempts'])")" 6 "attempts in the store"
	expect_exit 0 --json attempt list --flow f2
	assert_eq "$(py "len(d['attempts'])")" 3 "attempts of f2"
	assert_eq "$(py "sorted(set(a['flow_id'] for a in d['attempts']))")" "['$f2']" "flow ids listed for --flow f2"
	assert_eq "$(py "[a['attempt_number'] for a in d['attempts']]")" "[1, 2, 3]" "attempt numbers, in order"
	expect_exit 0 attempt list --flow "$f2"
	assert_lines "$OUT" 4 # header + 3
	[ "$(grep -c " f2/b#[123] " "$OUT")" = 3 ] || fail "text list of f2 is not f2's 3 attempts: $(cat "$OUT")"

	# task b leaves the aborted f2 for a new flow f4 and fails 3 more times there
	expect_exit 0 flow abort f2
	expect_exit 0 flow create p --name f4 --task f2/b
	expect_exit 0 flow start f4 # b joined f4 pending, with a fresh budget (SPEC 12)
	expect_exit 1 flow run f4
	expect_exit 0 --json flow status f4
	local f4
	f4=$(py 'd["flow"]["id"]')
	expect_exit 0 --json attempt list --flow f4
	assert_eq "$(py "[(a['flow_id'] == '$f4', a['task_id'] == '$b', a['attempt_number']) for a in d['attempts']]")" \
		"[(True, True, 4), (True, True, 5), (True, True, 6)]" "attempts of f4"
	expect_exit 0 --json attempt list --task "$b"
	assert_eq "$(py "[a['attempt_number'] for a in d['attempts']]")" "[1, 2, 3, 4, 5, 6]" "attempts of task b over both flows"
	expect_exit 0 --json attempt list --task "$b" --flow f2
	assert_eq "$(py "sorted(set(a['flow_id'] for a in d['attempts'])), len(d['attempts'])")" "(['$f2'], 3)" "task b in f2"
	expect_exit 0 --json attempt list --task "$b" --flow f1
	assert_eq "$(py "len(d['attempts'])")" 0 "task b in f1"
	expect_exit 3 attempt list --flow nope
	expect_stderr_line 'no flow matches "nope"'
}

# task list --flow lists the flow's tasks only, in id order, also with
# --project.
test_task_list_by_flow() {
	make_project
	failing_flow f1 a 1
	failing_flow f2 b 1
	expect_exit 0 --json task list --flow f2 --project p
	assert_eq "$(py "[t['key'] for t in d['tasks']]")" "['b']" "tasks of f2"
	expect_exit 0 --json task list
	assert_eq "$(py "[t['key'] for t in d['tasks']]")" "['a', 'b']" "every task"
}

run_tests "$@"
