"""A backend with faults to order, for the mesh behaviour tests (runs under /usr/bin/python3).

On APP_PORT (9080) every GET is counted per path, then answered:
- FAIL_STATUS (default 503) for the first FAIL_FIRST requests of each path (default 0), or for
  every request when FAIL_ALWAYS=1;
- after a delay of `?delay=SECONDS` (or DELAY_SECONDS) seconds;
- else 200 with {"app": APP_NAME, "path": ..., "seen": n}.
On COUNTS_PORT (9081, not an AppPort, so the host reaches it without the task's Envoy):
GET /counts → {"app": APP_NAME, "total": n, "paths": {path: n}}.
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME = os.environ.get("APP_NAME", "faulty")
FAIL_FIRST = int(os.environ.get("FAIL_FIRST", "0"))
FAIL_ALWAYS = os.environ.get("FAIL_ALWAYS") == "1"
FAIL_STATUS = int(os.environ.get("FAIL_STATUS", "503"))
DELAY = float(os.environ.get("DELAY_SECONDS", "0"))

lock = threading.Lock()
counts = {}


def answer(handler, status, document):
    body = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urlsplit(self.path)
        with lock:
            seen = counts[url.path] = counts.get(url.path, 0) + 1
        delay = float(parse_qs(url.query).get("delay", [DELAY])[0])
        if delay:
            time.sleep(delay)
        failing = FAIL_ALWAYS or seen <= FAIL_FIRST
        status = FAIL_STATUS if failing else 200
        answer(self, status, {"app": NAME, "path": url.path, "seen": seen, "status": status})

    def log_message(self, *args):
        pass


class Counts(BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            paths = dict(counts)
        answer(self, 200, {"app": NAME, "total": sum(paths.values()), "paths": paths})

    def log_message(self, *args):
        pass


def serve(port, handler):
    server = ThreadingHTTPServer(("0.0.0.0", port), handler)
    server.daemon_threads = True
    return server


counter = serve(int(os.environ.get("COUNTS_PORT", "9081")), Counts)
threading.Thread(target=counter.serve_forever, daemon=True).start()
print(f"faulty backend {NAME} on 9080 (fail first {FAIL_FIRST}, always {FAIL_ALWAYS})", flush=True)
serve(int(os.environ.get("APP_PORT", "9080")), App).serve_forever()
