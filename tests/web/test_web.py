#!/usr/bin/env python3
"""test_web.py - make test-web: hive's web timeline in a real browser.

A real `hive serve` on 127.0.0.1 over a fresh data dir with a real flow
(four tasks, a -> {b, c} -> d; the first attempt of `fix` fails its check,
the retry succeeds; `release` waits on a gate file so the flow is still
running while the page watches), loaded in headless Chromium driven over
the DevTools protocol (tests/web/cdp.py, standard library only).  It
asserts, without ever reloading the page:
  - the DAG: one node per task, one edge per dependency, states that follow
    the run live over the SSE stream;
  - a server restart mid-run: the page reconnects and resumes after its last
    event id - no event missed, none seen twice;
  - a person's `task retry --note` (live: fix goes retry -> pending, ready), shown
    with attempt 2 next to the context that carries it;
  - attempt 2's retry context, diff and check output side by side;
  - log data stays text: a task titled with HTML creates no element;
  - no JavaScript error, console error or CSP violation, from the first
    load to the end; app.js has no innerHTML or other HTML-parsing sink;
  - web/app.js knows every event type of docs/events.md's catalog.
It saves a screenshot (build/web/timeline.png unless WEB_SCREENSHOT says).

Environment: HIVE_BIN (required), WEB_SCREENSHOT, WEB_KEEP=1 keeps the temp dir.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CdpError  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HIVE = os.environ.get("HIVE_BIN") or sys.exit("test_web.py: set HIVE_BIN to the hive binary")
NOTE = "Write <b>fixed</b> & nothing else"
HOSTILE = 'Fix add() <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

AGENT = r"""#!/bin/sh
# A scripted agent: the task's key is the first line of its description,
# which hive puts in the prompt.
prompt=$(cat)
case $prompt in
*"TASK fix"*)
	if printf '%s\n' "$prompt" | grep -q 'expected fixed'; then
		echo "agent: the check wants 'fixed'"; echo fixed > calc.txt
		printf '{"summary": "wrote fixed, as the check expects"}' > "$HIVE_RESULT_FILE"
	else
		echo "agent: first look"; echo reviewed > calc.txt
		printf '{"summary": "reviewed; nothing obvious"}' > "$HIVE_RESULT_FILE"
	fi ;;
*"TASK release"*)
	# hold the flow in `running` until the test opens the gate
	while [ ! -f "@GATE@" ]; do sleep 0.1; done
	echo "release notes" > RELEASE ;;
