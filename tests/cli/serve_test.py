"""serve_test.py SCENARIO - the end-to-end scenarios of tests/cli/test_serve.sh
against a real `hive serve` on 127.0.0.1 (serve_lib.py).  Each scenario
asserts; a failed one prints what it expected and exits 1.  Environment:
HIVE_BIN, HIVE_DIR (a store with events), APPEND (tests/cli/append_events).
Waits are hang guards (generous timeouts), never timing assertions.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import (Server, Stream, append, last_seq, metric, read_all_in_threads,  # noqa: E402
                       stuck_client)


def check(cond, what):
    if not cond:
        print("FAIL: " + what)
        sys.exit(1)


def error_of(body):
    d = json.loads(body)
    check(d.get("schema") == 2 and set(d.get("error", {})) == {"code", "message"},
          "error body is not {schema:2,error:{code,message}}: %r" % body)
    return d["error"]


def with_server(fn):
    srv = Server()
    try:
        fn(srv)
    finally:
        rc = srv.stop()
        check(rc == 0, "hive serve exited %s on SIGTERM: %s" % (rc, srv.stderr))


# ---- the token and the Host header ------------------------------------------------------

def auth(srv):
    tok = os.path.join(os.environ["HIVE_DIR"], "serve.token")
    check(oct(os.stat(tok).st_mode & 0o777) == "0o600", "serve.token is not 0600")
    check(open(tok).read().strip() == srv.token, "the printed URL does not carry serve.token's token")
    st, _, body = srv.request("GET", "/api/v1/projects", token=False)
    check(st == 401, "no token: %d, expected 401" % st)
    check(error_of(body)["code"] == "unauthorized", "no token: %r" % body)
    st, _, _ = srv.request("GET", "/api/v1/projects", token="0" * 64)
    check(st == 401, "wrong token: %d" % st)
    for path in ("/", "/metrics", "/api/v1/events/stream", "/nope"):
        st, _, _ = srv.request("GET", path, token=False)
        check(st == 401, "%s without a token: %d" % (path, st))
    st, _, _ = srv.request("GET", "/api/v1/projects")
    check(st == 200, "bearer token: %d" % st)
    # the printed URL sets the cookie and sends the browser to /
    st, h, _ = srv.request("GET", "/?token=" + srv.token, token=False)
    check(st == 303 and h.get("location") == "/", "/?token=: %d %r" % (st, h))
    cookie = h.get("set-cookie", "")
    check(cookie.startswith("hive_token=" + srv.token) and "HttpOnly" in cookie and "SameSite=Strict" in cookie,
          "cookie: %r" % cookie)
    st, _, _ = srv.request("GET", "/?token=" + "1" * 64, token=False)
    check(st == 401, "/?token=WRONG: %d" % st)
    st, h, body = srv.request("GET", "/", token=False, headers={"Cookie": "hive_token=" + srv.token})
    check(st == 200 and h["content-type"].startswith("text/html"), "cookie login: %d %r" % (st, h))
    check("default-src 'self'" in h.get("content-security-policy", ""), "page without CSP: %r" % h)
    # a foreign Host (DNS rebinding) is refused even with the token
    for host in ("evil.example:%d" % srv.port, "127.0.0.1:1", "localhost.evil:%d" % srv.port):
        st, _, body = srv.request("GET", "/api/v1/projects", headers={"Host": host})
        check(st == 421, "Host %s: %d" % (host, st))
        check(error_of(body)["code"] == "misdirected", "Host %s: %r" % (host, body))
    for host in ("localhost:%d" % srv.port, "127.0.0.1:%d" % srv.port):
        st, _, _ = srv.request("GET", "/api/v1/projects", headers={"Host": host})
        check(st == 200, "Host %s: %d" % (host, st))
    raw = srv.raw(b"GET /api/v1/projects HTTP/1.0\r\nAuthorization: Bearer " + srv.token.encode() + b"\r\n\r\n")
    check(raw.startswith(b"HTTP/1.0 421") or raw.startswith(b"HTTP/1.1 421") or b" 400 " in raw.split(b"\r\n")[0],
          "no Host header: %r" % raw[:80])


# ---- bad input --------------------------------------------------------------------------

def bad_input(srv):
    cases = [
        ("GET", "/api/v1/nope", 404), ("GET", "/etc/passwd", 404), ("GET", "/api/v1/flows/nope", 404),
        ("GET", "/api/v1/../../etc/passwd", 400), ("GET", "/api/v1/%2e%2e/x", 400),
        ("GET", "/api/v1/flows/%zz", 400), ("GET", "/api/v1/flows/a%00b", 400),
        ("GET", "/api/v1/flows?bogus=1", 400), ("GET", "/api/v1/events?after=abc", 400),
        ("GET", "/api/v1/events?limit=-1", 400), ("GET", "/api/v1/events?type=no_such_type", 400),
        ("GET", "/api/v1/events/stream?after=1x", 400), ("GET", "/api/v1/events/stream?flow=nope", 404),
        ("GET", "/api/v1/attempts/nope", 404), ("GET", "/api/v1/tasks/nope", 404),
        ("POST", "/api/v1/flows", 405), ("DELETE", "/api/v1/projects", 405),
        ("GET", "/api/v1/tasks/x/retry", 405), ("POST", "/api/v1/tasks/nope/retry", 404),
        ("GET", "/static/../../../etc/passwd", 400), ("GET", "/app.js/x", 404),
    ]
    for m, path, want in cases:
        st, h, body = srv.request(m, path, headers={"Content-Type": "application/json"} if m == "POST" else None)
        check(st == want, "%s %s: %d, expected %d (%r)" % (m, path, st, want, body[:200]))
        check(h.get("content-type") == "application/json", "%s %s: not JSON: %r" % (m, path, h))
        error_of(body)
    st, _, body = srv.request("GET", "/api/v1/events/stream", headers={"Last-Event-ID": "999999"})
    check(st == 400 and "after this log's last event" in error_of(body)["message"],
          "a resume point past the log: %d %r" % (st, body))
    st, _, body = srv.request("GET", "/api/v1/events/stream", headers={"Last-Event-ID": "nope"})
    check(st == 400 and "Last-Event-ID" in error_of(body)["message"], "Last-Event-ID nope: %d" % st)
    for body in (b"{not json", b"[1]", b'{"mode": 3}', b'{"bogus": "x"}'):
        st, _, resp = srv.request("POST", "/api/v1/tasks/any/retry", body=body,
                                  headers={"Content-Type": "application/json"})
        check(st == 400, "retry body %r: %d %r" % (body, st, resp))
    st, _, _ = srv.request("POST", "/api/v1/tasks/any/abort", body=b'{"reason":"x"}',
                           headers={"Content-Type": "text/plain"})
    check(st == 415, "a POST that is not JSON: %d" % st)
    st, _, _ = srv.request("POST", "/api/v1/tasks/any/abort", body=b"x" * (70 * 1024),
                           headers={"Content-Type": "application/json"})
    check(st == 413, "a 70 KiB body: %d" % st)
    raw = srv.raw(b"GARBAGE\r\n\r\n")
    check(raw == b"" or b" 400 " in raw.split(b"\r\n")[0], "a garbage request line: %r" % raw[:80])
    st, _, _ = srv.request("GET", "/api/v1/projects")
    check(st == 200, "the server still answers after bad input: %d" % st)


# ---- the documents are the CLI's --json ----------------------------------------------------

def cli_json(*args):
    out = subprocess.run([os.environ["HIVE_BIN"]] + list(args) + ["--json"], check=True,
                         stdout=subprocess.PIPE).stdout
    return out


def same_doc(http_body, cli_out, what):
    """The HTTP document is the CLI's, plus "schema": 2 where the CLI has none yet."""
    h, c = json.loads(http_body), json.loads(cli_out)
    if isinstance(h, dict) and isinstance(c, dict) and "schema" not in c:
        check(h.get("schema") == 2, "%s: no schema 2" % what)
        h = {k: v for k, v in h.items() if k != "schema"}
    check(h == c, "%s differs from the CLI's --json:\nHTTP %s\nCLI  %s" % (what, http_body[:300], cli_out[:300]))
    if "schema" in c or not isinstance(c, dict):
        check(http_body == cli_out, "%s: not byte for byte the CLI's --json" % what)


