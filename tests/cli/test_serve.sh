#!/bin/bash
# test_serve.sh - `hive serve` end to end (issue 12): a real server on
# 127.0.0.1 (a free port), driven by tests/cli/serve_test.py over HTTP:
# the token and the Host check, 4xx JSON on bad input, documents equal to
# the CLI's --json, steering POSTs, the SSE stream (resume across a
# reconnect and across a server restart, live delivery, heartbeats), 100
# streams with one client that stopped reading while a flow runs.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_serve.sh
source "$(dirname "$0")/lib.sh"

serve_py() { # SCENARIO: run it; its output is the failure message
	local out
	out=$(APPEND=$APPEND python3 "$CLI_DIR/serve_test.py" "$1" 2>&1) || fail "$1: $out"
}

# demo_store: the demo's flow (attempt 1 fails its check, attempt 2 fixes
# it): FLOW and TASK name it.
demo_store() {
	expect_exit 0 demo
	export FLOW=demo-fix-add TASK=demo-fix-add/fix-add
}

# quick_flow NAME AGENT_EXIT [MAX_ATTEMPTS [DEFAULTS_MEMBERS [TASK_MEMBERS]]]:
# a one-task flow over a fresh repo whose agent runs $AGENT_BODY and exits
# AGENT_EXIT; created and started, not run.
quick_flow() {
	sandbox
	R=$T/repo-$1
	mkdir -p "$R"
	script agent.sh <<SH
#!/bin/sh
cat >/dev/null
${AGENT_BODY:-}
exit $2
SH
	mkrepo
	cat >"$S/$1.json" <<JSON
{"name": "$1", "project": {"name": "p-$1", "repo": "repo-$1"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "60s"},
              "retry": {"max_attempts": ${3:-1}, "backoff": {"initial": "1ms"}}${4:-}},
 "tasks": [{"key": "t", "title": "t"${5:-}}]}
JSON
	expect_exit 0 flow create --file "$S/$1.json"
	expect_exit 0 flow start "$1"
	export FLOW=$1 TASK=$1/t
}

test_token_host_and_cookie() {
	demo_store
	serve_py auth
}

test_bad_requests_get_4xx_json() {
	demo_store
	serve_py bad_input
}

test_documents_equal_the_cli_json() {
	demo_store
	serve_py documents
}

test_abort_and_retry_as_posts() {
	quick_flow f 0
	serve_py steer
	quick_flow g 1
	expect_exit 1 flow run g
	serve_py retry_post
}

test_accept_as_a_post() {
	# the agent changes a file (a checkpoint commit), the check fails it
	AGENT_BODY='echo done >result.txt' quick_flow h 0 1 '' ', "checks": [{"name": "unit", "command": "false"}]'
	expect_exit 1 flow run h
	serve_py accept_post
}

test_metrics_count_attempts_tasks_and_circuits() {
	quick_flow cb 1 3 ', "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "1h"}'
	expect_exit 1 flow tick cb
	serve_py metrics
}

test_sse_resume_across_a_reconnect() {
	demo_store
	serve_py sse_resume
}

test_sse_delivers_new_events_and_heartbeats() {
	demo_store
	HIVE_SERVE_HEARTBEAT_MS=200 serve_py sse_live
}

test_100_streams_and_a_stuck_client_while_a_flow_runs() {
	quick_flow f 0
	serve_py many_clients
}

test_sse_resume_across_a_server_restart() {
	demo_store
	serve_py restart_resume
}

test_sigterm_ends_open_streams() {
	demo_store
	serve_py stop_with_open_streams
}

test_refusals_at_start() {
	demo_store
	expect_exit 2 serve --listen 0.0.0.0:0
	expect_stderr_line "not a loopback address; pass --allow-remote"
	expect_exit 2 serve --listen nonsense
	expect_stderr_line -- "--listen nonsense: give HOST:PORT"
	expect_exit 2 serve --listen 127.0.0.1:70000
	# serve.token: never through a symlink, never readable by others
	ln -s "$T/elsewhere" "$HIVE_DIR/serve.token"
	expect_exit 2 serve --listen 127.0.0.1:0
	expect_stderr_line "serve.token.*symlink"
	[ ! -e "$T/elsewhere" ] || fail "serve wrote through the symlink"
	rm "$HIVE_DIR/serve.token"
	echo 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef >"$HIVE_DIR/serve.token"
	chmod 644 "$HIVE_DIR/serve.token"
	expect_exit 2 serve --listen 127.0.0.1:0
	expect_stderr_line "accessible to other users.*chmod 600"
	# no store: the usual refusal, nothing created
	expect_exit 3 --dir "$T/none" serve --listen 127.0.0.1:0
	[ ! -e "$T/none" ] || fail "serve created a data dir"
}

test_posts_refused_across_sites() {
	demo_store
	serve_py csrf
}

test_events_take_repeated_and_listed_types() {
	demo_store
	serve_py event_types
}

test_sse_filter_resolved_once_no_error_flood() {
	demo_store
	HIVE_SERVE_HEARTBEAT_MS=200 serve_py sse_ref_reused
}

test_token_file_without_newline() {
	demo_store
	# exactly 64 hex bytes, no newline: the check stays inside what was read
	printf %s 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef >"$HIVE_DIR/serve.token"
	chmod 600 "$HIVE_DIR/serve.token"
	APPEND=$APPEND python3 - "$CLI_DIR" <<'PY' || fail "a 64-byte token file without newline was not used"
import sys
sys.path.insert(0, sys.argv[1])
from serve_lib import Server
s = Server()
ok = s.token == "0123456789abcdef" * 4 and s.request("GET", "/api/v1/projects")[0] == 200
s.stop()
sys.exit(0 if ok else 1)
PY
	printf %s 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX >"$HIVE_DIR/serve.token"
	expect_exit 2 serve --listen 127.0.0.1:0
	expect_stderr_line "does not hold a token"
}

# Only `hive serve` loads libmicrohttpd (and the gnutls it links):
# every other command, `flow run` above all, stays without them
# (serve/mhd.h; docs/benchmarks.md "Peak RSS").
maps_of() { # PID: the libraries the running process has mapped
	awk '$6 ~ /\.so/ { print $6 }' "/proc/$1/maps" | sort -u
}
test_only_serve_loads_libmicrohttpd() {
	demo_store
	! ldd "$HIVE_BIN" | grep -E "libmicrohttpd|libgnutls" || fail "the hive binary links libmicrohttpd or gnutls"
	"$HIVE_BIN" events stream --follow >/dev/null 2>&1 &
	local follow=$!
	sleep 0.5
	maps_of $follow >"$T/follow.maps"
	kill $follow; wait $follow 2>/dev/null || true
	grep -q "libjansson" "$T/follow.maps" || fail "no maps read for events stream --follow"
	! grep -E "libmicrohttpd|libgnutls" "$T/follow.maps" || fail "events stream --follow mapped libmicrohttpd"
	APPEND=$APPEND python3 - "$CLI_DIR" >"$T/serve.maps" <<'PY' || fail "hive serve did not answer"
import subprocess, sys
sys.path.insert(0, sys.argv[1])
from serve_lib import Server
s = Server()
ok = s.request("GET", "/api/v1/projects")[0] == 200
print(open("/proc/%d/maps" % s.proc.pid).read())
s.stop()
sys.exit(0 if ok else 1)
PY
	grep -q "libmicrohttpd" "$T/serve.maps" || fail "hive serve answered without libmicrohttpd mapped?"
}

run_tests "$@"
