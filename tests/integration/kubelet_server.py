# SPDX-License-Identifier: Apache-2.0
"""A test kubelet: serves GET /pods from a JSON file on 127.0.0.1 and can be
switched into the faults a real kubelet shows.

Modes:
  ok         200 with the pods file's content (re-read at every request)
  down       the listening socket is closed: connection refused
  500        HTTP 500 with a short text body
  malformed  200 with a truncated PodList
  huge       200 with a 50 MB body, Content-Length set
  huge-stream  200 with a 50 MB body, no Content-Length (ends at close)
  hang       reads the request, then answers nothing until the mode changes or it stops

In-process use (the integration tests):
    srv = KubeletServer(pods_file); srv.start(); srv.url; srv.set_mode("500");
    srv.requests; srv.last_authorization; srv.stop()

As a program (the C unit test): kubelet_server.py --pods FILE [--port N]
prints "port N" and then reads commands on stdin, one per line, answering each
with one line:
    mode <mode>   -> "ok"
    pods <file>   -> "ok"
    stats         -> {"requests": n, "authorization": "..."}   (JSON)
    quit          -> exits
"""

import argparse
import http.server
import json
import socket
import sys
import threading

MODES = ("ok", "down", "500", "malformed", "huge", "huge-stream", "hang")
HUGE = 50 * 1000 * 1000


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.kubelet.lock:
            self.server.kubelet.conns.add(self.connection)

    def finish(self):
        with self.server.kubelet.lock:
            self.server.kubelet.conns.discard(self.connection)
        super().finish()

    def log_message(self, fmt, *args):  # quiet: tests print their own lines
        pass

    def _send(self, code, body, ctype="application/json", length=True):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        k = self.server.kubelet
        with k.lock:
            k.requests += 1
            k.last_authorization = self.headers.get("Authorization")
            mode = k.mode
            pods_file = k.pods_file
        try:
            if mode == "down":  # a kept-alive connection from before the outage
                self.close_connection = True
            elif self.path.split("?")[0] != "/pods":
                self._send(404, b"404 page not found\n", "text/plain")
            elif mode == "ok":
                with open(pods_file, "rb") as f:
                    self._send(200, f.read())
            elif mode == "500":
                self._send(500, b"Internal Server Error: test kubelet in mode 500\n",
                           "text/plain")
            elif mode == "malformed":
                self._send(200, b'{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{')
            elif mode in ("huge", "huge-stream"):
                self._huge(mode == "huge")
            elif mode == "hang":
                k.unhang.wait(600)
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _huge(self, with_length):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if with_length:
            self.send_header("Content-Length", str(HUGE))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        head = b'{"kind":"PodList","items":[],"padding":"'
        tail = b'"}'
        self.wfile.write(head)
        chunk = b"x" * (1 << 20)
        left = HUGE - len(head) - len(tail)
        while left > 0:
            n = min(left, len(chunk))
            self.wfile.write(chunk[:n])
            left -= n
        self.wfile.write(tail)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class KubeletServer:
    def __init__(self, pods_file, port=0, mode="ok"):
        self.pods_file = pods_file
        self.port = port
        self.mode = "ok"
        self.requests = 0
        self.last_authorization = None
        self.lock = threading.Lock()
        self.unhang = threading.Event()
        self.conns = set()
        self._httpd = None
        self._thread = None
        self._initial_mode = mode

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._listen()
        self.set_mode(self._initial_mode)
        return self

    def _listen(self):
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.kubelet = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _close(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        # Kept-alive connections go too, so a client really finds nobody listening.
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        with self.lock:
            old, self.mode = self.mode, mode
            if mode == "hang":
                self.unhang.clear()
            else:
                self.unhang.set()
        if mode == "down" and self._httpd:
            self._close()
        elif mode != "down" and not self._httpd:
            self._listen()
        return old

    def set_pods(self, pods_file):
        with self.lock:
            self.pods_file = pods_file

    def stop(self):
        self.unhang.set()
        self._close()


def main():
    ap = argparse.ArgumentParser(description="test kubelet serving /pods")
    ap.add_argument("--pods", required=True, help="PodList JSON file served at /pods")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok", choices=MODES)
    args = ap.parse_args()
    srv = KubeletServer(args.pods, args.port, args.mode).start()
    print(f"port {srv.port}", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        try:
            if cmd == "mode":
                srv.set_mode(arg)
                print("ok", flush=True)
            elif cmd == "pods":
                srv.set_pods(arg)
                print("ok", flush=True)
            elif cmd == "stats":
                with srv.lock:
                    out = {"requests": srv.requests, "authorization": srv.last_authorization}
                print(json.dumps(out), flush=True)
            elif cmd == "quit":
                break
            else:
                print(f"error unknown command {cmd!r}", flush=True)
        except Exception as e:  # noqa: BLE001 - report, keep serving
            print(f"error {e}", flush=True)
    srv.stop()


if __name__ == "__main__":
    main()
