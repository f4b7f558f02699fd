#!/bin/bash
# make_corpus.sh - (re)generate the seed corpora in tests/fuzz/corpus/ from
# real sources on this machine:
#   event/    events as hive writes them: `hive demo` (a failing then fixed
#             attempt) and a flow whose runner is SIGKILLed mid-attempt
#             (crash recovery, retry) plus an aborted flow, read back with
#             `hive events list --json`; the first two of each type;
#   verdict/  the result.json files the demo's agent wrote, and verdicts
#             as the docs show them;
#   spec/     the spec files of README.md, docs/ and `hive demo`, and the
#             same with the mistakes users make (cycle, unknown key, dup);
#   duration/ every duration written in README.md, docs/ and the specs;
#   excerpt/  output made here: the demo's failing check, gcc and make
#             errors, a failing cmocka test, a Python traceback, an ASan
#             report, valgrind's leak report, grep --color escapes, CRLF.
#
#   HIVE_BIN=$PWD/hive bash tests/fuzz/make_corpus.sh
#
# Needs gcc, make, python3, valgrind and libcmocka-dev.  Files are named by
# content kind, so a rerun replaces rather than piles up.
set -eu
: "${HIVE_BIN:?set HIVE_BIN to the hive binary}"
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$src/tests/fuzz/corpus
W=$(mktemp -d "${TMPDIR:-/tmp}/hive-corpus-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
export HIVE_DIR=$W/data HOME=$W/home
mkdir -p "$HOME" "$out"/{event,verdict,spec,duration,excerpt}
cd "$W"
hive() { "$HIVE_BIN" "$@"; }

# ---- events and verdicts -------------------------------------------------
hive demo >demo.out 2>&1
demo_root=$(hive events list --json --type project_created | python3 -c \
	'import json,sys; print(json.loads(sys.stdin.readline())["payload"]["repo"].rsplit("/",1)[0])')
cp "$demo_root/flow.json" "$out/spec/demo.json"
i=0
for f in "$HIVE_DIR"/attempts/*/result.json; do
	i=$((i + 1)); cp "$f" "$out/verdict/demo-$i.json"
done
for f in "$HIVE_DIR"/attempts/*/check-0-unit.log; do
	grep -q "FAIL" "$f" && cp "$f" "$out/excerpt/demo-check-failed.log"
done
rm -rf "$demo_root"

mkdir repo && git -C repo init -q
cat >repo/agent.sh <<'EOF'
#!/bin/sh
echo "attempt $HIVE_ATTEMPT_NUMBER" >>notes.txt
[ -f "$HOME/go" ] || sleep 30
printf '{"summary": "wrote notes", "retryable": true, "retry_after": "100ms"}' >"$HIVE_RESULT_FILE"
EOF
chmod +x repo/agent.sh
git -C repo add agent.sh && git -C repo -c user.name=t -c user.email=t@t commit -qm init
cat >spec.json <<'EOF'
{"name": "kill", "project": {"name": "p", "repo": "repo"},
 "defaults": {"runtime": {"command": ["./agent.sh"]}, "retry": {"max_attempts": 3}},
 "tasks": [{"key": "a", "title": "A", "checks": [{"name": "notes", "command": "test -s notes.txt"}]},
           {"key": "b", "title": "B", "depends_on": ["a"]}]}
EOF
cp spec.json "$out/spec/two-tasks.json"
hive flow create --file spec.json >/dev/null && hive flow start kill >/dev/null
"$HIVE_BIN" flow run kill >/dev/null 2>&1 & runner=$!
for _ in $(seq 100); do [ -n "$(hive events list --json --flow kill --type runtime_started)" ] && break; sleep 0.1; done
kill -9 $runner; wait $runner 2>/dev/null || true
touch "$HOME/go"
hive flow run kill >/dev/null 2>&1 || true
sed 's/"kill"/"gone"/' spec.json >gone.json
hive flow create --file gone.json >/dev/null && hive flow start gone >/dev/null && hive flow abort gone >/dev/null
hive events list --json | python3 -c '
import json, sys, collections
seen = collections.Counter()
for line in sys.stdin:
    t = json.loads(line)["type"]
    seen[t] += 1
    if seen[t] <= 2:
        open(sys.argv[1] + "/%s-%d.json" % (t, seen[t]), "w").write(line.rstrip("\n"))
' "$out/event"

# ---- specs, verdicts and durations from the docs ------------------------------
python3 - "$src" "$out" <<'EOF'
import json, re, sys, pathlib
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
docs = [src / "README.md"] + sorted((src / "docs").glob("*.md"))
n = 0
durations = set(["0", "2000000000h"])
for d in docs:
    text = d.read_text()
    durations.update(re.findall(r'"((?:[0-9]*\.?[0-9]+(?:ms|s|m|h))+)"', text))
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        try:
            v = json.loads(block)
        except ValueError:
            continue
        if isinstance(v, dict) and "tasks" in v:
            n += 1
            (out / "spec" / f"{d.stem}-{n}.json").write_text(block)
        elif isinstance(v, dict) and set(v) & {"summary", "retryable", "retry_after"}:
            n += 1
            (out / "verdict" / f"{d.stem}-{n}.json").write_text(block)
for i, s in enumerate(sorted(durations)):
    (out / "duration" / f"doc-{i}").write_text(s)
# The mistakes users make, on the README's spec.
base = json.loads((out / "spec" / "demo.json").read_text())
cyc = json.loads(json.dumps(base)); cyc["tasks"].append({"key": "b", "title": "B", "depends_on": ["b2"]})
cyc["tasks"].append({"key": "b2", "title": "B2", "depends_on": ["b"]})
(out / "spec" / "mistake-cycle.json").write_text(json.dumps(cyc, indent=2))
unk = json.loads(json.dumps(base)); unk["tasks"][0]["depends_on"] = ["fixx"]
(out / "spec" / "mistake-unknown-key.json").write_text(json.dumps(unk, indent=2))
(out / "spec" / "mistake-duplicate-key.json").write_text(
    '{"name": "x", "name": "y", "project": "p", "tasks": [{"key": "a", "title": "A"}]}')
(out / "spec" / "mistake-trailing-comma.json").write_text(
    '{"name": "x", "project": "p", "tasks": [{"key": "a", "title": "A",}]}')
EOF
for v in '{"summary": "tests pass", "retryable": false}' '{"retry_after": "2000000000h"}' \
	'{"summary": 3}' 'not json' '[]'; do
	i=$((i + 1)); printf '%s' "$v" >"$out/verdict/hand-$i.json"
done

# ---- check and runtime output made on this machine -----------------------------
cat >broken.c <<'EOF'
#include <stdio.h>
static int add(int a, int b) { return a - b }
int main(void) { int x = add(1, 2) printf("%d\n", x); return undefined_var; }
EOF
gcc -Wall -c broken.c >"$out/excerpt/gcc-errors.log" 2>&1 || true
printf 'all: broken.o\nbroken.o: broken.c\n\tgcc -Wall -c broken.c\n' >Makefile
make >"$out/excerpt/make-failed.log" 2>&1 || true
cat >t.c <<'EOF'
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
static void adds(void **s) { (void)s; assert_int_equal(1 + 2, 3); }
static void subtracts(void **s) { (void)s; assert_int_equal(3 - 1, 1); }
int main(void) { const struct CMUnitTest t[] = {cmocka_unit_test(adds), cmocka_unit_test(subtracts)};
	return cmocka_run_group_tests(t, NULL, NULL); }
EOF
gcc -o t t.c -lcmocka && { ./t >"$out/excerpt/cmocka-failed.log" 2>&1 || true; }
python3 -c '
def parse(s): return int(s)
def load(rows): return [parse(r) for r in rows]
load(["1", "2", "x3"])' >"$out/excerpt/python-traceback.log" 2>&1 || true
printf '#include <stdlib.h>\nint main(void){int *p=malloc(4*sizeof *p);p[4]=1;free(p);return 0;}\n' >asan.c
gcc -g -fsanitize=address -o asan asan.c && { ./asan >"$out/excerpt/asan-report.log" 2>&1 || true; }
printf '#include <stdlib.h>\nint main(void){return malloc(64)==0;}\n' >leak.c
gcc -g -o leak leak.c && valgrind --leak-check=full ./leak >"$out/excerpt/valgrind-leak.log" 2>&1 || true
grep --color=always -n 'return' broken.c >"$out/excerpt/grep-color.log" || true
sed 's/$/\r/' "$out/excerpt/gcc-errors.log" >"$out/excerpt/gcc-errors-crlf.log"
"$src/build/tests/test_policy" >"$out/excerpt/cmocka-passed.log" 2>&1 || true
echo "corpus: $(for d in "$out"/*/; do printf '%s=%s ' "$(basename "$d")" "$(ls "$d" | wc -l)"; done)"
