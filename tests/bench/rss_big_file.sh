#!/bin/bash
# rss_big_file.sh - peak RSS and time of `hive flow run` for one attempt
# whose runtime writes a 150 MB generated text file into its worktree
# (issue 8 item 7; figures in docs/reliability.md).
#
#   bash tests/bench/rss_big_file.sh [HIVE_BIN] [SIZE_BYTES]
#
# Needs /usr/bin/time (GNU time).  Works in a temp dir it removes.
set -eu
BIN=$(realpath "${1:-./hive}")
SIZE=${2:-150000000}
D=$(mktemp -d "${TMPDIR:-/tmp}/hive-rss-XXXXXX")
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/repo"
cat >"$D/repo/agent.sh" <<A
#!/bin/sh
yes 'generated line of text 0123456789' | head -c $SIZE > big.txt
A
chmod +x "$D/repo/agent.sh"
git -C "$D/repo" init -q
git -C "$D/repo" add -A
git -C "$D/repo" -c user.name=t -c user.email=t@t commit -qm init
cat >"$D/spec.json" <<S
{"name": "f", "project": {"name": "p", "repo": "$D/repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "600s"}},
 "tasks": [{"key": "t", "title": "big"}]}
S
export HIVE_DIR=$D/data
"$BIN" flow create --file "$D/spec.json" >/dev/null
"$BIN" flow start f >/dev/null
/usr/bin/time -v "$BIN" flow run f 2>"$D/time.txt" >/dev/null || true
echo "file: $SIZE bytes"
grep -E "Maximum resident|Elapsed" "$D/time.txt"
echo "data.mdb: $(du -h "$D/data/data.mdb" | cut -f1)"
