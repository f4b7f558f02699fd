#!/bin/bash
# test_recovery.sh - what a runner that dies leaves behind is cleaned up by
# the next one: the runtime's and a running check's process groups are
# killed, the attempt is recorded as crashed, and the retry completes.
source "$(dirname "$0")/lib.sh"

# A repo with a no-op agent, and a spec whose check hangs until $T/fast exists.
make_flow() { # NAME CHECK_COMMAND
	mkdir -p "$T/repo"
	git -C "$T/repo" init -q
	printf '#!/bin/sh\necho agent ran\n' >"$T/repo/agent.sh"
	chmod +x "$T/repo/agent.sh"
	git -C "$T/repo" add agent.sh
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm init
	python3 - "$T/spec.json" "$1" "$2" <<'PY'
import json, sys
path, name, check = sys.argv[1:]
json.dump({"name": name, "project": {"name": "p", "repo": "repo"},
           "defaults": {"runtime": {"command": ["./agent.sh"]}, "retry": {"max_attempts": 3}},
           "tasks": [{"key": "a", "title": "A", "checks": [{"name": "slow", "command": check}]}]},
          open(path, "w"))
PY
	expect_exit 0 flow create --file "$T/spec.json"
	expect_exit 0 flow start "$1"
}

alive() { # PID: running (a zombie counts as gone: nothing reaps orphans here)
	[ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]
}

test_running_check_of_a_dead_runner_is_killed() {
	make_flow ck "if [ -f $T/fast ]; then exit 0; fi; echo \$\$ > $T/check.pid; exec sleep 300"
	"$HIVE_BIN" flow tick ck >/dev/null 2>&1 &
	local runner=$!
	wait_until 20 test -s "$T/check.pid" || fail "the check never started"
	kill -9 "$runner"
	wait "$runner" 2>/dev/null
	local check
	check=$(cat "$T/check.pid")
	alive "$check" || fail "the check died with the runner; the test proves nothing"
	touch "$T/fast"
	expect_exit 1 flow tick ck # the crashed attempt counts as failed in this tick
	wait_until 5 bash -c "! { [ -r /proc/$check/stat ] && [ \"\$(awk '{print \$3}' /proc/$check/stat)\" != Z ]; }" ||
		fail "check process $check is still running after recovery"
	expect_exit 0 events list --json --type attempt_crashed
	assert_lines "$OUT" 1
	assert_contains "$OUT" '"killed":true'
	expect_exit 0 flow status ck --json
	assert_contains "$OUT" '"state":"completed"'
	expect_exit 0 events verify
}

run_tests "$@"
