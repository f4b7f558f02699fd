# lib.sh - helpers for hive's end-to-end CLI tests.  Source it from a
# tests/cli/test_*.sh script, define functions named test_*, and end the
# script with `run_tests "$@"`.
#
# Each test function runs in its own process (bash "$script" --one NAME)
# under a timeout, with a fresh empty data dir in $HIVE_DIR and a scratch
# dir in $T; both are removed afterwards, and background processes
# started with `bg_start` are killed.  A failed assertion ends that test
# (like cmocka) and prints what was expected and what happened.
#
# Environment:
#   HIVE_BIN            the hive binary under test (required; absolute)
#   HIVE_APPEND_EVENTS  a built tests/cli/append_events (else built here)
#   HIVE_LIB            the libhive.a to build it against
#                       (else $(dirname HIVE_BIN)/${BUILD:-build}/libhive.a)
#   CLI_RESULTS         file to append "pass NAME" / "fail NAME" lines to (run.sh sets it)
#   CLI_TEST_TIMEOUT    seconds per test (default 120)
#   CLI_ONLY            run only the tests whose name matches this extended regex
#   CLI_KEEP            keep each test's sandbox dir (its path is printed)
#
# Every suite under tests/cli uses this file; run.sh runs them all.  JSON
# is read either with the append_events tool (json_get: jansson, no jq) or,
# for richer assertions, with python3 through lib.py (json_py, events_py,
# pa, pv).

set -u

CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CLI_DIR/../.." && pwd)