def documents(srv):
    flow, task = os.environ["FLOW"], os.environ["TASK"]
    task_enc = task.replace("/", "%2F")
    pairs = [
        ("/api/v1/projects", ["project", "list"]),
        ("/api/v1/flows", ["flow", "list"]),
        ("/api/v1/flows/" + flow + "/status", ["flow", "status", flow]),
        ("/api/v1/tasks?flow=" + flow, ["task", "list", "--flow", flow]),
        ("/api/v1/tasks/" + task_enc, ["task", "show", task]),
        ("/api/v1/attempts?flow=" + flow, ["attempt", "list", "--flow", flow]),
    ]
    for path, args in pairs:
        st, h, body = srv.request("GET", path)
        check(st == 200 and h["content-type"] == "application/json", "%s: %d %r" % (path, st, body[:200]))
        same_doc(body, cli_json(*args), path)
    # no `flow show` command: the flow's whole document holds its summary of flow list
    st, _, body = srv.request("GET", "/api/v1/flows/" + flow)
    listed = [f for f in json.loads(cli_json("flow", "list"))["flows"] if f["name"] == flow]
    check(st == 200 and len(listed) == 1, "flows/%s: %d" % (flow, st))
    whole = json.loads(body)
    check(whole.get("schema") == 2 and all(whole.get(k) == v for k, v in listed[0].items()),
          "flows/%s is not the flow of flow list: %r" % (flow, body[:300]))
    attempts = json.loads(cli_json("attempt", "list", "--flow", flow))["attempts"]
    check(len(attempts) >= 2, "the fixture flow has %d attempts, expected 2" % len(attempts))
    a1, a2 = attempts[0]["id"], attempts[1]["id"]
    st, _, body = srv.request("GET", "/api/v1/attempts/" + a2)
    same_doc(body, cli_json("attempt", "inspect", a2), "attempt inspect")
    st, h, body = srv.request("GET", "/api/v1/attempts/" + a2 + "/context")
    ctx = json.loads(cli_json("attempt", "inspect", a2, "--context"))["context"]
    check(st == 200 and h["content-type"].startswith("text/markdown") and body.decode() == ctx,
          "context: %d %r" % (st, body[:200]))
    # FLOW/KEY#N names the attempt too ("/" as %2F, "#" as %23)
    st, _, by_ref = srv.request("GET", "/api/v1/attempts/" + task_enc + "%232/context")
    check(st == 200 and by_ref.decode() == ctx, "context by %s#2: %d %r" % (task, st, by_ref[:200]))
    st, _, body = srv.request("GET", "/api/v1/attempts/" + a1 + "/context")
    check(st == 404 and "first attempt" in error_of(body)["message"], "first attempt's context: %d" % st)
    st, _, body = srv.request("GET", "/api/v1/attempts/" + a2 + "/diff")
    diff = json.loads(cli_json("attempt", "inspect", a2, "--diff"))["diff"]
    check(st == 200 and body.decode() == diff, "diff: %d %r" % (st, body[:200]))
    out = json.loads(cli_json("attempt", "inspect", a1, "--output"))["output"]
    st, _, body = srv.request("GET", "/api/v1/attempts/" + a1 + "/output?check=unit")
    check(st == 200 and body.decode() == out["checks"][0]["output"], "check output: %d %r" % (st, body[:200]))
    st, _, body = srv.request("GET", "/api/v1/attempts/" + a1 + "/output")
    check(st == 200 and out["runtime_stdout"] in body.decode() and body.startswith(b"--- runtime stdout"),
          "runtime output: %d %r" % (st, body[:200]))
    st, _, body = srv.request("GET", "/api/v1/attempts/" + a1 + "/output?check=nope")
    check(st == 404, "an unknown check: %d" % st)
    # the log as NDJSON: the same lines as events list --json
    for q, args in (("", []), ("?after=3&limit=4", ["--after", "3", "--limit", "4"]),
                    ("?flow=" + flow + "&type=attempt_started", ["--flow", flow, "--type", "attempt_started"])):
        st, h, body = srv.request("GET", "/api/v1/events" + q)
        want = subprocess.run([os.environ["HIVE_BIN"], "events", "list", "--json"] + args, check=True,
                              stdout=subprocess.PIPE).stdout
        check(st == 200 and h["content-type"] == "application/x-ndjson" and body == want,
              "/api/v1/events%s differs from events list --json %s" % (q, " ".join(args)))
    st, _, body = srv.request("GET", "/metrics")
    text = body.decode()
    for series in ('hive_attempts{outcome="success"} 1', 'hive_attempts{outcome="check_failed"} 1',
                   'hive_tasks{state="success"} 1', "hive_retries_scheduled_total 1",
                   'hive_circuits{state="open"} 0', "hive_serve_sse_clients 0", "hive_serve_follow_lag_events 0"):
        check(series + "\n" in text, "/metrics lacks %r:\n%s" % (series, text))


