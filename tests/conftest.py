"""Shared fixtures: a real `meshway server` subprocess on a free port, and boto3 clients for it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REGION = "us-west-2"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (`pytest.mark.anyio`) run on asyncio, as the server does."""
    return "asyncio"


@pytest.fixture(scope="session")
async def _one_event_loop(anyio_backend: str) -> AsyncIterator[None]:
    """Held for the session, so every async test runs on one event loop (anyio keeps its test
    runner while any fixture leases it). grpc.aio's completion queue dispatches to the loop a
    call was made on; with a loop per test, a late event of an earlier test's call reached its
    closed loop and failed a later test with "Event loop is closed" (about one run in five)."""
    yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", None)
        if item.get_closest_marker("anyio") is not None and names is not None:
            names.insert(0, "_one_event_loop")  # a usefixtures marker added here comes too late


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A `meshway server` run in its own process, with its own data directory."""

    data_dir: Path
    port: int
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        log = (self.data_dir.parent / f"server-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshway",
                "server",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--xds-port",  # several servers run at once; a test's own --xds-port wins
                "0",
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()  # a server left running would hold the bridge resolver's port for the rest
        raise RuntimeError("server did not become healthy")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def client(self, service: str, **kwargs: Any) -> Any:
        return make_client(self.url, service, **kwargs)


def make_client(url: str, service: str, **kwargs: Any) -> Any:
    config = kwargs.pop("config_kwargs", {})
    if service == "servicediscovery":
        # DiscoverInstances has the model's host prefix `data-`: botocore would send it to
        # data-127.0.0.1, which no resolver knows. Clients of a local endpoint turn it off (this,
        # or AWS_DISABLE_HOST_PREFIX_INJECTION=true for the aws CLI; README).
        config.setdefault("inject_host_prefix", False)
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=kwargs.pop("region_name", REGION),
        aws_access_key_id=kwargs.pop("aws_access_key_id", "AKIDMESHWAYTEST"),
        aws_secret_access_key=kwargs.pop("aws_secret_access_key", "secret"),
        config=Config(retries={"max_attempts": 1}, **config),
        **kwargs,
    )


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers on demand (for tests that kill and restart them); all stopped at the end."""
    started: list[ServerProcess] = []

    def start(*args: str, data_dir: Path | None = None) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / "data", free_port(), args).start()
        started.append(server)
        return server

    yield start
    for server in started:  # SIGTERM first: a server with the runtime stops its tasks cleanly
        server.stop(signal.SIGTERM, timeout=60)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the whole session; tests keep apart by using unique resource names."""
    root = tmp_path_factory.mktemp("meshway")
    # The API-level suite runs without the task runtime: its tasks stay where the API leaves
    # them. Runtime tests start their own server (`start_server`) with the runtime on.
    proc = ServerProcess(root / "data", free_port(), ("--no-runtime",)).start()
    yield proc
    proc.stop()


_accounts = iter(range(100_000_000_000, 999_999_999_999, 7_919))


@pytest.fixture
def account() -> str:
    """A fresh 12-digit account for this test: Meshway takes a 12-digit access key as the account,
    so each test has its own quotas (15 meshes per account, as AWS) and its own resources."""
    return str(next(_accounts) + os.getpid())


@pytest.fixture
def appmesh(server: ServerProcess, account: str) -> Any:
    return server.client("appmesh", aws_access_key_id=account)


@pytest.fixture
def ecs(server: ServerProcess, account: str) -> Any:
    return server.client("ecs", aws_access_key_id=account)


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A resource-name prefix unique to this test (App Mesh names allow letters, digits, -)."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
    return f"{name[:40]}-{os.getpid() % 1000}-{time.monotonic_ns() % 100000}"


def aws_cli() -> list[str]:
    exe = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    assert exe, "the aws CLI (pip install awscli) is required"
    return [exe]
