"""What `meshway server` does for the built-in `aws-xray-daemon` image: install the daemon where
the container's user can run it, give the Preparer its argv, and let tasks reach the AWS endpoint.

A task lives in its own network namespace: the server's loopback address is not the task's, so
the daemon (like Envoy for xDS) reaches the server on the bridge gateway (198.18.0.1 by default).
The endpoint therefore also listens on `<gateway>:<port>` whenever the runtime runs. That socket
is bound with IP_FREEBIND before the runtime has made the bridge (uvicorn takes its sockets at
start, the bridge appears in the lifespan), so the kernel accepts an address that is not yet
there and connections arrive once it is. Requests that arrive on the bridge socket may call the
X-Ray API only (`BridgeGuard`): before it, tasks could not reach the endpoint at all, and the
daemons (Meshway's and the stock AWS one) need nothing else; `--require-auth` still checks every
signature.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from meshway.api.awsproto.model import operations
from meshway.runtime.supervisor import LaunchError
from meshway.xray.install import DaemonFiles, install

log = logging.getLogger(__name__)

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # linux/in.h
EVERY_ADDRESS = ("0.0.0.0", "::", "")
LISTEN_BACKLOG = 2048  # uvicorn's default


class XrayDaemonImage:
    """The built-in image's program: `python3 daemon.py -t 127.0.0.1:2000 -b 127.0.0.1:2000
    --default-endpoint http://<gateway>:<port> --account <task account>`."""

    def __init__(self, data_dir: Path, gateway: str, port: int) -> None:
        self.endpoint = f"http://{gateway}:{port}"
        self.files: DaemonFiles | None = None
        try:
            self.files = install(data_dir)
        except OSError as error:
            log.error("cannot install the X-Ray daemon: %s", error)

    def program(self, account: str) -> Sequence[str]:
        if self.files is None:
            raise LaunchError("CannotStartContainerError: the X-Ray daemon is not installed")
        return self.files.argv(self.endpoint, account)


def _listener(host: str, port: int, *, freebind: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if freebind:
            sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((host, port))
        # Listening at once, not when uvicorn starts serving after the lifespan: a socket only
        # bound (SO_REUSEADDR) can be bound again, and the task resolver, started in the
        # lifespan with a free port, once took this very port for its TCP listener.
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def endpoint_sockets(host: str, port: int, gateway: str | None) -> list[socket.socket]:
    """The endpoint's listening sockets: `host:port` as uvicorn would bind it, plus the bridge
    gateway on the same port when tasks need it and `host` does not already cover it."""
    main = _listener(host, port)
    sockets = [main]
    if gateway and host not in EVERY_ADDRESS:
        bound = int(main.getsockname()[1])
        try:
            sockets.append(_listener(gateway, bound, freebind=True))
        except OSError as error:
            log.warning("tasks cannot reach the endpoint on %s:%d: %s", gateway, bound, error)
    return sockets


Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]


def xray_paths() -> frozenset[str]:
    """The first path segment of every X-Ray operation (`/TraceSegments`, `/GetSamplingRules`,
    `/SamplingTargets`, ...), from the botocore model."""
    uris = (op.http["requestUri"] for op in operations("xray").values())
    return frozenset("/" + uri.split("?", 1)[0].split("/")[1] for uri in uris)


class BridgeGuard:
    """ASGI: on the bridge socket only the X-Ray API; on every other socket, everything."""

    def __init__(self, app: Asgi, gateway: str) -> None:
        self.app = app
        self.gateway = gateway
        self.allowed = xray_paths()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        server = scope.get("server") or ("", 0)
        if scope["type"] != "http" or server[0] != self.gateway or self._allowed(scope["path"]):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"message": "only the X-Ray API is served to tasks"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"x-amzn-errortype", b"AccessDeniedException"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, path: str) -> bool:
        return "/" + path.split("/")[1] in self.allowed if path.startswith("/") else False