# ---- steering ------------------------------------------------------------------------------

def steer(srv):
    task = os.environ["TASK"].replace("/", "%2F")
    st, _, body = srv.request("POST", "/api/v1/tasks/" + task + "/retry", body={"actor": "ana"})
    check(st == 409, "retry of a task that is not failed: %d %r" % (st, body))
    st, _, body = srv.request("POST", "/api/v1/tasks/" + task + "/abort", body={"actor": "ana", "reason": "enough"})
    check(st == 200, "abort: %d %r" % (st, body))
    d = json.loads(body)
    check(d == {"schema": 2, "task": os.environ["TASK"], "state": "aborted"}, "abort answer: %r" % d)
    shown = json.loads(cli_json("task", "show", os.environ["TASK"]))
    check(shown["state"] == "aborted", "the task is %s after the abort" % shown["state"])
    ev = subprocess.run([os.environ["HIVE_BIN"], "events", "list", "--json", "--type", "task_aborted"],
                        check=True, stdout=subprocess.PIPE).stdout.decode().splitlines()
    check(len(ev) == 1 and json.loads(ev[0])["payload"].get("reason") == "enough"
          and json.loads(ev[0])["payload"].get("actor") == "ana", "task_aborted: %r" % ev)
    st, _, body = srv.request("POST", "/api/v1/tasks/" + task + "/retry", body={"actor": "ana", "reset_count": True})
    check(st == 409, "retry of an aborted task: %d %r" % (st, body))
    st, _, body = srv.request("POST", "/api/v1/tasks/" + task + "/abort", body={})
    check(st == 409, "a second abort: %d %r" % (st, body))


