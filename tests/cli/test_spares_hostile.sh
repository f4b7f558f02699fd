#!/bin/bash
# Spare worktrees a runtime or a check tampered with after hive staged
# them (docs/lifecycle.md "Spare worktrees"): adopting one must never
# write outside it nor hang; such a spare is discarded and the next task
# gets a fresh checkout.
source "$(dirname "$0")/lib.sh"

flowspec()
{
	cat >"$S/flow.json" <<EOF
{"name": "$1", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": 1}},
 "tasks": $2}
EOF
}

# A check swaps a tracked file for a symlink to a file outside: the index
# still says "regular file", and libgit2's forced checkout would follow the
# link and write the next task's base content into the victim.
test_symlink_planted_after_staging_is_not_followed() {
	sandbox
	local V=$S/victim
	mkdir -p "$V" && echo precious >"$V/file"
	printf 'base\n' >"$R/mod.txt"
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
case $(basename "$PWD") in a) echo changed > mod.txt ;; esac
EOF
	script check.sh <<EOF
#!/bin/sh
case \$(basename "\$PWD") in a) rm mod.txt && ln -s $V/file mod.txt ;; esac
EOF
	mkrepo
	local CHECK='"checks": [{"name": "build", "command": "sh check.sh", "timeout": "30s"}]'
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$CHECK"'},
	             {"key": "b", "title": "b", "description": "d", "depends_on": ["a"], '"$CHECK"'}]'
	expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start f
	expect_exit 0 flow tick f
	expect_exit 0 flow tick f
	assert_eq "$(cat "$V/file")" "precious" "the file outside the worktree"
	expect_exit 0 task show f/b --json
	assert_eq "$(json_get "$OUT" state)" "success" "task b"
	expect_exit 0 events list --type attempt_started --json
	assert_contains "$(tail -1 "$OUT")" '"adopted":false'
	assert_contains "$(tail -1 "$OUT")" 'is not in the index as a symlink' 
}

# A check replaces the worktree's .git file with a FIFO: reading it (to
# park or adopt the spare) must not block hive for ever while it holds
# the repository's lock.
test_fifo_as_dotgit_does_not_hang_the_runner() {
	sandbox
	printf 'base\n' >"$R/mod.txt"
	script agent.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo changed > mod.txt
EOF
	script check.sh <<'EOF'
#!/bin/sh
case $(basename "$PWD") in a) rm .git && mkfifo .git ;; esac
EOF
	mkrepo
	local CHECK='"checks": [{"name": "build", "command": "sh check.sh", "timeout": "30s"}]'
	flowspec f '[{"key": "a", "title": "a", "description": "d", '"$CHECK"'},
	             {"key": "b", "title": "b", "description": "d", "depends_on": ["a"]}]'
	expect_exit 0 flow create --file "$S/flow.json" && expect_exit 0 flow start f
	local rc=0
	timeout 60 "$HIVE_BIN" flow run f </dev/null >"$S/run.out" 2>&1 || rc=$?
	[ "$rc" != 124 ] || fail "flow run hung on the FIFO (killed after 60 s)"
	expect_exit 0 task show f/b --json
	assert_eq "$(json_get "$OUT" state)" "success" "task b"
}

run_tests "$@"
