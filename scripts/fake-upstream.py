#!/usr/bin/env python3
"""A local stand-in for Yahoo's chart API for the API fuzz run: it prices most symbols, and fails
(HTTP 500) for about one in five, chosen by the symbol so a symbol always gets the same answer.

Usage: fake-upstream.py PORT   (answers /v8/finance/chart/{code} with a documented-shape body)
"""
import json
import zlib
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        code = unquote(path.rsplit("/", 1)[-1])
        if path.startswith("/v8/finance/chart/") and zlib.crc32(code.upper().encode()) % 5 == 0:
            data = b'{"chart":{"result":null,"error":{"code":"Internal","description":"try later"}}}'
            self.send_response(500)
            self.send_header("content-type", "application/json")
        elif path.startswith("/v8/finance/chart/"):
            now = int(time.time())
            body = {"chart": {"result": [{
                "meta": {"currency": "USD", "symbol": code, "regularMarketPrice": 123.45,
                         "previousClose": 120.0, "regularMarketTime": now, "longName": code + " Inc"},
                "timestamp": [now - 172800, now - 86400],
                "indicators": {"quote": [{"close": [118.0, 120.0]}]}}], "error": None}}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
        else:
            data = b"Not Found"
            self.send_response(404)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
