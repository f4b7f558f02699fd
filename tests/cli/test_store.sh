#!/bin/bash
# test_store.sh - the store across versions and damage: a store written by
# hive 0.1 (schema 1, tests/fixtures/store-v1) opens, upgrades and keeps
# working; a store of a newer hive is refused with one line; bit-flipped
# copies of a real store never kill hive with a signal.
source "$(dirname "$0")/lib.sh"

FIXTURE=$REPO_DIR/tests/fixtures/store-v1/data.mdb

# $HIVE_DIR holds a copy of the version-1 fixture.
v1_store() {
	[ -f "$FIXTURE" ] || fail "fixture $FIXTURE is missing"
	mkdir -p "$HIVE_DIR"
	cp "$FIXTURE" "$HIVE_DIR/data.mdb"
	chmod 0600 "$HIVE_DIR/data.mdb"
}

# A repo with an agent that fixes its task on the first attempt.
new_flow_spec() { # NAME
	mkdir -p "$T/repo"
	git -C "$T/repo" init -q
	printf '#!/bin/sh\necho done > done.txt\n' >"$T/repo/agent.sh"
	chmod +x "$T/repo/agent.sh"
	git -C "$T/repo" add agent.sh
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm init
	cat >"$T/spec.json" <<EOF
{"name": "$1", "project": {"name": "after-upgrade", "repo": "repo"},
 "defaults": {"runtime": {"command": ["./agent.sh"]}},
 "tasks": [{"key": "do", "title": "Do it", "checks": [{"name": "done", "command": "test -f done.txt"}]}]}
EOF
}

test_v1_store_upgrades_and_keeps_working() {
	v1_store
	expect_exit 0 events verify
	assert_contains "$OUT" "verified 57 events: log, indexes and projections agree"
	expect_exit 0 flow list
	assert_contains "$OUT" "demo-fix-add"
	assert_contains "$OUT" "v1-failing"
	expect_exit 0 flow status demo-fix-add --json
	[ "$(json_get "$OUT" flow.state)" = completed ] || fail "demo-fix-add is not completed: $(cat "$OUT")"
	expect_exit 0 flow status v1-failing
	assert_contains "$OUT" "always-fails     failed     2"
	expect_exit 0 attempt list --flow demo-fix-add
	assert_lines "$OUT" 3 # header + two attempts (check_failed, then success)
	expect_exit 0 events list --type attempt_completed
	assert_lines "$OUT" 4
	# the old log is untouched; a new flow runs on top of it
	new_flow_spec fresh
	expect_exit 0 flow create --file "$T/spec.json"
	expect_exit 0 flow start fresh
	expect_exit 0 flow run fresh
	expect_exit 0 flow status fresh --json
	[ "$(json_get "$OUT" flow.state)" = completed ] || fail "the new flow did not complete: $(cat "$OUT")"
	expect_exit 0 events verify
	assert_contains "$OUT" "log, indexes and projections agree"
	expect_exit 0 events list --limit 57 --json
	assert_lines "$OUT" 57
}

test_newer_store_is_refused() {
	v1_store
	expect_exit 0 events verify # upgrades to this hive's schema
	"$HIVE_APPEND_EVENTS" --set-meta "$HIVE_DIR" schema_version 99 || fail "cannot set the schema version"
	cp "$HIVE_DIR/data.mdb" "$T/before.mdb"
	for cmd in "events verify" "flow status demo-fix-add" "events list"; do
		expect_exit 5 $cmd
		expect_stderr_line "data dir $HIVE_DIR was written by a newer hive \(schema 99; this hive reads up to [0-9]+\); upgrade hive; pass --dir to use another"
	done
	cmp -s "$HIVE_DIR/data.mdb" "$T/before.mdb" || fail "refusing the store changed it"
}

# Copies of an upgraded real store with 8 random bits flipped each
# (deterministic seed); three read commands on each.  hive may answer
# (0), find the damage (5), or not find a name whose key was damaged (3,
# "no flow matches"); it must never die of a signal, and every error is
# one line.
test_bit_flipped_stores_never_crash() {
	v1_store
	expect_exit 0 events verify
	rm -f "$HIVE_DIR/lock.mdb"
	python3 - "$HIVE_BIN" "$HIVE_DIR/data.mdb" "$T/flips" "${STORE_FLIP_COPIES:-60}" 11 >"$T/tally" <<'PY' ||
import os, random, subprocess, sys
hive, src, work, n, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
data = open(src, "rb").read()
rng = random.Random(seed)
cmds = [["events", "verify"], ["flow", "status", "demo-fix-add"], ["events", "list"]]
runs = bad = 0
codes = {}
for i in range(n):
    b = bytearray(data)
    flips = [(rng.randrange(len(b)), rng.randrange(8)) for _ in range(8)]
    for off, bit in flips:
        b[off] ^= 1 << bit
    d = os.path.join(work, "c%d" % i)
    os.makedirs(d)
    open(os.path.join(d, "data.mdb"), "wb").write(b)
    for c in cmds:
        p = subprocess.run([hive, "--dir", d] + c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        runs += 1
        codes[p.returncode] = codes.get(p.returncode, 0) + 1
        err = p.stderr.decode("utf-8", "replace")
        ok = p.returncode in (0, 5) or (p.returncode == 3 and c[0] == "flow" and "no flow matches" in err)
        if p.returncode != 0 and (err.count("\n") != 1 or not err.startswith("hive: ")):
            ok = False
        if not ok:
            bad += 1
            print("copy %d (flips %s) %s: exit %d: %r" % (i, flips, " ".join(c), p.returncode, err[:300]))
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)
print("runs %d, exit codes %s, bad %d" % (runs, sorted(codes.items()), bad))
sys.exit(1 if bad else 0)
PY
		fail "$(cat "$T/tally")"
	echo "    # $(tail -1 "$T/tally")" >&2
}

run_tests "$@"
