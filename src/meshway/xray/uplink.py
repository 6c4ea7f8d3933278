"""The daemon's HTTP client for the X-Ray API: signed POSTs on a kept-alive connection.

One `Uplink` per thread (http.client connections are not thread-safe). A request that fails on
the connection is retried once on a fresh one, as the AWS daemon's SDK client retries once
(`RetryMaxAttempts=2`; reference/xray.md §1.4); a PutTraceSegments answered 5xx or 429 is
retried twice more after a short pause, as the SDK retries throttles and server errors. The
timeout is longer than the AWS daemon's 2 s (cfg.go RequestTimeout): the endpoint is this host,
which under load can pause for longer than a round trip to AWS, and a batch given up is lost.
Standard-library only.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

try:
    from meshway.xray import signing
except ImportError:  # the installed copy: the modules sit side by side
    import signing  # type: ignore[import-not-found,no-redef]

TIMEOUT = 5.0  # seconds; see the module docstring
RETRYABLE = frozenset({429, 500, 502, 503, 504})
RETRY_PAUSES = (0.2, 1.0)  # seconds before the second and third PutTraceSegments
# Hop-by-hop and signing headers a forwarded request must not carry over (proxy/server.go
# drops Connection; the rest are re-made when the request is signed again).
NOT_FORWARDED = frozenset(
    {"connection", "keep-alive", "host", "authorization", "x-amz-date",
     "x-amz-security-token", "content-length", "transfer-encoding", "proxy-connection"}
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Unprocessed:
    id: str
    error_code: str
    message: str


class Uplink:
    def __init__(self, endpoint: str, region: str, credentials: signing.Credentials | None) -> None:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if not parts.hostname:
            raise ValueError(f"endpoint {endpoint!r} has no host")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.base = parts.path.rstrip("/")
        self.region = region
        self.credentials = credentials
        self._connection: http.client.HTTPConnection | None = None

    @property
    def authority(self) -> str:
        default = 443 if self.https else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
        """Signed when credentials are known; the AWS proxy forwards unsigned otherwise."""
        kept = {k: v for k, v in (headers or {}).items() if k.lower() not in NOT_FORWARDED}
        kept.setdefault("Content-Type", "application/json")
        full = self.base + path
        if self.credentials is not None:
            out = signing.sign(
                method="POST", host=self.authority, path=full, headers=kept, body=body,
                credentials=self.credentials, region=self.region, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        else:
            out = {"Host": self.authority, **kept}
        try:
            return self._send(full, body, out)
        except (OSError, http.client.HTTPException):
            self.close()  # a kept-alive connection the server closed: once more, afresh
            return self._send(full, body, out)

    def put_trace_segments(self, documents: list[str]) -> list[Unprocessed]:
        """PutTraceSegments; raises OSError (or HTTPException) when the call fails as a whole."""
        body = json.dumps({"TraceSegmentDocuments": documents}).encode()
        response = self.post("/TraceSegments", body)
        for pause in RETRY_PAUSES:
            if response.status not in RETRYABLE:
                break
            time.sleep(pause)
            response = self.post("/TraceSegments", body)
        if response.status != 200:
            raise OSError(f"PutTraceSegments: HTTP {response.status}: {response.body[:300]!r}")
        found = json.loads(response.body or b"{}").get("UnprocessedTraceSegments") or []
        return [
            Unprocessed(
                id=str(u.get("Id", "")),
                error_code=str(u.get("ErrorCode", "")),
                message=str(u.get("Message", "")),
            )
            for u in found
        ]

    def _send(self, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        connection = self._connection or self._connect()
        connection.request("POST", path, body=body, headers=dict(headers))
        reply = connection.getresponse()
        data = reply.read()
        if reply.will_close:
            self.close()
        return Response(status=reply.status, headers=reply.getheaders(), body=data)

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self._connection = kind(self.host, self.port, timeout=TIMEOUT)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