*) sleep 0.3; echo "agent: done" ;;
esac
"""

CHECK = r"""#!/bin/sh
v=$(cat calc.txt 2>/dev/null)
i=1; while [ $i -le 30 ]; do echo "ok $i - case $i"; i=$((i + 1)); done
[ "$v" = fixed ] || { echo "FAIL: calc.txt says '$v', expected fixed"; exit 1; }
echo "all passed"
"""


def log(msg):
    print("test-web: " + msg, flush=True)


def run(*args, check=True, env=None, cwd=None):
    p = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd)
    if check and p.returncode != 0:
        raise SystemExit(f"test-web: {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_flow(root, env, gate):
    repo = os.path.join(root, "repo")
    os.makedirs(repo)
    # hive passes the runtime a clean environment: the gate's path is written in
    for name, text in (("agent.sh", AGENT.replace("@GATE@", gate)), ("check.sh", CHECK)):
        with open(os.path.join(repo, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(repo, name), 0o755)
    with open(os.path.join(repo, "calc.txt"), "w") as f:
        f.write("broken\n")
    for cmd in (["init", "-q", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        run("git", "-C", repo, *cmd)

    def task(key, title, deps=(), checks=True):
        t = {"key": key, "title": title, "description": f"TASK {key}\n", "depends_on": list(deps)}
        if checks:
            t["checks"] = [{"name": "unit", "command": "./check.sh", "timeout": "30s"}]
        return t

    spec = {
        "name": "web-demo", "project": {"name": "webproj", "repo": "repo"},
        "defaults": {"runtime": {"adapter": "exec", "command": ["./agent.sh"], "timeout": "2m"},
                     "retry": {"max_attempts": 3, "backoff": {"initial": "100ms"}}},
        "tasks": [task("fix", HOSTILE), task("docs", "Document add()", ["fix"]),
                  task("lint", "Lint the calculator", ["fix"]),
                  task("release", "Cut the release", ["docs", "lint"])],
    }
    path = os.path.join(root, "spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    run(HIVE, "flow", "create", "--file", path, env=env)
    run(HIVE, "flow", "start", "web-demo", env=env)
    status = json.loads(run(HIVE, "flow", "status", "web-demo", "--json", env=env).stdout)
    return status["flow"]["id"]


class Server:
    """`hive serve` on a fixed port (the same one across a restart)."""

    def __init__(self, env, port, logdir):
        self.env, self.port, self.logdir, self.proc, self.n = env, port, logdir, None, 0

    def start(self):
        self.n += 1
        out = open(os.path.join(self.logdir, f"serve{self.n}.log"), "wb")
        self.proc = subprocess.Popen([HIVE, "serve", "--listen", f"127.0.0.1:{self.port}"], env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"test-web: hive serve exited {self.proc.returncode}: "
                                 + open(out.name, errors="replace").read()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("test-web: hive serve did not listen within 20 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def catalog_types():
    text = open(os.path.join(REPO, "docs", "events.md")).read()
    cat = text.split("## Catalog", 1)[1].split("\n## ", 1)[0]
    types = set()
    for line in cat.splitlines():
        if line.startswith("| `"):
            types.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return types


def check_no_markup_sinks():
    """Log data reaches the DOM as text only: app.js has no HTML-parsing sink."""
    js = open(os.path.join(REPO, "web", "app.js")).read()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", js, flags=re.S)  # the comments may name them
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "createContextualFragment", "DOMParser"):
        assert sink not in code, f"web/app.js uses {sink}: log data must reach the DOM as text"
    log("app.js has no HTML-parsing sink")


def check_catalog():
    js = open(os.path.join(REPO, "web", "app.js")).read()
    known = set(re.findall(r'"([a-z_]+)"', js.split("EVENT_TYPES = [", 1)[1].split("];", 1)[0]))
    missing = sorted(catalog_types() - known)
    if missing:
        raise SystemExit("test-web: web/app.js EVENT_TYPES lacks catalogued event types "
                         f"(the page would not refresh on them): {', '.join(missing)}")
    log(f"app.js knows all {len(catalog_types())} catalogued event types")


def check_embedded(base, token):
    """The binary serves web/'s files byte for byte (tests/tools/gen_web_files.sh)."""
    for name, path in (("index.html", "/"), ("app.js", "/app.js"), ("app.css", "/app.css"), ("favicon.svg", "/favicon.svg")):
        req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=10) as r:
            body, ctype = r.read(), r.headers.get("Content-Type", "")
        want = open(os.path.join(REPO, "web", name), "rb").read()
        assert body == want, f"GET {path}: {len(body)} bytes differ from web/{name} ({len(want)} bytes)"
        ext = name.rsplit(".", 1)[1]
        assert ctype.startswith({"html": "text/html", "js": "text/javascript", "css": "text/css",
                                 "svg": "image/svg+xml"}[ext]), f"GET {path}: Content-Type {ctype}"
    log("the binary serves web/ byte for byte")


def dag_states(page):
    return page.eval("Object.fromEntries([...document.querySelectorAll('#dag .node')]"
                     ".map(n => [n.dataset.key, n.dataset.state]))")


