"""lib.py - the python side of tests/cli/lib.sh (json_py, events_py, pa, pv).

    python3 lib.py json   EXPR FILE               EXPR over the JSON document in FILE, bound to d
    python3 lib.py events CODE NDJSON             CODE over the events, bound to E (last line: expression)
    python3 lib.py assert EXPR NDJSON S D O       exit 0 when EXPR holds (helpers below bound)
    python3 lib.py value  EXPR NDJSON S D O       print EXPR

Printed values are str() of the result, JSON for dicts and lists.
"""
import hashlib
import json
import os
import sys


def _load_events(p):
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def _show(r):
    print(json.dumps(r) if isinstance(r, (dict, list)) else r)


def _helpers(ndjson):
    """The names pa and pv expressions may use."""
    EV = _load_events(ndjson)

    def of(t, a=None):
        """Events of type t (and of attempts whose id starts with a)."""
        return [e for e in EV if e["type"] == t and (a is None or e.get("attempt_id", "").startswith(a))]

    def one(t, a=None):
        """The first such event, or a stand-in with seq -1."""
        r = of(t, a)
        return r[0] if r else {"seq": -1, "payload": {}}

    def P(e):
        return e.get("payload") or {}

    def J(p):
        with open(p) as f:
            return json.load(f)

    def T(p):
        with open(p, encoding="utf-8", errors="replace") as f:
            return f.read()

    def sha(p):
        with open(p, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def states():
        return [(P(e)["from"], P(e)["to"]) for e in of("task_state_changed")]

    return {"EV": EV, "of": of, "one": one, "P": P, "J": J, "T": T, "sha": sha, "states": states,
            "hashlib": hashlib, "json": json, "os": os, "sys": sys}


def main(argv):
    mode, code = argv[1], argv[2]
    if mode == "json":
        with open(argv[3]) as f:
            d = json.load(f)
        _show(eval(code, {"json": json}, {"d": d}))
        return 0
    if mode == "events":
        env = {"E": _load_events(argv[3]), "json": json}
        lines = code.strip().split("\n")
        exec("\n".join(lines[:-1]), env)
        _show(eval(lines[-1], env))
        return 0
    env = _helpers(argv[3])
    env.update({"S": argv[4], "D": argv[5], "O": argv[6]})
    code = "(" + code.strip() + ")"  # an expression may span lines
    if mode == "value":
        print(eval(code, env))
        return 0
    try:
        ok = bool(eval(code, env))
    except Exception as ex:  # the assertion's own failure is the message
        print("%s: %s" % (type(ex).__name__, ex))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
