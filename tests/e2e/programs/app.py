"""The seed's `application_image`: an HTTP app on 9080 that says who it is."""

import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class App(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(
            {
                "app": os.environ.get("APP_NAME", "app"),
                "uid": os.getuid(),
                "hostname": socket.gethostname(),
                "peer": self.client_address[0],
                "region": os.environ.get("AWS_REGION"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print("app listening on 9080", flush=True)
ThreadingHTTPServer(("0.0.0.0", 9080), App).serve_forever()
