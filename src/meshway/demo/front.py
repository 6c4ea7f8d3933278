"""The demo's front app: calls BACKEND (a virtual service, through its Envoy) RATE times a second
and counts the colors it gets; on 9080, `GET /` makes one call and answers it, `GET /stats` the
counts: {"total", "failures", "colors": {color: n}, "recent": {color: n} of the last WINDOW}.
"""

import json
import os
import threading
import time
import urllib.request
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BACKEND = os.environ.get("BACKEND", "http://colorteller.demo.local:9080/")
RATE = float(os.environ.get("RATE", "20"))
WINDOW = int(os.environ.get("WINDOW", "200"))

lock = threading.Lock()
colors: Counter[str] = Counter()
recent: deque[str] = deque(maxlen=WINDOW)
failures = [0]


def ask() -> str:
    with urllib.request.urlopen(BACKEND, timeout=5) as response:  # noqa: S310 (http by design)
        return str(json.loads(response.read())["color"])


def traffic() -> None:
    while True:
        started = time.monotonic()
        try:
            color = ask()
        except (OSError, ValueError, KeyError):
            with lock:
                failures[0] += 1
        else:
            with lock:
                colors[color] += 1
                recent.append(color)
        time.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))


def stats() -> dict[str, Any]:
    with lock:
        return {
            "total": sum(colors.values()),
            "failures": failures[0],
            "colors": dict(colors),
            "recent": dict(Counter(recent)),
        }


class Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status, document = 200, stats()
        if self.path != "/stats":
            try:
                document = {"color": ask()}
            except (OSError, ValueError, KeyError) as error:
                status, document = 502, {"error": repr(error)}
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


if __name__ == "__main__":
    os.write(1, f"front calling {BACKEND} {RATE:g} times a second\n".encode())
    threading.Thread(target=traffic, daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "9080"))), Front)
    server.daemon_threads = True
    server.serve_forever()
