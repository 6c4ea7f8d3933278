"""The demo's colorteller (the seed's backend): every GET answers its COLOR as JSON on 9080."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COLOR = os.environ.get("COLOR", "black")


class Teller(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"color": COLOR, "node": os.environ.get("APP_NAME", "")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


if __name__ == "__main__":
    os.write(1, f"colorteller {COLOR} listening on 9080\n".encode())
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "9080"))), Teller)
    server.daemon_threads = True
    server.serve_forever()
