"""The daemon's TCP side: an HTTP proxy on the TCP address (2000) to the X-Ray API.

SDKs with centralized sampling send unsigned `POST /GetSamplingRules` and `POST /SamplingTargets`
to 127.0.0.1:2000 (reference/xray.md §1.4, the Python SDK's `sampling/connector.py`); the AWS
daemon's `httputil.ReverseProxy` forwards any path, drops `Connection` and signs each request
for service `xray` (`pkg/proxy/server.go`). This does the same, one thread per connection.
Standard-library only.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Callable

try:
    from meshway.xray import uplink
except ImportError:  # the installed copy: the modules sit side by side
    import uplink  # type: ignore[import-not-found,no-redef]

MAX_BODY = 1024 * 1024
# Response headers that belong to the hop, not to the answer.
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    make_uplink: Callable[[], uplink.Uplink]
    log: Callable[[str], None]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' botocore clients expect
    server: _Server
    _uplink: uplink.Uplink | None = None

    def do_POST(self) -> None:
        self._forward()

    def do_GET(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = _content_length(self.headers.get("Content-Length"))
        if length is None:  # not a count: raising here dropped the connection with a traceback
            self._reply(400, [], b'{"message":"bad Content-Length"}')
            self.close_connection = True
            return
        if length > MAX_BODY:
            self._reply(413, [], b'{"message":"request body too large"}')
            return
        body = self.rfile.read(length) if length else b""
        if self._uplink is None:
            self._uplink = self.server.make_uplink()
        try:
            answer = self._uplink.post(self.path, body, dict(self.headers.items()))
        except (OSError, http.client.HTTPException) as error:
            self.server.log(f"proxy: {self.path}: {error}")
            self._reply(502, [], b'{"message":"the X-Ray endpoint is unreachable"}')
            return
        kept = [(k, v) for k, v in answer.headers if k.lower() not in HOP_HEADERS]
        self._reply(answer.status, kept, answer.body)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(k.lower() == "content-type" for k, _ in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per sampling poll would drown the daemon's log

    def finish(self) -> None:
        super().finish()
        if self._uplink is not None:
            self._uplink.close()


def _content_length(value: str | None) -> int | None:
    """The body's length, 0 when absent, None when it is not a non-negative integer (a
    negative one made `rfile.read` wait for the end of the stream)."""
    text = (value or "0").strip()
    return int(text) if text.isascii() and text.isdigit() else None


class SamplingProxy:
    def __init__(
        self,
        address: tuple[str, int],
        make_uplink: Callable[[], uplink.Uplink],
        log: Callable[[str], None],
    ) -> None:
        self.server = _Server(address, _Handler)
        self.server.make_uplink = make_uplink
        self.server.log = log
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="xray-proxy", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
