#!/bin/bash
# run.sh - run hive's end-to-end CLI suites and summarise.
#
#   HIVE_BIN=/abs/path/hive bash tests/cli/run.sh tests/cli/test_*.sh
#
# Every suite is built on lib.sh: it records one "pass NAME" / "fail NAME"
# line per test in $CLI_RESULTS.  A suite that exits non-zero without a
# failed test, or reports no test at all, adds one failure.  The last line
# is exactly "cli: N passed, M failed"; the exit status is non-zero when
# anything failed.  CLI_ONLY, CLI_KEEP and CLI_TEST_TIMEOUT pass through
# to lib.sh.
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
export CLI_RESULTS CLI_TOOLS_DIR
trap 'rm -rf "$CLI_RESULTS" "$CLI_TOOLS_DIR"' EXIT

count() { grep -c "^$1 " "$CLI_RESULTS"; }

for script in "$@"; do
	echo "== $script"
	before=$(wc -l <"$CLI_RESULTS")
	before_fail=$(count fail)
	start=$(date +%s)
	rc=0
	bash "$script" || rc=$?
	echo "# $(basename "$script") took $(($(date +%s) - start))s"
	if [ "$(wc -l <"$CLI_RESULTS")" = "$before" ] && [ -z "${CLI_ONLY:-}" ]; then
		echo "  FAIL $script (reported no test; is it built on lib.sh?)"
		echo "fail $script" >>"$CLI_RESULTS"
	elif [ "$rc" != 0 ] && [ "$(count fail)" = "$before_fail" ]; then
		echo "  FAIL $script (exited $rc without reporting a failed test)"
		echo "fail $script" >>"$CLI_RESULTS"
	fi
done

echo "cli: $(count pass) passed, $(count fail) failed"
[ "$(count fail)" = 0 ]
