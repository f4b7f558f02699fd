"""serve_lib.py - a real `hive serve` on 127.0.0.1 and the clients the
tests (tests/cli/test_serve.sh) and the benchmark (tests/bench/serve_bench.py)
drive it with: plain requests, SSE readers, a client that stops reading.

Only the standard library: http.client for requests and streams, raw
sockets for what http.client would not do (a foreign Host header, a client
that never reads).
"""
import atexit
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time


_started = []


@atexit.register
def _kill_leftovers():
    """A scenario that failed half-way leaves no server behind."""
    for p in _started:
        if p.poll() is None:
            p.kill()
            p.wait()


class Server:
    """`hive serve --listen 127.0.0.1:PORT` (PORT 0: a free one), started
    in the data dir $HIVE_DIR; the URL it prints gives port and token."""

    def __init__(self, port=0, extra=(), env=None):
        self.bin = os.environ["HIVE_BIN"]
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([self.bin, "serve", "--listen", "127.0.0.1:%d" % port] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        _started.append(self.proc)
        line = self.proc.stdout.readline().decode()
        url = self.proc.stdout.readline().decode().strip()
        if not url.startswith("open http://"):
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            raise RuntimeError("hive serve did not start: %r %r %s" % (line, url, err))
        url = url[len("open "):]
        hostport, self.token = url[len("http://"):].split("/?token=")
        self.host, port_s = hostport.rsplit(":", 1)
        self.port = int(port_s)
        self.url = url

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.stderr = self.proc.stderr.read().decode()
        if "Sanitizer" in self.stderr or "runtime error:" in self.stderr:
            raise RuntimeError("sanitizer report from hive serve:\n" + self.stderr[:3000])
        return rc

    def headers(self, token=True, extra=None):
        h = {}
        if token is True:
            h["Authorization"] = "Bearer " + self.token
        elif token:
            h["Authorization"] = "Bearer " + token
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, token=True, headers=None, timeout=30):
        """(status, headers dict lower-cased, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = self.headers(token, headers)
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hd = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hd, data

    def get_json(self, path, **kw):
        st, _, body = self.request("GET", path, **kw)
        return st, json.loads(body)

    def raw(self, data, timeout=10):
        """Send raw bytes, return everything the server answered."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            out += b
        s.close()
        return out


class Stream:
    """One SSE client: reads events (id, type, data) and comments."""

    def __init__(self, srv, query="", last_event_id=None, timeout=30):
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
        h = srv.headers()
        if last_event_id is not None:
            h["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/api/v1/events/stream" + query, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.comments = 0

    def next_event(self):
        """(seq, type, envelope dict) of the next event; None at the end."""
        ev = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if "data" in ev:
                    return int(ev["id"]), ev.get("event"), json.loads(ev["data"])
                ev = {}
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            ev[k] = ev[k] + "\n" + v if k == "data" and k in ev else v

    def read(self, n):
        out = []
        while len(out) < n:
            e = self.next_event()
            if e is None:
                break
            out.append(e)
        return out

    def close(self):
        self.resp.close()  # http.client hands the socket to a "Connection: close" response
        self.conn.close()


def stuck_client(srv, query=""):
    """A stream whose reader stops: a tiny receive buffer, the request
    sent, never read.  Returns the socket (keep it open)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(("GET /api/v1/events/stream%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (query, srv.port, srv.token)).encode())
    return s


def append(n, payload_bytes=0, batch=True, typ="serve_test_tick"):
    """Append n events to $HIVE_DIR with the append_events tool (a type
    this hive does not know: no correlation fields needed); returns the
    seqs it wrote."""
    args = [os.environ["APPEND"]]
    if batch:
        args.append("--batch")
    if payload_bytes:
        args += ["--payload", json.dumps({"pad": "x" * payload_bytes})]
    args += ["--print-seq", os.environ["HIVE_DIR"], typ, "-", "-", "-", str(n)]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout.decode().split()
    return [int(x) for x in out]


def last_seq():
    out = subprocess.run([os.environ["HIVE_BIN"], "events", "list", "--json", "--tail", "1"],
                         check=True, stdout=subprocess.PIPE).stdout.decode().strip()
    return json.loads(out)["seq"] if out else 0


def metric(srv, name):
    st, _, body = srv.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def read_all_in_threads(streams, upto, timeout):
    """Each stream reads until it saw seq `upto`; returns {index: [seqs]}.
    Threads, so one slow stream does not hold the others."""
    got = {i: [] for i in range(len(streams))}
    errors = []

    def run(i, st):
        try:
            while not got[i] or got[i][-1] < upto:
                e = st.next_event()
                if e is None:
                    break
                got[i].append(e[0])
        except Exception as ex:  # a timeout is reported as missing events
            errors.append("stream %d: %r" % (i, ex))

    th = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(streams)]
    for t in th:
        t.start()
    for t in th:
        t.join(timeout + 5)
    return got, errors


def wait_readable(sock, timeout):
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)


def now_ms():
    return time.monotonic() * 1000.0
