#!/usr/bin/env python3
"""A local stand-in for Yahoo's chart API that prices every symbol, for the API fuzz run and
the benchmarks.

Usage: fake-upstream.py PORT [DELAY_MS]

Answers /v8/finance/chart/{code} with a documented-shape body (price 123.45 unless set).
Control endpoints, for the benchmarks:
  /__mode?state=ok|fail|hang&delay_ms=N&price=P   how the next answers behave
      (fail: HTTP 503; hang: no answer for 60 s)
  /__count   chart requests received since the last reset, as JSON {"total": N, "paths": {...}}
  /__reset   forget the counts
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

MODE = {"state": "ok", "delay_ms": int(sys.argv[2]) if len(sys.argv) > 2 else 0, "price": 123.45}
COUNTS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, data, content_type="application/json"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        path = url.path
        if path == "/__mode":
            with LOCK:
                for key, values in parse_qs(url.query).items():
                    MODE[key] = values[-1] if key == "state" else float(values[-1])
                data = json.dumps(MODE).encode()
            return self.reply(200, data)
        if path == "/__count":
            with LOCK:
                data = json.dumps({"total": sum(COUNTS.values()), "paths": COUNTS}).encode()
            return self.reply(200, data)
        if path == "/__reset":
            with LOCK:
                COUNTS.clear()
            return self.reply(200, b"{}")
        if not path.startswith("/v8/finance/chart/"):
            return self.reply(404, b"Not Found", "text/plain")
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            state, delay, price = MODE["state"], float(MODE["delay_ms"]) / 1000, float(MODE["price"])
        if state == "hang":
            time.sleep(60)
            return
        time.sleep(delay)
        if state == "fail":
            return self.reply(503, b"Service Unavailable", "text/plain")
        code = unquote(path.rsplit("/", 1)[-1])
        now = int(time.time())
        body = {"chart": {"result": [{
            "meta": {"currency": "USD", "symbol": code, "regularMarketPrice": price,
                     "previousClose": 120.0, "regularMarketTime": now, "longName": code + " Inc"},
            "timestamp": [now - 172800, now - 86400],
            "indicators": {"quote": [{"close": [118.0, 120.0]}]}}], "error": None}}
        self.reply(200, json.dumps(body).encode())

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 512
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
