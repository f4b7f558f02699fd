"""cdp.py - drive headless Chromium over the DevTools protocol with the
Python standard library only (a minimal RFC 6455 websocket client): no pip,
no selenium, nothing downloaded.

    b = Browser.launch(tmpdir)          # chromium --headless --remote-debugging-port=0
    page = b.page()                     # the first tab, with Runtime/Log/Page enabled
    page.navigate(url)
    page.eval("document.title")
    page.errors                         # JavaScript exceptions, console errors, CSP violations
    b.close()
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request


class CdpError(Exception):
    pass


class WebSocket:
    """A websocket client for one ws:// URL: text frames, masked as a client must."""

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://"), url
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CdpError("websocket handshake: connection closed")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise CdpError("websocket handshake refused: " + head.decode(errors="replace"))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise CdpError("websocket closed by the browser")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text):
        payload = text.encode()
        n = len(payload)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def recv(self):
        """The next text message (fragments joined; pings answered)."""
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x8:
                raise CdpError("websocket closed by the browser")
            if opcode == 0x9:  # ping: answer with the same payload
                self.sock.sendall(bytes([0x8A, 0x80 | len(data)]) + b"\0\0\0\0" + data)
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += data
                if b0 & 0x80:
                    return message.decode()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Page:
    """One tab: commands and the events it reports (errors kept in .errors)."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.errors = []
        self.console = []
        self.ignore_network_errors = False
        for domain in ("Runtime", "Log", "Page"):
            self.call(domain + ".enable")

    def _event(self, msg):
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            exc = d.get("exception", {})
            self.errors.append("uncaught: " + (exc.get("description") or d.get("text", "")))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.console.append(f"{p.get('type')}: {text}")
            if p.get("type") in ("error", "assert"):
                self.errors.append("console." + p["type"] + ": " + text)
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") == "error":
                # While the test restarts the server on purpose, the stream's
                # failed reconnects are expected network errors.
                if e.get("source") == "network" and self.ignore_network_errors:
                    return
                self.errors.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}")

    def _pump(self, want_id=None, deadline=None):
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.ws.settimeout(left)
            try:
                msg = json.loads(self.ws.recv())
            except socket.timeout:
                return None
            if "id" in msg and msg["id"] == want_id:
                return msg
            if "method" in msg:
                self._event(msg)

    def call(self, method, timeout=30, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        msg = self._pump(self.next_id, time.monotonic() + timeout)
        if msg is None:
            raise CdpError(f"{method}: no answer in {timeout}s")
        if "error" in msg:
            raise CdpError(f"{method}: {msg['error']}")
        return msg.get("result", {})

    def eval(self, expr, timeout=30):
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise CdpError(f"evaluate {expr!r}: {r['exceptionDetails'].get('text')} "
                           f"{r['exceptionDetails'].get('exception', {}).get('description', '')}")
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=60, what=None):
        """Poll EXPR in the page until it is truthy; its value, or CdpError."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.eval(expr)
            if last:
                return last
            self._pump(None, time.monotonic() + 0.1)  # collect events meanwhile
        raise CdpError(f"timed out after {timeout}s waiting for {what or expr} (last value {last!r})")

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def drain(self, seconds=0.3):
        self._pump(None, time.monotonic() + seconds)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Browser:
    def __init__(self, proc, port, profile):
        self.proc, self.port, self.profile = proc, port, profile

    @classmethod
    def launch(cls, workdir, width=1400, height=1000):
        exe = find_chromium()
        if not exe:
            raise CdpError("no chromium: apt-get install -y chromium")
        profile = os.path.join(workdir, "chromium-profile")
        os.makedirs(profile, exist_ok=True)
        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-mock-keychain", "--password-store=basic", "--hide-scrollbars",
                f"--window-size={width},{height}", f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"]
        log = open(os.path.join(workdir, "chromium.log"), "wb")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        portfile = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CdpError(f"chromium exited {proc.returncode}; see {log.name}")
            try:
                with open(portfile) as f:
                    port = int(f.readline())
                return cls(proc, port, profile)
            except (OSError, ValueError):
                time.sleep(0.1)
        proc.kill()
        raise CdpError("chromium did not open its DevTools port in 30 s")

    def page(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5) as r:
                targets = [t for t in json.load(r) if t.get("type") == "page"]
            if targets:
                return Page(targets[0]["webSocketDebuggerUrl"])
            time.sleep(0.1)
        raise CdpError("chromium has no page target")

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