def events_of(typ):
    out = subprocess.run([os.environ["HIVE_BIN"], "events", "list", "--json", "--type", typ], check=True,
                         stdout=subprocess.PIPE).stdout.decode().splitlines()
    return [json.loads(x) for x in out]


def retry_post(srv):
    task = os.environ["TASK"]
    for bad in ({"actor": "ana", "reset_count": "yes"}, {"actor": 7}, {"note": ["x"]}):
        st, _, body = srv.request("POST", "/api/v1/tasks/" + task.replace("/", "%2F") + "/retry", body=bad)
        check(st == 400, "retry body %r: %d %r" % (bad, st, body))
    st, _, body = srv.request("POST", "/api/v1/tasks/" + task.replace("/", "%2F") + "/retry",
                              body={"actor": "ana", "reset_count": True, "note": "try the other file"})
    check(st == 200, "retry of a failed task: %d %r" % (st, body))
    d = json.loads(body)
    check(d["schema"] == 2 and d["state"] in ("pending", "ready"), "retry answer: state %r" % d["state"])
    same_doc(body, cli_json("task", "show", task), "retry answer")
    req = events_of("task_retry_requested")
    check(len(req) == 1 and req[0]["payload"].get("actor") == "ana"
          and req[0]["payload"].get("note") == "try the other file", "task_retry_requested: %r" % req)


def accept_post(srv):
    """A failed task whose only attempt made a checkpoint commit."""
    task = os.environ["TASK"].replace("/", "%2F")
    for bad, want in (({"actor": "dave", "reason": "ok", "attempt": 0}, 400), ({"actor": "dave"}, 400),
                      ({"actor": "dave", "reason": "ok", "attempt": 9}, 404)):
        st, _, body = srv.request("POST", "/api/v1/tasks/" + task + "/accept", body=bad)
        check(st == want, "accept %r: %d (expected %d) %r" % (bad, st, want, body))
    st, _, _ = srv.request("GET", "/api/v1/tasks/" + task + "/accept")
    check(st == 405, "GET accept: %d" % st)
    st, _, body = srv.request("POST", "/api/v1/tasks/" + task + "/accept",
                              body={"actor": "dave", "reason": "good enough", "attempt": 1})
    check(st == 200, "accept: %d %r" % (st, body))
    d = json.loads(body)
    check(d["schema"] == 2 and d["state"] == "success", "accept answer: state %r" % d.get("state"))
    same_doc(body, cli_json("task", "show", os.environ["TASK"]), "accept answer")
    acc = events_of("task_accepted")
    check(len(acc) == 1 and acc[0]["payload"].get("actor") == "dave"
          and acc[0]["payload"].get("reason") == "good enough", "task_accepted: %r" % acc)