: "${HIVE_BIN:?set HIVE_BIN to the hive binary under test}"
case $HIVE_BIN in /*) ;; *) HIVE_BIN=$PWD/$HIVE_BIN ;; esac
[ -x "$HIVE_BIN" ] || { echo "lib.sh: HIVE_BIN=$HIVE_BIN is not executable" >&2; exit 2; }

# ---- results ---------------------------------------------------------------

_TEST_NAME=""
_BG_PIDS=()
_PID_FILES=()

# Report a failed expectation and end the current test.
fail() {
	echo "    FAIL ${_TEST_NAME}: $*" >&2
	exit 1
}

# ---- running hive ----------------------------------------------------------

# A sanitizer report (a build with SAN=...) fails the test even when the
# exit status happens to be the expected one.
san_check() { # FILE...
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		if grep -qE 'Sanitizer|runtime error:' "$f"; then
			fail "sanitizer report in $f: $(grep -m1 -E 'Sanitizer|runtime error:' "$f")"
		fi
	done
}

# Run hive with the given arguments; output in $OUT (stdout) and $ERR
# (stderr) files, exit status in $RC.  Fails only on a sanitizer report.
run_hive() {
	RC=0
	_LAST_ARGS=" $* "
	"$HIVE_BIN" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
	san_check "$ERR"
}

# expect_exit CODE [hive] ARGS...: run hive (the word "hive" is optional)
# or another command and require its exit status to be CODE.
expect_exit() {
	local want=$1
	shift
	[ "${1:-}" = hive ] && shift
	run_hive "$@"
	if [ "$RC" != "$want" ]; then
		fail "hive $* exited $RC, expected $want
      stdout: $(head -c 600 "$OUT")
      stderr: $(head -c 600 "$ERR")"
	fi
}

# expect_stderr_line [PATTERN]: stderr of the last run is exactly one line
# "hive: ..." (or, when the run had --json, one line {"error":{...}} with a
# code and a message), optionally matching the extended regex PATTERN
# (give "--" before a PATTERN that starts with a dash).
expect_stderr_line() {
	[ "${1:-}" = -- ] && shift
	local json=${_LAST_JSON:-0}
	case $_LAST_ARGS in *" --json "*) json=1 ;; esac
	local n
	n=$(wc -l <"$ERR")
	[ "$n" = 1 ] || fail "expected one line on stderr, got $n:
$(cat "$ERR")"
	local line
	line=$(cat "$ERR")
	if [ "$json" = 1 ]; then
		json_ok "$line" || fail "stderr is not JSON: $line"
		[ "$(printf '%s' "$line" | json_get - . keys)" = "error schema" ] &&
			[ "$(printf '%s' "$line" | json_get - error keys)" = "code message" ] ||
			fail "stderr is not {\"schema\":2,\"error\":{\"code\",\"message\"}}: $line"
	else
		case $line in "hive: "*) ;; *) fail "stderr does not start with 'hive: ': $line" ;; esac
	fi
	if [ $# -gt 0 ]; then
		printf '%s\n' "$line" | grep -Eq -- "$1" || fail "stderr does not match /$1/: $line"
	fi
}

# ---- assertions --------------------------------------------------------------

assert_eq() { # ACTUAL EXPECTED [WHAT]
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"
}

assert_contains() { # FILE_OR_STRING NEEDLE
	local hay=$1
	[ -f "$hay" ] && hay=$(cat "$hay")
	case $hay in *"$2"*) ;; *) fail "expected to find '$2' in:
$hay" ;; esac
}

assert_not_contains() {
	local hay=$1
	[ -f "$hay" ] && hay=$(cat "$hay")
	case $hay in *"$2"*) fail "did not expect '$2' in:
$hay" ;; esac
}

assert_lines() { # FILE N
	local n
	n=$(wc -l <"$1")
	[ "$n" = "$2" ] || fail "expected $2 lines, got $n:
$(head -c 2000 "$1")"
}

assert_empty() { # FILE
	[ ! -s "$1" ] || fail "expected no output, got:
$(head -c 2000 "$1")"
}

# JSON is read with the append_events tool (jansson), so the tests need
# no jq.

# The seq numbers of the NDJSON events in FILE, space-separated.
seqs_of() {
	"$APPEND" --json-seqs "$1"
}

# A string is one JSON object or array.
json_ok() {
	printf '%s' "$1" | "$APPEND" --json-get - . >/dev/null 2>&1
}

# json_get FILE PATH [keys]: the value at PATH ("a.b", "." = all) of the
# one JSON document in FILE ("-" = stdin): strings raw, the rest compact
# JSON; with "keys", the object's keys, sorted, space-separated.
json_get() {
	if [ "${3:-}" = keys ]; then
		"$APPEND" --json-keys "$1" "$2"
	else
		"$APPEND" --json-get "$1" "$2"
	fi
}

# Every line of FILE is one complete event envelope (it decodes).
assert_ndjson_events() {
	"$APPEND" --json-check-events "$1" 2>"$T/ndjson.err" || fail "$(cat "$T/ndjson.err")"
}

# ---- fixtures ----------------------------------------------------------------

# The append_events tool (tests/cli/append_events.c), built once per run
# unless HIVE_APPEND_EVENTS names one.
append_events_bin() {
	if [ -n "${HIVE_APPEND_EVENTS:-}" ] && [ -x "$HIVE_APPEND_EVENTS" ]; then
		echo "$HIVE_APPEND_EVENTS"
		return
	fi
	local build=${BUILD:-build}
	case $build in /*) ;; *) build=$(dirname "$HIVE_BIN")/$build ;; esac
	local lib=${HIVE_LIB:-$build/libhive.a}
	local out=${CLI_TOOLS_DIR:-$T}/append_events
	if [ ! -x "$out" ] || [ "$out" -ot "$CLI_DIR/append_events.c" ] || [ "$out" -ot "$lib" ]; then
		[ -f "$lib" ] || { echo "lib.sh: no $lib to build append_events against; set HIVE_LIB" >&2; return 1; }
		local san=""
		if nm -A "$lib" 2>/dev/null | grep -q '__asan_'; then
			san="-fsanitize=address,undefined"
		fi
		# shellcheck disable=SC2046
		${CC:-cc} -std=c11 -D_GNU_SOURCE -I"$REPO_DIR" -O1 -g $san -o "$out.tmp.$$" \
			"$CLI_DIR/append_events.c" "$lib" \
			$(pkg-config --cflags --libs lmdb jansson libgit2) -lmbedcrypto -lpthread >&2 &&
			mv "$out.tmp.$$" "$out" || return 1
	fi
	echo "$out"
}

# append_events ARGS...: run the tool (see append_events.c for ARGS).
append_events() {
	"$APPEND" "$@"
}

# A suite's repo fixtures (a suite may define its own instead, after
# sourcing this file).
# sandbox: S (the test's dir), D (its data dir), R (the repo, made by
# mkrepo from what the test writes into it), O (files the agents write).
sandbox() {
	S=$T D=$HIVE_DIR R=$T/repo O=$T/out
	mkdir -p "$R" "$O"
}

# mkrepo: commit everything in $R as the repository's first commit.
mkrepo() {
	git -C "$R" init -q . &&
		git -C "$R" add -A &&
		git -C "$R" -c user.name=t -c user.email=t@t commit -qm init ||
		fail "cannot create the test repository $R"
}

# script FILE: write stdin to $R/FILE, executable.
script() { cat >"$R/$1" && chmod +x "$R/$1"; }

# second_try_repo: the repo of a task fixed at attempt 2: value.txt holds
# 1, check.sh fails ("FAIL: value is not 2") until it holds 2, and
# agent.sh writes 2 from attempt 2 on.
second_try_repo() {
	echo 1 >"$R/value.txt"
	script check.sh <<'SH'
#!/bin/sh
[ "$(cat value.txt)" = 2 ] || { echo "FAIL: value is not 2"; exit 1; }
SH
	script agent.sh <<'SH'
#!/bin/sh
cat >/dev/null
if [ "$HIVE_ATTEMPT_NUMBER" -ge 2 ]; then echo 2 > value.txt; fi
SH
	mkrepo
}

# ---- python helpers (lib.py) -------------------------------------------------

# json_py EXPR [FILE]: evaluate a python expression over the JSON document
# in FILE (default $OUT), bound to `d`; prints str() of the result (JSON
# for dicts and lists).
json_py() {
	python3 "$CLI_DIR/lib.py" json "$1" "${2:-$OUT}" 2>&1
}

# events_dump [FILTER ARGS...]: `hive events list --json ARGS` into
# $T/events.ndjson, the log events_py, pa and pv read.
events_dump() {
	"$HIVE_BIN" events list --json "$@" >"$T/events.ndjson" 2>"$T/events.err" </dev/null ||
		fail "events list $* failed: $(cat "$T/events.err")"
	san_check "$T/events.err"
}

# events_py CODE: python over the dumped events (a list bound to `E`); the
# last line of CODE is an expression whose value is printed, the lines
# before it are statements.
events_py() {
	python3 "$CLI_DIR/lib.py" events "$1" "$T/events.ndjson" 2>&1
}

# pa DESC EXPR: assert a python expression over the dumped events and
# files, with lib.py's helpers (EV, of, one, P, J, T, sha, states) and S
# (= $T), D (= $HIVE_DIR), O (= $O when set) bound; runs in $T.
pa() {
	local out
	out=$(cd "$T" && python3 "$CLI_DIR/lib.py" assert "$2" "$T/events.ndjson" "$T" "$HIVE_DIR" "${O:-}" 2>&1) ||
		fail "$1${out:+ ($out)}"
}

# pv EXPR: print a python expression's value (same bindings as pa).
pv() {
	(cd "$T" && python3 "$CLI_DIR/lib.py" value "$1" "$T/events.ndjson" "$T" "$HIVE_DIR" "${O:-}")
}

# ---- processes ------------------------------------------------------------------

# pid_alive PID: running (a zombie counts as gone: it runs nothing and
# holds nothing).
pid_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# pid_gone PID [SECONDS]: bounded poll (default 10 s) until PID no longer runs.
pid_gone() {
	wait_until "${2:-10}" eval "! pid_alive $1"
}

# kill_on_exit PIDFILE: when the test ends, kill the process (and its
# group) whose pid FILE holds, if it still runs in a directory under $T:
# an agent a failed test left behind, never a recycled pid.
kill_on_exit() {
	_PID_FILES+=("$1")
}

_ours() {
	local cwd
	cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
	[[ $cwd == "$T"/* ]]
}

# Start a background command; it is killed when the test ends.
bg_start() {
	"$@" &
	_BG_PIDS+=($!)
	BG_PID=$!
}

# FILE has at least N lines (for wait_until).
lines_ge() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# Wait (polling, up to SECONDS) until a command succeeds; a hang guard for
# waiting on another process, not a timing assertion.
wait_until() { # SECONDS CMD...
	local limit=$1 i=0
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ $i -ge $((limit * 20)) ] && return 1
		sleep 0.05
	done
}

_cleanup() {
	local p f
	for p in "${_BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for f in "${_PID_FILES[@]}"; do
		[ -s "$f" ] || continue
		p=$(cat "$f")
		case $p in '' | *[!0-9]*) continue ;; esac
		_ours "$p" || continue
		kill -9 -- "-$p" 2>/dev/null # its group (agents lead their own)
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "${CLI_KEEP:-}" ]; then
		echo "    # kept $T" >&2
	elif [ -n "${T:-}" ]; then
		rm -rf "$T"
	fi
}

# ---- the runner ----------------------------------------------------------------

# Run one test function in this process, in a fresh sandbox.
_run_one() {
	_TEST_NAME=$1
	T=$(mktemp -d "${TMPDIR:-/tmp}/hive-cli-XXXXXX")
	trap _cleanup EXIT
	export HIVE_DIR=$T/data
	unset XDG_DATA_HOME HIVE_DURABILITY NO_COLOR
	export HOME=$T/home
	mkdir -p "$HOME"
	OUT=$T/stdout
	ERR=$T/stderr
	_LAST_JSON=0
	_LAST_ARGS=""
	APPEND=$(append_events_bin) || fail "cannot build tests/cli/append_events.c"
	cd "$T" || exit 1
	"$1"
}

# run_tests [--one NAME]: run every test_* function of the calling script
# (in the order they are defined), each in its own process with a timeout.
run_tests() {
	if [ "${1:-}" = --one ]; then
		_run_one "$2"
		exit 0
	fi
	local script=$0 names name rc pass=0 failed=0
	names=$(grep -Eo '^test_[A-Za-z0-9_]+\(\)' "$script" | tr -d '()')
	[ -n "${CLI_ONLY:-}" ] && names=$(printf '%s\n' $names | grep -E -- "$CLI_ONLY")
	# build the tool once for every test of this script
	if [ -z "${CLI_TOOLS_DIR:-}" ]; then
		CLI_TOOLS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hive-cli-tools-XXXXXX")
		export CLI_TOOLS_DIR
		trap 'rm -rf "$CLI_TOOLS_DIR"' EXIT
	fi
	T=$CLI_TOOLS_DIR
	HIVE_APPEND_EVENTS=$(append_events_bin) || { echo "lib.sh: cannot build append_events" >&2; exit 1; }
	export HIVE_APPEND_EVENTS
	for name in $names; do
		rc=0
		timeout -k 5 "${CLI_TEST_TIMEOUT:-120}" bash "$script" --one "$name" || rc=$?
		if [ $rc = 0 ]; then
			pass=$((pass + 1))
			echo "  ok   $name"
			[ -n "${CLI_RESULTS:-}" ] && echo "pass $name" >>"$CLI_RESULTS"
		else
			failed=$((failed + 1))
			[ $rc = 124 ] && echo "    FAIL $name: timed out after ${CLI_TEST_TIMEOUT:-120} s" >&2
			echo "  FAIL $name"
			[ -n "${CLI_RESULTS:-}" ] && echo "fail $name" >>"$CLI_RESULTS"
		fi
	done
	echo "$(basename "$script"): $pass passed, $failed failed"
	[ $failed = 0 ]
}
