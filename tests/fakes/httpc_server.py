#!/usr/bin/python3
"""A loopback HTTP server for tests/unit/test_httpc.c, standard library only.

Usage: httpc_server.py PORT

  /flaky/NAME       the first request 503 with Retry-After: 1, the next ones 200 "ok"
  /status/CODE/NAME always CODE, body "status CODE"
  /big/N            200 with N bytes and a Content-Length
  /stream/N         200 with N bytes and no Content-Length (the end is the close)
  /echo             200: the request's headers, a blank line, its body; X-Reply: echoed
  /count/PATH       how many requests PATH got so far (a decimal number)
Every answer closes the connection (HTTP/1.0).
"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, headers=(), length=True):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        path = self.path
        parts = path.strip("/").split("/")
        if parts[0] == "count":
            with lock:
                n = counts.get("/" + "/".join(parts[1:]), 0)
            return self.answer(200, str(n).encode())
        with lock:
            counts[path] = counts.get(path, 0) + 1
            n = counts[path]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts[0] == "flaky":
            if n == 1:
                return self.answer(503, b"busy", [("Retry-After", "1")])
            return self.answer(200, b"ok")
        if parts[0] == "status":
            code = int(parts[1])
            return self.answer(code, ("status %d" % code).encode())
        if parts[0] == "big":
            return self.answer(200, b"x" * int(parts[1]))
        if parts[0] == "stream":
            return self.answer(200, b"y" * int(parts[1]), length=False)
        if parts[0] == "echo":
            text = "%s %s\n%s\n" % (self.command, path, str(self.headers))
            return self.answer(200, text.encode() + body, [("X-Reply", "echoed")])
        return self.answer(404, b"no such route")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
