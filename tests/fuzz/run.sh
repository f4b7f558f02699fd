#!/bin/bash
# run.sh - run each libFuzzer target for a fixed time and summarise.
#
#   bash tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# Each target starts from its committed seed corpus (tests/fuzz/corpus/T,
# read only) plus what earlier runs found (BUILD_DIR/corpus/T, where new
# inputs go), with its dictionary when there is one.  A crash, leak,
# sanitizer report, timeout or property violation stops that target and
# leaves the input in BUILD_DIR/crashes/T-*; after fixing the bug, copy it
# to tests/fuzz/regressions/T/ so `make test` replays it forever.
#
# Last lines: one "fuzz T: N execs in S s, cov C, corpus K, OK|FAILED" per
# target, then "fuzz: N targets, M failed".  Exit status 1 if any failed.
set -u
build=$1 secs=$2
shift 2
dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/crashes" "$build/logs"
failed=0 summary=()

for t in "$@"; do
	mkdir -p "$build/corpus/$t"
	log=$build/logs/$t.log
	dict=()
	[ -f "$dir/dict/$t.dict" ] && dict=(-dict="$dir/dict/$t.dict")
	echo "== fuzz $t for ${secs}s"
	rc=0
	"$build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
		"${dict[@]}" "$build/corpus/$t" "$dir/corpus/$t" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	corpus=$(find "$build/corpus/$t" -type f | wc -l)
	status=OK
	if [ $rc != 0 ]; then
		status=FAILED
		failed=$((failed + 1))
		grep -E 'ERROR|SUMMARY|property violated|Test unit written' "$log" | head -8
		echo "   full log: $log"
	fi
	summary+=("fuzz $t: ${execs:-?} execs in ${secs} s, cov ${cov:-?}, corpus $corpus (+$(find "$dir/corpus/$t" -type f | wc -l) seeds), $status")
done
printf '%s\n' "${summary[@]}"
echo "fuzz: $# targets, $failed failed"
[ $failed = 0 ]
