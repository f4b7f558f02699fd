#!/bin/bash
# test_resolve.sh - references end to end (SPEC sections 1 and 12): names
# are not ids.  A project, flow or task name of 4+ characters made only of
# hex digits and '-' is refused at creation (exit 2, one line naming it),
# so a name can never capture a command meant for the object whose id it
# spells; exact ids resolve before names.
source "$(dirname "$0")/lib.sh"

# A repo with one commit, project p on it, task a, flow f1 over it.
setup() {
	mkdir -p "$T/repo"
	git -C "$T/repo" init -q
	echo x >"$T/repo/README"
	git -C "$T/repo" add README
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm init
	expect_exit 0 project create p --repo "$T/repo"
	expect_exit 0 task create p "Task one" --key a --runtime-command true
	expect_exit 0 flow create p --name f1 --task a
	expect_exit 0 flow status f1 --json
	F1=$(json_get "$OUT" flow.id)
	case $F1 in ????????-????-????-????-????????????) ;; *) fail "no flow id in: $(cat "$OUT")" ;; esac
}

# The regression: a flow named with another flow's id (or a prefix of it)
# used to capture `flow abort <id>`; now such names are refused, and the
# id aborts the flow it names.
test_flow_named_like_an_id_cannot_capture_it() {
	setup
	expect_exit 0 task create p "Task two" --key b --runtime-command true
	expect_exit 2 flow create p --name "$F1" --task b
	expect_stderr_line "flow name \"$F1\" could be taken for an id"
	expect_exit 2 flow create p --name "${F1:0:8}" --task b
	expect_stderr_line "flow name \"${F1:0:8}\" could be taken for an id"
	expect_exit 2 flow create p --name "${F1:0:4}" --task b
	expect_exit 0 events list --type flow_created --json
	assert_lines "$OUT" 1
	expect_exit 0 flow abort "$F1"
	expect_exit 0 flow status f1 --json
	assert_contains "$OUT" '"state":"aborted"'
	expect_exit 0 events verify
}

# Each kind of name, each way of creating it; nothing is written.
test_hex_names_refused_everywhere() {
	setup
	expect_exit 0 events list --json
	local before
	before=$(wc -l <"$OUT")
	expect_exit 2 project create beef --repo "$T/repo"
	expect_stderr_line 'project name "beef" could be taken for an id'
	expect_exit 2 project create 0194-abcd --repo "$T/repo"
	expect_exit 2 task create p "Deface" --runtime-command true
	expect_stderr_line '"deface" could be taken for an id'
	expect_exit 2 task create p "x" --key 1234 --runtime-command true
	expect_stderr_line '"1234" could be taken for an id'
	cat >"$T/spec.json" <<EOF
{"name": "cafe", "project": {"name": "p2", "repo": "$T/repo"},
 "tasks": [{"key": "a", "title": "A", "runtime": {"command": ["true"]}}]}
EOF
	expect_exit 2 flow create --file "$T/spec.json"
	expect_stderr_line 'spec.json: name "cafe" could be taken for an id'
	cat >"$T/spec.json" <<EOF
{"name": "s1", "project": {"name": "p2", "repo": "$T/repo"},
 "tasks": [{"key": "0ff1ce", "title": "A", "runtime": {"command": ["true"]}}]}
EOF
	expect_exit 2 flow create --file "$T/spec.json"
	expect_stderr_line 'tasks\[0\]\.key "0ff1ce" could be taken for an id'
	cat >"$T/spec.json" <<EOF
{"name": "s1", "project": {"name": "dead-beef", "repo": "$T/repo"},
 "tasks": [{"key": "a1", "title": "A", "runtime": {"command": ["true"]}}]}
EOF
	expect_exit 2 flow create --file "$T/spec.json"
	expect_stderr_line 'project.name "dead-beef" could be taken for an id'
	expect_exit 0 events list --json
	assert_lines "$OUT" "$before"
	# short hex names, and names with another letter, are fine
	expect_exit 0 project create abc --repo "$T/repo"
	expect_exit 0 project create beefy --repo "$T/repo"
	expect_exit 0 task create p "x" --key c0ffee-x --runtime-command true
	expect_exit 0 events verify
}

# Ids and unique prefixes of at least 4 characters resolve; shorter ones
# do not; names do.
test_id_prefix_and_name() {
	setup
	expect_exit 0 flow status "${F1:0:4}"
	expect_exit 0 flow status "${F1:0:13}" --json
	assert_contains "$OUT" "$F1"
	expect_exit 3 flow status "${F1:0:3}"
	expect_stderr_line "no flow matches \"${F1:0:3}\""
	expect_exit 0 task show f1/a
	expect_exit 0 task show a
	expect_exit 3 task show f1/zz
}

run_tests "$@"