def main():
    check_catalog()
    check_no_markup_sinks()
    shot = os.environ.get("WEB_SCREENSHOT") or os.path.join(REPO, "build", "web", "timeline.png")
    root = tempfile.mkdtemp(prefix="hive-web-")
    env = dict(os.environ, HIVE_DIR=os.path.join(root, "data"))
    gate = os.path.join(root, "gate")
    env.pop("NO_COLOR", None)
    server = browser = runner = None
    ok = False
    try:
        make_flow(root, env, gate)
        server = Server(env, free_port(), root)
        server.start()
        token = open(os.path.join(env["HIVE_DIR"], "serve.token")).read().strip()
        base = f"http://127.0.0.1:{server.port}"

        check_embedded(base, token)
        browser = Browser.launch(root)
        page = browser.page()
        # the URL hive serve prints: sets the cookie, redirects to /
        page.navigate(f"{base}/?token={token}")
        page.wait("document.readyState === 'complete' && !!document.getElementById('main')", what="the page")
        page.wait("location.search === ''", what="the redirect that drops the token from the URL")
        page.wait("document.querySelectorAll('#flows .flow-row').length === 1", what="the flows list")
        page.eval("document.querySelector('#flows .flow-link').click()")
        page.wait("document.querySelectorAll('#dag .node').length === 4", what="the DAG's four nodes")
        edges = page.eval("document.querySelectorAll('#dag .edge').length")
        assert edges == 4, f"the DAG has {edges} edges, expected 4 (fix->docs, fix->lint, docs->release, lint->release)"
        cols = page.eval("Object.fromEntries([...document.querySelectorAll('#dag .node')].map(n =>"
                         " [n.dataset.key, n.transform.baseVal[0].matrix.e]))")
        assert cols["fix"] < cols["docs"] == cols["lint"] < cols["release"], f"columns by depth: {cols}"
        page.wait("document.body.dataset.live === '1'", what="the live stream")
        log(f"DAG of 4 tasks by depth {cols}; stream open")

        # Attempt 1 of fix fails its check (one tick); a person sends it back
        # with a note.  The page follows both with no reload.
        marker = page.eval("window.__sameDocument = 42")
        run(HIVE, "flow", "tick", "web-demo", env=env, check=False)
        page.wait("(n => n && n.dataset.state === 'retry')(document.querySelector('#dag .node[data-key=fix]'))",
                  what="fix in retry after its first attempt, live")
        run(HIVE, "task", "retry", "web-demo/fix", "--note", NOTE, "--actor", "ana", env=env)
        page.wait("(n => n && ['pending', 'ready'].includes(n.dataset.state))"
                  "(document.querySelector('#dag .node[data-key=fix]'))",
                  what="fix pending/ready again after task retry --note, live")

        # Run the flow; the page must follow it with no reload.
        runner = subprocess.Popen([HIVE, "flow", "run", "web-demo", "--max-parallel", "2"], env=env,
                                  stdout=open(os.path.join(root, "run.log"), "wb"), stderr=subprocess.STDOUT)
        page.wait("(s => s.fix === 'success' && s.release === 'running')(Object.fromEntries("
                  "[...document.querySelectorAll('#dag .node')].map(n => [n.dataset.key, n.dataset.state])))",
                  timeout=90, what="fix success and release running, live")
        log(f"live states: {dag_states(page)}; events seen {page.eval('document.body.dataset.events')}")

        # Restart the server mid-run: the page resumes after its last id.
        page.ignore_network_errors = True
        server.stop()
        page.wait("document.body.dataset.live === '0'", what="the page to notice the server went away")
        seq_before = int(page.eval("document.body.dataset.lastSeq"))
        open(gate, "w").close()  # release finishes while no server runs: events to catch up on
        runner.wait(90)
        assert runner.returncode == 0, f"flow run exited {runner.returncode}"
        server.start()
        page.wait("document.body.dataset.live === '1'", timeout=30, what="the page to reconnect")
        page.wait("document.querySelector('#flow-head .badge') && "
                  "document.querySelector('#flow-head .badge').textContent === 'completed'",
                  timeout=30, what="the flow completed, seen live after the reconnect")
        page.drain(0.5)
        page.ignore_network_errors = False
        head = json.loads(run(HIVE, "events", "list", "--tail", "1", "--json", env=env).stdout)["seq"]
        got = page.eval("({last: +document.body.dataset.lastSeq, dup: +document.body.dataset.dup,"
                        " gap: +document.body.dataset.gap, events: +document.body.dataset.events})")
        assert page.eval("window.__sameDocument") == marker, "the page reloaded"
        assert got["last"] == head, f"the page saw up to seq {got['last']}, the log ends at {head}"
        assert got["dup"] == 0 and got["gap"] == 0, f"across the restart: {got}"
        assert seq_before < head, "no event happened while the server was down"
        assert set(dag_states(page).values()) == {"success"}, dag_states(page)
        log(f"server restart: resumed after seq {seq_before}, caught up to {head}: {got}")

        # Attempt 2 of fix: click its bar on the time axis.
        bars = page.eval("[...document.querySelectorAll('#timeline .bar')].map(b => b.dataset.outcome)")
        assert sorted(bars) == ["check_failed"] + ["success"] * 4, f"attempts on the time axis: {bars}"
        page.eval("(() => { const f = document.querySelector('#dag .node[data-key=fix]').dataset.task;"
                  " const rows = [...document.querySelectorAll('#timeline .bar')];"
                  " const b = rows.find(b => b.dataset.number === '2');"
                  " b.dispatchEvent(new MouseEvent('click', {bubbles: true})); return f; })()")
        page.wait("(document.getElementById('context') || {}).textContent?.includes('expected fixed')",
                  what="attempt 2's retry context showing attempt 1's failure")
        page.wait("(document.getElementById('diff') || {}).textContent?.includes('+fixed')",
                  what="attempt 2's diff")
        page.wait("(document.getElementById('output') || {}).textContent?.includes('all passed')",
                  what="attempt 2's check output")
        ctx = page.eval("document.getElementById('context').textContent")
        assert "Retry context" in ctx or "attempt 2" in ctx.lower(), ctx[:400]
        assert page.eval("document.querySelector('#context .ln.heading') !== null"), "context headings"
        assert page.eval("document.querySelector('#diff .ln.add') !== null"), "diff additions"
        log("attempt 2: retry context, diff and check output side by side")

        # The other output: attempt 1's failing check, through the select.
        page.eval("document.querySelector('#timeline .bar[data-outcome=check_failed]')"
                  ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        page.wait("(document.getElementById('output') || {}).textContent?.includes(\"FAIL: calc.txt says 'reviewed'\")",
                  what="attempt 1's failing check output")
        page.eval("(s => { s.value = ''; s.dispatchEvent(new Event('change')); })(document.getElementById('output-select'))")
        page.wait("(document.getElementById('output') || {}).textContent?.includes('first look')",
                  what="attempt 1's runtime output")
        page.eval("document.querySelector('#timeline .bar[data-number=\"2\"][data-outcome=success]')"
                  ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        page.wait("(document.getElementById('diff') || {}).textContent?.includes('+fixed')", what="back to attempt 2")

        # The person's note, beside the context that carries it.
        guidance = page.eval("(document.querySelector('#attempt .people .guidance') || {}).textContent")
        assert guidance and "ana" in guidance and NOTE in guidance, f"the note shown: {guidance!r}"
        assert "Guidance from a person" in page.eval("document.getElementById('context').textContent")

        # Log data stays text.
        title = page.eval("document.querySelector('#attempt .title').textContent")
        assert title == HOSTILE, f"title shown as {title!r}"
        assert page.eval("document.querySelectorAll('img, main script, #attempt script').length") == 0, \
            "a task title became markup"
        assert page.eval("window.__pwned === undefined"), "a task title ran script"

        page.drain(0.3)
        os.makedirs(os.path.dirname(shot), exist_ok=True)
        page.screenshot(shot)
        log(f"screenshot: {shot}")
        page.drain(0.2)
        if page.errors:
            raise SystemExit("test-web: JavaScript errors:\n  " + "\n  ".join(page.errors))
        log("no JavaScript error, console error or CSP violation")
        ok = True
    except (CdpError, AssertionError) as e:
        raise SystemExit(f"test-web: FAIL: {e}")
    finally:
        if runner and runner.poll() is None:
            runner.kill()
            runner.wait()
        if browser:
            browser.close()
        if server:
            server.stop()
        if os.environ.get("WEB_KEEP") or not ok:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    log("ok")


if __name__ == "__main__":
    main()
