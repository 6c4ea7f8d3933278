"""The one HTTP endpoint: every AWS service Meshway speaks, `/health`, and (later) the console.

AWS requests are recognised by protocol: `X-Amz-Target` selects a json-1.1 service, a URI under a
rest-json service's prefix selects that service. Everything else goes to the Starlette app (health,
console). Service calls run inline on the event loop, one at a time: each is a store transaction of
about a millisecond, so writes never interleave within this process, and handing them to a worker
thread cost more than the call itself (measured: 1.9 → 1.2 ms of server CPU per operation, and
+50% throughput, in bench/api_throughput.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meshway.api import sigv4
from meshway.api.awsproto.protocols import Encoded, Json11Protocol, RestJsonProtocol
from meshway.api.dispatch import Binding, encode_error, invoke
from meshway.core.context import RequestContext
from meshway.core.errors import AwsError, UnknownOperationException

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Told (service, operation, HTTP status, seconds) after each AWS call; the console's /metrics
# keeps the figures (api must not import the console: it is a sibling at the edge).
ApiObserver = Callable[[str, str, int, float], None]


class AwsEndpoint:
    """ASGI app: AWS protocols first, the Starlette app for everything else."""

    def __init__(
        self,
        bindings: Sequence[Binding],
        fallback: Starlette,
        keys: dict[str, sigv4.Key] | None = None,
        observe: ApiObserver | None = None,
    ) -> None:
        self.fallback = fallback
        self.keys = keys
        self.observe = observe
        self._json = {}
        self._rest: list[tuple[str, Binding]] = []
        for binding in bindings:
            if isinstance(binding.protocol, Json11Protocol):
                self._json[binding.protocol.prefix] = binding
            else:
                for prefix in _rest_prefixes(binding.protocol):
                    self._rest.append((prefix, binding))

    def _binding_for(self, scope: Scope, headers: dict[str, str]) -> Binding | None:
        target = headers.get("x-amz-target")
        if target:
            return self._json.get(target.split(".", 1)[0])
        path: str = scope["path"]
        for prefix, binding in self._rest:
            if path == prefix or path.startswith(prefix + "/"):
                return binding
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        binding = self._binding_for(scope, headers)
        if binding is None:
            if headers.get("x-amz-target"):
                binding = next(iter(self._json.values()))
                await _send(
                    send,
                    encode_error(
                        binding,
                        UnknownOperationException(f"Unknown operation {headers['x-amz-target']}"),
                    ),
                    "",
                )
                return
            await self.fallback(scope, receive, send)
            return
        body = await _read_body(receive)
        request_id = str(uuid.uuid4())
        if body is None:
            await _send(send, _too_large(), request_id)
            return
        encoded = await self._handle(binding, scope, headers, body, request_id)
        await _send(send, encoded, request_id)

    async def _handle(
        self, binding: Binding, scope: Scope, headers: dict[str, str], body: bytes, request_id: str
    ) -> Encoded:
        try:
            identity = self._identify(scope, headers, body)
            op, params = _decode(binding, scope, headers, body)
        except AwsError as error:
            return encode_error(binding, error)
        ctx = RequestContext(
            account=identity.account,
            region=identity.region,
            access_key=identity.access_key,
            request_id=request_id,
        )
        started = time.perf_counter()
        encoded = invoke(binding, op, ctx, params)
        if self.observe is not None:
            self.observe(binding.name, op.name, encoded.status, time.perf_counter() - started)
        return encoded

    def _identify(self, scope: Scope, headers: dict[str, str], body: bytes) -> sigv4.Identity:
        if self.keys is None:
            return sigv4.identify(sigv4.parse_authorization(headers.get("authorization")))
        request = sigv4.SignedRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )
        return sigv4.verify(request, self.keys, dt.datetime.now(dt.UTC))


def _rest_prefixes(protocol: RestJsonProtocol) -> list[str]:
    prefixes = set()
    for name in protocol.model.operation_names:
        uri = protocol.model.operation_model(name).http["requestUri"]
        first = uri.split("?", 1)[0].split("/")[1]
        prefixes.add("/" + first)
    return sorted(prefixes, key=len, reverse=True)


def _decode(
    binding: Binding, scope: Scope, headers: dict[str, str], body: bytes
) -> tuple[Any, dict[str, Any]]:
    protocol = binding.protocol
    if isinstance(protocol, Json11Protocol):
        op = protocol.route(headers["x-amz-target"])
        return op, protocol.decode(op, body)
    # Labels are matched on the raw path and unquoted afterwards, so an encoded `/` (%2F) stays
    # inside its label instead of splitting the URI.
    raw = scope.get("raw_path") or scope["path"].encode()
    op, labels = protocol.route(scope["method"], raw.decode("utf-8", "replace"))
    query = _query_pairs(scope.get("query_string", b""))
    return op, protocol.decode(op, labels, query, headers, body)


def _query_pairs(raw: bytes) -> list[tuple[str, str]]:
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True)


# AWS's front ends refuse bodies past a few MB; the largest legitimate body here is an X-Ray
# PutTraceSegments batch (the daemon sends at most 50 documents of 64 KiB: 3.2 MiB).
MAX_BODY = 8 * 1024 * 1024


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None once it grows past MAX_BODY (the rest is drained, not kept)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks) if size <= MAX_BODY else None


def _too_large() -> Encoded:
    """413 as AWS's front end answers an oversized request: a JSON message and an error type."""
    return Encoded(
        status=413,
        headers={
            "content-type": "application/json",
            "x-amzn-errortype": "RequestEntityTooLargeException",
        },
        body=b'{"message":"Request Entity Too Large"}',
    )


async def _send(send: Send, encoded: Encoded, request_id: str) -> None:
    headers = [(k.encode(), v.encode()) for k, v in encoded.headers.items()]
    if request_id:
        headers.append((b"x-amzn-requestid", request_id.encode()))
    headers.append((b"content-length", str(len(encoded.body)).encode()))
    await send({"type": "http.response.start", "status": encoded.status, "headers": headers})
    await send({"type": "http.response.body", "body": encoded.body})


async def _json_http_error(_: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer like AWS's front end: JSON and an error type, no HTML."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = "UnknownOperationException" if status == 404 else "BadRequestException"
    return JSONResponse(
        {"message": exc.detail if isinstance(exc, HTTPException) else "Internal error"},
        status_code=status,
        headers={"x-amzn-ErrorType": code},
    )


def build_app(
    bindings: Sequence[Binding],
    keys: dict[str, sigv4.Key] | None = None,
    extra_routes: Sequence[Route] = (),
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    observe: ApiObserver | None = None,
) -> AwsEndpoint:
    """The endpoint; `lifespan` starts and stops the engines (runtime, control plane) with the
    server, so `GET /health` answers only once they run and SIGTERM stops them cleanly."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    fallback = Starlette(
        routes=[Route("/health", health), *extra_routes],
        exception_handlers={HTTPException: _json_http_error},
        lifespan=lifespan,
    )
    return AwsEndpoint(bindings, fallback, keys, observe)
