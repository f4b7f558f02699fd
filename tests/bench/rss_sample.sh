#!/bin/bash
# rss_sample.sh PID [OUT] - where the resident set of a running process
# is: samples /proc/PID/smaps every 100 ms until PID exits, then prints
# the sample with the largest total, split into
#   data.mdb  the event log's pages mapped by LMDB (file-backed; each read
#             fault maps up to 16 neighbouring pages: the kernel's fault-around)
#   heap      [heap] plus anonymous mappings (malloc arenas of threads, stacks)
#   libs      shared libraries, the three largest named
#   binary    the executable itself
# With OUT, every sample goes there too (one line each: total kB, then
# name=kB per mapping name).  Used by history_bench.sh on `flow run`;
# costs about 2 ms of CPU per sample.  Figures in docs/benchmarks.md.
set -u
pid=$1
out=${2:-/dev/null}
exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
exe=${exe##*/}
peak=""
peak_kb=0
while [ -e "/proc/$pid/smaps" ]; do
	s=$(awk '
	/^[0-9a-f]+-[0-9a-f]+ / { p = (NF >= 6) ? $6 : "[anon]"; n = split(p, a, "/"); name = a[n]; next }
	/^Rss:/ { if ($2 > 0) { r[name] += $2; tot += $2 } }
	END { if (tot) { printf "%d", tot; for (c in r) printf " %s=%d", c, r[c]; printf "\n" } }' \
		"/proc/$pid/smaps" 2>/dev/null)
	if [ -n "$s" ]; then
		echo "$s" >>"$out"
		[ "${s%% *}" -gt "$peak_kb" ] && { peak_kb=${s%% *}; peak=$s; }
	fi
	sleep 0.1
done
[ -n "$peak" ] || { echo "rss_sample: no sample of pid $pid"; exit 0; }
echo "$peak" | awk -v exe="$exe" '
	function mb(k) { return sprintf("%.1f", k / 1024) }
	{ for (i = 2; i <= NF; i++) { split($i, a, "="); n = a[1]; k = a[2]
		if (n == "data.mdb") mdb += k
		else if (n == "[heap]" || n == "[anon]" || n == "[stack]") heap += k
		else if (n == exe) bin += k
		else if (n ~ /\.so/) { libs += k; lib[n] = k }
		else other += k }
	  top = ""
	  for (j = 0; j < 3; j++) { best = ""; for (n in lib) if (best == "" || lib[n] > lib[best]) best = n
		if (best == "") break; short = best; sub(/\.so.*/, "", short)
		top = top (j ? ", " : "") short " " mb(lib[best]); delete lib[best] }
	  printf "peak sample %s MB: data.mdb %s, heap+anon %s, libraries %s (%s), binary %s, other %s\n",
		mb($1), mb(mdb), mb(heap), mb(libs), top, mb(bin), mb(other) }'
