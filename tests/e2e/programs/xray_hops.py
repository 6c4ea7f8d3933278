"""One hop of a traced call chain, for the X-Ray tests (runs under /usr/bin/python3).

On APP_PORT (9080) every GET is answered:
- when UPSTREAM is set (e.g. http://backend.mesh.local:9080): by calling UPSTREAM + the path and
  answering with its status and body. The call carries the request's X-Amzn-Trace-Id on, as an
  app in an X-Ray-traced mesh must for its Envoy's egress segment to join the trace;
- else by path: /fault → 500, /error → 404, /throttle → 429, anything else → 200.
"""

import json
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("APP_NAME", "hop")
UPSTREAM = os.environ.get("UPSTREAM", "")
BY_PATH = {"/fault": 500, "/error": 404, "/throttle": 429}
TRACE_HEADER = "X-Amzn-Trace-Id"


def call_upstream(path, trace_header):
    headers = {TRACE_HEADER: trace_header} if trace_header else {}
    request = urllib.request.Request(UPSTREAM + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Hop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if UPSTREAM:
            status, body = call_upstream(self.path, self.headers.get(TRACE_HEADER))
        else:
            status = BY_PATH.get(self.path.split("?", 1)[0], 200)
            body = json.dumps({"app": NAME, "path": self.path, "status": status}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("APP_PORT", "9080"))), Hop)
server.daemon_threads = True
print(f"hop {NAME} on 9080, upstream {UPSTREAM or 'none'}", flush=True)
server.serve_forever()
