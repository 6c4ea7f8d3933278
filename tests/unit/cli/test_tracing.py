"""The endpoint's sockets: loopback for the host, plus the bridge gateway for tasks' daemons."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from meshway.cli.tracing import BridgeGuard, XrayDaemonImage, endpoint_sockets
from meshway.runtime.supervisor import LaunchError

GATEWAY = "198.51.100.77"  # TEST-NET-2: not on this host, as the bridge is not before the runtime


def test_the_endpoint_also_listens_on_the_gateway_before_that_address_exists() -> None:
    sockets = endpoint_sockets("127.0.0.1", 0, GATEWAY)
    try:
        main, bridge = sockets
        port = main.getsockname()[1]
        assert main.getsockname() == ("127.0.0.1", port)
        assert bridge.getsockname() == (GATEWAY, port)
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_an_endpoint_on_every_address_already_covers_the_gateway(host: str) -> None:
    sockets = endpoint_sockets(host, 0, GATEWAY)
    try:
        assert len(sockets) == 1
    finally:
        sockets[0].close()


def test_without_the_runtime_only_the_given_address_is_bound() -> None:
    sockets = endpoint_sockets("127.0.0.1", 0, None)
    assert len(sockets) == 1
    sockets[0].close()


def test_the_endpoint_port_is_listening_at_once_so_nothing_else_can_take_it() -> None:
    """Regression: the sockets were only bound until uvicorn served, and the task resolver
    (started before that, on a free port) once bound its TCP listener to this very port."""
    (main,) = endpoint_sockets("127.0.0.1", 0, None)
    port = int(main.getsockname()[1])
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio.start_server does
    try:
        with pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
    finally:
        other.close()
        main.close()


def test_the_daemon_image_runs_the_installed_daemon_against_the_gateway(tmp_path: Path) -> None:
    image = XrayDaemonImage(tmp_path / "data", "198.18.0.1", 7700)
    argv = image.program("111122223333")
    assert Path(argv[3]).name == "daemon.py" and Path(argv[3]).exists()
    assert argv[argv.index("--default-endpoint") + 1] == "http://198.18.0.1:7700"
    assert argv[argv.index("--account") + 1] == "111122223333"


def test_a_daemon_that_could_not_be_installed_stops_the_container(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    image = XrayDaemonImage(blocker / "data", "198.18.0.1", 7700)  # a file where a dir must be
    with pytest.raises(LaunchError, match="CannotStartContainerError"):
        image.program("111122223333")


def call(guard: BridgeGuard, path: str, server: tuple[str, int]) -> tuple[int, list[str]]:
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    guard.app = app
    scope = {"type": "http", "path": path, "server": server}
    asyncio.run(guard(scope, receive, send))
    return (sent[0]["status"] if sent else 0), reached


@pytest.mark.parametrize("path", ["/TraceSegments", "/GetSamplingRules", "/SamplingTargets",
                                  "/TelemetryRecords", "/TraceSummaries"])  # fmt: skip
def test_tasks_reach_the_xray_api_on_the_bridge(path: str) -> None:
    guard = BridgeGuard(lambda *_: None, "198.18.0.1")  # type: ignore[arg-type,return-value]
    assert call(guard, path, ("198.18.0.1", 7700)) == (0, [path])


@pytest.mark.parametrize("path", ["/v20190125/meshes", "/", "/health", "/console/", "nope"])
def test_on_the_bridge_everything_but_the_xray_api_is_refused(path: str) -> None:
    guard = BridgeGuard(lambda *_: None, "198.18.0.1")  # type: ignore[arg-type,return-value]
    assert call(guard, path, ("198.18.0.1", 7700)) == (403, [])


def test_on_loopback_every_path_is_served() -> None:
    guard = BridgeGuard(lambda *_: None, "198.18.0.1")  # type: ignore[arg-type,return-value]
    assert call(guard, "/v20190125/meshes", ("127.0.0.1", 7700)) == (0, ["/v20190125/meshes"])
