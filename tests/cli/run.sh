#!/bin/bash
# run.sh - run hive's end-to-end CLI test scripts and summarise.
#
#   HIVE_BIN=/abs/path/hive bash tests/cli/run.sh tests/cli/test_*.sh
#
# How a script's tests are counted:
#   - scripts built on lib.sh record one "pass NAME" / "fail NAME" line per
#     test in $CLI_RESULTS;
#   - a self-contained script that ends its output with a line
#     "<name>: N passed, M failed" is counted from that line;
#   - otherwise the script counts as one test, passed if it exits 0.
# A script that exits non-zero without any failure counted adds one
# failure.  The last line is exactly "cli: N passed, M failed"; the exit
# status is non-zero when anything failed.
set -u

if [ -z "${HIVE_BIN:-}" ]; then
	echo "run.sh: set HIVE_BIN to the hive binary under test" >&2
	echo "cli: 0 passed, 1 failed"
	exit 1
fi
case $HIVE_BIN in /*) ;; *) HIVE_BIN=$PWD/$HIVE_BIN ;; esac
export HIVE_BIN

CLI_RESULTS=$(mktemp "${TMPDIR:-/tmp}/hive-cli-results-XXXXXX")
CLI_TOOLS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hive-cli-tools-XXXXXX")
LOG=$(mktemp "${TMPDIR:-/tmp}/hive-cli-log-XXXXXX")
export CLI_RESULTS CLI_TOOLS_DIR
trap 'rm -rf "$CLI_RESULTS" "$CLI_TOOLS_DIR" "$LOG"' EXIT

count() { grep -c "^$1 " "$CLI_RESULTS"; }

record() { # pass|fail NAME TIMES
	local i
	for ((i = 0; i < $3; i++)); do
		echo "$1 $2" >>"$CLI_RESULTS"
	done
}

for script in "$@"; do
	echo "== $script"
	before=$(wc -l <"$CLI_RESULTS")
	before_fail=$(count fail)
	bash "$script" | tee "$LOG"
	rc=${PIPESTATUS[0]}
	if [ "$(wc -l <"$CLI_RESULTS")" = "$before" ]; then
		summary=$(grep -E '^[A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -1)
		if [ -n "$summary" ]; then
			n=${summary#*: }
			record pass "$script" "${n%% passed*}"
			n=${n#*passed, }
			record fail "$script" "${n%% failed}"
		elif [ "$rc" = 0 ]; then
			record pass "$script" 1
		fi
	fi
	if [ "$rc" != 0 ] && [ "$(count fail)" = "$before_fail" ]; then
		echo "  FAIL $script (exited $rc without reporting a failed test)"
		record fail "$script" 1
	fi
done

echo "cli: $(count pass) passed, $(count fail) failed"
[ "$(count fail)" = 0 ]