# ---- the event stream -----------------------------------------------------------------------

def sse_resume(srv):
    append(30)
    total = last_seq()
    s = Stream(srv)
    check(s.status == 200 and s.resp.getheader("Content-Type").startswith("text/event-stream"),
          "stream: %d" % s.status)
    first = s.read(10)
    s.close()
    ids = [e[0] for e in first]
    check(ids == list(range(1, 11)), "first 10 ids: %r" % ids)
    check(all(e[2]["seq"] == e[0] and e[1] == e[2]["type"] for e in first), "id/event do not match the data")
    # reconnect with Last-Event-ID, as EventSource does: no gap, no duplicate
    s = Stream(srv, last_event_id=ids[-1])
    rest = [e[0] for e in s.read(total - 10)]
    s.close()
    check(ids + rest == list(range(1, total + 1)), "across the reconnect: %r" % (ids + rest))
    # ?after= does the same, and filters apply
    s = Stream(srv, query="?after=%d" % (total - 3))
    check([e[0] for e in s.read(3)] == [total - 2, total - 1, total], "?after=")
    s.close()
    # ?after=now: only what is committed from now on
    s = Stream(srv, query="?after=now")
    seq = append(1, batch=False)[0]
    got = [e[0] for e in s.read(1)]
    s.close()
    check(got == [seq] and seq == total + 1, "?after=now: %r (new event %d)" % (got, seq))
    total += 1
    s = Stream(srv, query="?type=serve_test_tick&after=0")
    got = s.read(5)
    s.close()
    check(all(e[1] == "serve_test_tick" for e in got) and len(got) == 5, "?type=: %r" % [e[1] for e in got])
    # the stored bytes, exactly
    raw = subprocess.run([os.environ["HIVE_BIN"], "events", "list", "--json", "--after", "4", "--limit", "1"],
                         check=True, stdout=subprocess.PIPE).stdout.decode().strip()
    s = Stream(srv, query="?after=4")
    s.resp.readline()
    buf = b""
    while b"\ndata: " not in buf:
        buf += s.resp.readline()
    line = buf.split(b"\ndata: ")[1].split(b"\n")[0].decode()
    s.close()
    check(line == raw, "data is not the stored envelope:\n%s\n%s" % (line, raw))


def sse_live(srv):
    before = last_seq()
    s = Stream(srv, query="?after=%d" % before)
    for i in range(3):
        seq = append(1, batch=False)[0]
        e = s.next_event()
        check(e is not None and e[0] == seq, "a new event %d did not reach the connected client: %r" % (seq, e))
    # idle: heartbeats (HIVE_SERVE_HEARTBEAT_MS=200 in this test)
    c0 = s.comments
    time.sleep(0.7)
    seq = append(1, batch=False)[0]
    e = s.next_event()
    check(e[0] == seq and s.comments > c0, "no heartbeat while idle (%d comments)" % (s.comments - c0))
    s.close()


