"""A stand-in for the Envoy sidecar until the real one lands: admin on 127.0.0.1:9901 answering
/server_info with LIVE, and TCP listeners on 15000 (ingress) and 15001 (egress) that answer each
connection with the listener's name and the connection's original destination (SO_ORIGINAL_DST),
so tests can see where iptables sent it. Runs under /usr/bin/python3 as uid 1337."""

import json
import os
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SO_ORIGINAL_DST = 80


class Admin(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"state": "LIVE", "uid": os.getuid()}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def original_destination(conn):
    raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return f"{socket.inet_ntoa(packed)}:{port}"


def serve(name, port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(64)
    while True:
        conn, peer = listener.accept()
        with conn:
            try:
                line = f"{name} {original_destination(conn)} from {peer[0]}\n"
            except OSError as error:
                line = f"{name} no-original-destination {error}\n"
            conn.sendall(line.encode())


for name, port in (("ingress", 15000), ("egress", 15001)):
    threading.Thread(target=serve, args=(name, port), daemon=True).start()
print("stand-in up as uid", os.getuid(), flush=True)
sys.stdout.flush()
ThreadingHTTPServer(("127.0.0.1", 9901), Admin).serve_forever()
