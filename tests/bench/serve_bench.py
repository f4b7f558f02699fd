"""serve_bench.py - `hive serve` under load (make bench; docs/benchmarks.md).

    HIVE_BIN=./hive APPEND=build/tests/append_events python3 tests/bench/serve_bench.py
        [--clients 100] [--events 200] [--gap-ms 20] [--held 500]

1. Latency: CLIENTS event streams stay connected while EVENTS events are
   committed one per transaction, GAP_MS apart (the append_events tool, a
   separate process, as a runner would be).  For every event and every
   stream: the time it arrived minus the event's "time" (stamped just
   before its transaction commits, so the figure includes the commit,
   fsync and all).  Prints p50, p99 and max over all deliveries.
2. Clients held: HELD streams open at once; one more event committed;
   how many of them got it, and how long the last one took.
Figures only: it never fails on a number (it fails when a stream misses
an event or the server does not start).
"""
import argparse
import datetime
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from serve_lib import Server  # noqa: E402


class RawStream:
    """An SSE client on a non-blocking socket: decodes the chunked body
    and collects (seq, event time, arrival time)."""

    def __init__(self, srv, after):
        self.sock = socket.create_connection(("127.0.0.1", srv.port))
        self.sock.sendall(("GET /api/v1/events/stream?after=%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           "Authorization: Bearer %s\r\n\r\n" % (after, srv.port, srv.token)).encode())
        self.sock.setblocking(False)
        self.raw = b""
        self.headers_done = False
        self.body = b""
        self.got = []

    def feed(self, now):
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        if not data:
            raise RuntimeError("a stream ended")
        self.raw += data
        if not self.headers_done:
            i = self.raw.find(b"\r\n\r\n")
            if i < 0:
                return
            self.headers_done, self.raw = True, self.raw[i + 4:]
        while True:  # chunked: "SIZE\r\nDATA\r\n"
            i = self.raw.find(b"\r\n")
            if i < 0:
                break
            size = int(self.raw[:i], 16)
            if len(self.raw) < i + 2 + size + 2:
                break
            self.body += self.raw[i + 2:i + 2 + size]
            self.raw = self.raw[i + 2 + size + 2:]
        while b"\n\n" in self.body:
            block, self.body = self.body.split(b"\n\n", 1)
            for line in block.split(b"\n"):
                if line.startswith(b"data: "):
                    ev = json.loads(line[6:])
                    self.got.append((ev["seq"], ev["time"], now))


def epoch(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def pump(streams, until, timeout):
    sel = selectors.DefaultSelector()
    for s in streams:
        sel.register(s.sock, selectors.EVENT_READ, s)
    end = time.monotonic() + timeout
    while not until() and time.monotonic() < end:
        for key, _ in sel.select(0.05):
            key.data.feed(time.time())
    sel.close()


def append(n, gap_ms):
    subprocess.run([os.environ["APPEND"], "--delay-ms", str(gap_ms), os.environ["HIVE_DIR"], "bench_tick",
                    "-", "-", "-", str(n)], check=True)


def last_seq():
    out = subprocess.run([os.environ["HIVE_BIN"], "events", "list", "--json", "--tail", "1"], check=True,
                         stdout=subprocess.PIPE).stdout.strip()
    return json.loads(out)["seq"] if out else 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100.0))]


def latency(srv, clients, events, gap_ms):
    base = last_seq()
    streams = [RawStream(srv, base) for _ in range(clients)]
    pump(streams, lambda: all(s.headers_done for s in streams), 30)
    writer = subprocess.Popen([os.environ["APPEND"], "--delay-ms", str(gap_ms), os.environ["HIVE_DIR"],
                               "bench_tick", "-", "-", "-", str(events)])
    pump(streams, lambda: all(len(s.got) >= events for s in streams), 60 + events * gap_ms / 1000.0)
    writer.wait()
    lat = [(now - epoch(t)) * 1000.0 for s in streams for (_, t, now) in s.got]
    missing = sum(events - len(s.got) for s in streams)
    for s in streams:
        s.sock.close()
    if missing:
        sys.exit("serve bench: %d deliveries missing" % missing)
    print("serve: %d streams, %d events %d ms apart: commit->delivery p50 %.2f ms, p99 %.2f ms, max %.2f ms "
          "(%d deliveries)" % (clients, events, gap_ms, pct(lat, 50), pct(lat, 99), max(lat), len(lat)))


def held(srv, n):
    base = last_seq()
    streams = []
    t0 = time.monotonic()
    for _ in range(n):
        streams.append(RawStream(srv, base))
    pump(streams, lambda: all(s.headers_done for s in streams), 60)
    opened = sum(s.headers_done for s in streams)
    connect_s = time.monotonic() - t0
    append(1, 0)
    t1 = time.time()
    pump(streams, lambda: all(s.got for s in streams), 30)
    got = [s for s in streams if s.got]
    last = max(s.got[0][2] for s in got) - t1 if got else float("nan")
    for s in streams:
        s.sock.close()
    print("serve: %d streams held (%d open after %.1f s); one new event reached %d of them, the last %.1f ms "
          "after its commit" % (n, opened, connect_s, len(got), last * 1000.0))
    if len(got) != n:
        sys.exit("serve bench: only %d of %d held streams got the event" % (len(got), n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--gap-ms", type=int, default=20)
    ap.add_argument("--held", type=int, default=500)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hive-serve-bench-") as d:
        os.environ["HIVE_DIR"] = os.path.join(d, "data")
        append(1, 0)  # a store
        srv = Server()
        try:
            latency(srv, a.clients, a.events, a.gap_ms)
            held(srv, a.held)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