def many_clients(srv):
    """100 streams and one that stopped reading; a flow runs meanwhile."""
    base = last_seq()
    stuck = stuck_client(srv, "?after=%d" % base)
    streams = [Stream(srv, query="?after=%d" % base) for _ in range(100)]
    check(all(s.status == 200 for s in streams), "not every stream was accepted")
    runner = subprocess.Popen([os.environ["HIVE_BIN"], "flow", "run", os.environ["FLOW"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seqs = append(1500, payload_bytes=1500)  # ~2.5 MB: more than the stuck socket's buffers
    rc = runner.wait(120)
    check(rc == 0, "flow run with a stuck client: exit %d %s" % (rc, runner.stderr.read().decode()))
    upto = last_seq()
    check(upto >= seqs[-1], "last seq")
    got, errors = read_all_in_threads(streams, upto, 60)
    want = list(range(base + 1, upto + 1))
    bad = [i for i in got if got[i] != want]
    check(not bad and not errors, "%d of 100 streams did not get every event exactly once: %s %s" % (
        len(bad), errors[:3], [(len(got[i]), got[i][:3]) for i in bad[:3]]))
    # the stuck client really is behind, and the server still answers
    check(metric(srv, "hive_serve_follow_lag_events") > 0, "the stuck client is not behind: is it stuck?")
    check(metric(srv, "hive_serve_sse_clients") >= 101, "fewer than 101 streams open")
    st, _, _ = srv.request("GET", "/api/v1/projects")
    check(st == 200, "a request with a stuck client open: %d" % st)
    s = Stream(srv, query="?after=%d" % (upto - 1))
    check(s.next_event()[0] == upto, "a new stream with a stuck client open")
    s.close()
    for s in streams:
        s.close()
    stuck.close()


def restart_resume(srv):
    append(20)
    s = Stream(srv)
    first = [e[0] for e in s.read(12)]
    s.close()
    port, token = srv.port, srv.token
    check(srv.stop() == 0, "SIGTERM: exit status")
    append(5)
    total = last_seq()
    srv2 = Server(port=port)
    try:
        check(srv2.token == token, "the token changed across a restart")
        s = Stream(srv2, last_event_id=first[-1])
        rest = [e[0] for e in s.read(total - 12)]
        s.close()
        check(first + rest == list(range(1, total + 1)), "resume after a restart: %r" % (first + rest))
    finally:
        check(srv2.stop() == 0, "second server exit status")


def stop_with_open_streams(srv):
    append(3000, payload_bytes=1500)  # ~4.5 MB: more than a stuck socket holds
    stuck = stuck_client(srv)
    time.sleep(0.5)
    check(metric(srv, "hive_serve_follow_lag_events") > 0, "the stuck client is not behind")
    streams = [Stream(srv) for _ in range(5)]
    t0 = time.monotonic()
    rc = srv.stop(timeout=20)
    check(rc == 0, "SIGTERM with open streams: %d" % rc)
    check(time.monotonic() - t0 < 10, "stopping took %.1f s" % (time.monotonic() - t0))
    for s in streams:
        while s.next_event() is not None:
            pass
        s.close()
    stuck.close()


def metrics(srv):
    """A flow whose only attempt failed and opened its circuit (one tick)."""
    st, h, body = srv.request("GET", "/metrics")
    check(st == 200 and h["content-type"].startswith("text/plain; version=0.0.4"), "/metrics: %d %r" % (st, h))
    text = body.decode()
    for series in ('hive_attempts{outcome="runtime_failed"} 1', 'hive_attempts{outcome="success"} 0',
                   'hive_tasks{state="retry"} 1', "hive_retries_scheduled_total 1",
                   'hive_circuits{state="open"} 1', 'hive_circuits{state="closed"} 0',
                   "hive_serve_sse_clients 0"):
        check(series + "\n" in text, "/metrics lacks %r:\n%s" % (series, text))
    check("# TYPE hive_tasks gauge\n" in text and "# TYPE hive_retries_scheduled_total counter\n" in text,
          "/metrics without TYPE lines")
    s = Stream(srv, query="?after=%d" % last_seq())
    check(metric(srv, "hive_serve_sse_clients") == 1, "an open stream is not counted")
    s.close()


# ---- regressions of the review (servefix) -----------------------------------------------

def csrf(srv):
    """Every POST must be JSON (an empty body too), and a browser's Origin /
    Sec-Fetch-Site must name this server: a form post from another site
    with the cookie is refused before anything is resolved."""
    path = "/api/v1/tasks/nope/abort"
    st, _, body = srv.request("POST", path)  # bodyless, no Content-Type: what a form can send
    check(st == 415 and "application/json" in error_of(body)["message"], "bodyless POST without JSON: %d %r" % (st, body))
    st, _, _ = srv.request("POST", path, body=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 415, "form-encoded empty POST: %d" % st)
    js = {"Content-Type": "application/json"}
    own = "http://127.0.0.1:%d" % srv.port
    for extra, what in (({"Origin": "http://evil.example"}, "foreign Origin"),
                        ({"Origin": "null"}, "Origin null"),
                        ({"Origin": own, "Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site cross-site"),
                        ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site same-site")):
        st, h, body = srv.request("POST", path, headers=dict(js, **extra))
        check(st == 403 and h.get("content-type") == "application/json" and error_of(body)["code"] == "forbidden",
              "%s: %d %r" % (what, st, body))
    # our own page (and curl): admitted, so the unknown task is a 404; an empty body means {}
    for extra in ({}, {"Origin": own, "Sec-Fetch-Site": "same-origin"}, {"Content-Type": "application/json; charset=utf-8"}):
        st, _, body = srv.request("POST", path, headers=dict(js, **extra))
        check(st == 404, "same-origin JSON POST %r: %d %r" % (extra, st, body))


def event_types(srv):
    """/api/v1/events takes repeated type= and comma lists, like the stream."""
    a = append(2, typ="serve_test_a")
    b = append(1, typ="serve_test_b")
    append(1, typ="serve_test_c")
    want = sorted(a + b)
    for q in ("type=serve_test_a&type=serve_test_b", "type=serve_test_a,serve_test_b",
              "type=serve_test_b&type=serve_test_a,"):
        st, _, body = srv.request("GET", "/api/v1/events?" + q)
        check(st == 200, "events?%s: %d %r" % (q, st, body[:200]))
        seqs = [json.loads(line)["seq"] for line in body.decode().splitlines()]
        check(seqs == want, "events?%s: seqs %r, expected %r" % (q, seqs, want))
        s = Stream(srv, "?after=%d&%s" % (min(want) - 1, q))
        got = [e[0] for e in s.read(len(want))]
        s.close()
        check(got == want, "stream ?%s: seqs %r, expected %r" % (q, got, want))


def sse_ref_reused(srv):
    """A stream's ?task= is resolved once: a second task with the same key
    made later neither switches the stream nor floods it with error events
    (it used to send `event: error` in a busy loop, megabytes a second)."""
    import socket
    s = Stream(srv, "?task=fix-add&after=now")
    check(s.status == 200, "stream ?task=fix-add: %d" % s.status)
    st, _, _ = srv.request("GET", "/api/v1/events?task=fix-add")
    check(st == 200, "events ?task=fix-add before the reuse: %d" % st)
    project = json.loads(cli_json("project", "list"))
    project = (project["projects"] if isinstance(project, dict) else project)[0]["name"]
    subprocess.run([os.environ["HIVE_BIN"], "task", "create", project, "dup", "--key", "fix-add",
                    "--runtime-command", "true"], check=True, stdout=subprocess.DEVNULL)
    s.resp.fp.raw._sock.settimeout(1.5)  # several heartbeats (HIVE_SERVE_HEARTBEAT_MS=200)
    data = b""
    deadline = time.time() + 1.5
    try:
        while len(data) < 1 << 20 and time.time() < deadline:
            chunk = s.resp.read1(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, TimeoutError):
        pass
    s.close()
    check(b"event: error" not in data and len(data) < 4096,
          "the stream after a key reuse: %d bytes, starting %r" % (len(data), data[:300]))
    check(data.count(b": hb") >= 2, "the stream stopped its heartbeats after a key reuse: %r" % data[:300])
    # the key is ambiguous now: a new request says so (a 4xx, not a stream)
    st, _, body = srv.request("GET", "/api/v1/events/stream?task=fix-add")
    check(st == 409 or (400 <= st < 500 and "ambiguous" in error_of(body)["message"]),
          "a new stream on the ambiguous key: %d %r" % (st, body))


SCENARIOS = {
    "auth": auth, "bad_input": bad_input, "documents": documents, "steer": steer, "retry_post": retry_post, "accept_post": accept_post,
    "metrics": metrics, "sse_resume": sse_resume, "sse_live": sse_live, "many_clients": many_clients,
    "csrf": csrf, "event_types": event_types, "sse_ref_reused": sse_ref_reused,
}


def main():
    name = sys.argv[1]
    if name == "restart_resume":
        restart_resume(Server())
    elif name == "stop_with_open_streams":
        stop_with_open_streams(Server())
    else:
        with_server(SCENARIOS[name])
    print("ok " + name)


if __name__ == "__main__":
    main()
