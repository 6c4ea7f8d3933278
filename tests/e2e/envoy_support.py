"""Support for the real-Envoy tests: loopback backends, the sidecar agent as uid 1337, admin
reads, and a load loop that counts failed requests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from meshway.sidecar.install import SidecarFiles, install
from tests.conftest import free_port

ENVOY_UID = 1337
DROP_PRIVILEGES = (
    "import os, sys; os.setgroups([]); os.setresgid(1337, 1337, 1337); "
    "os.setresuid(1337, 1337, 1337); os.execv(sys.argv[1], sys.argv[1:])"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.server.hits += 1  # type: ignore[attr-defined]
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n\r\n"
        self.wfile.write(head.encode() + body)  # one write: no Nagle stall (envoy.md gotcha 9)

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def backend(name: str) -> Iterator[ThreadingHTTPServer]:
    """An HTTP server on loopback answering every GET with its name."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    server.daemon_threads = True
    server.name = name  # type: ignore[attr-defined]
    server.hits = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sidecar_files(data_dir: Path) -> SidecarFiles:
    return install(data_dir)


@dataclass
class Sidecar:
    """The aws-appmesh-envoy agent (and its Envoy) as uid 1337 in the host's namespaces."""

    process: subprocess.Popen[bytes]
    admin_port: int
    log: Path

    def admin(self, path: str, method: str = "GET", timeout: float = 2.0) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()

    def config_dump(self) -> dict[str, Any]:
        return json.loads(self.admin("/config_dump"))  # type: ignore[no-any-return]

    def stat(self, name: str) -> int:
        for line in self.admin(f"/stats?filter=^{name}$").splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        raise KeyError(name)

    def wait_live(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"agent exited {self.process.returncode}: {self.log.read_text()}"
                )
            try:
                if '"state": "LIVE"' in self.admin("/server_info"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"Envoy not LIVE: {self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()


def start_sidecar(
    files: SidecarFiles, xds: str, log: Path, env: Mapping[str, str], *, account: str = ""
) -> Sidecar:
    admin_port = free_port()
    environment = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "ENVOY_ADMIN_ACCESS_PORT": str(admin_port),
        "ENVOY_LOG_LEVEL": "info",
        **env,
    }
    out = log.open("ab")
    # Drop to 1337 in a launcher, as the runtime does (setresuid, then execve), rather than with
    # Popen(user=...): that forces fork() instead of vfork(), and gRPC's fork handlers in this
    # test process can crash the child before its exec.
    process = subprocess.Popen(
        [files.python, "-I", "-S", "-c", DROP_PRIVILEGES, *files.argv(xds, account)],
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd="/",
    )
    return Sidecar(process=process, admin_port=admin_port, log=log)


@dataclass
class Load:
    """Requests in a loop through Envoy's listener, each on a new connection."""

    port: int
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    bodies: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def once(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read().decode()
            if response.status != 200:
                raise RuntimeError(f"{response.status} {body}")
            return body
        finally:
            connection.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                body = self.once()
                self.ok += 1
                self.bodies[body] = self.bodies.get(body, 0) + 1
            except Exception as error:
                self.failed.append(repr(error))

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(10)
