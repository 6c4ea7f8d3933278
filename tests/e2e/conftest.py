"""End-to-end fixtures: programs uid 1337 can run, an image catalog for them, and a server with
the task runtime on. Tests here need root (namespaces, iptables)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client

PROGRAMS = Path(__file__).parent / "programs"
SEED = Path(__file__).parents[1] / "data" / "seed"
ENVOY_IMAGE = "111345817488.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy"

# Issue 5 (a fresh Envoy stalling when a cluster turned DNS → EDS during its first exchange) is
# fixed: the xDS server holds such a change until Envoy asks for listeners, and nodes Meshway
# knows get EDS from the start. The Envoy modules no longer rerun; this rerun-once marker stays
# only for modules written meanwhile that still import it (test_xray_daemon.py,
# tests/console/test_console_envoys.py) and goes when they drop it.
ENVOY_START_STALL = pytest.mark.flaky(reruns=1, only_rerun=["TimeoutError"])

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, iptables)")


@pytest.fixture(scope="session")
def programs() -> Iterator[Path]:
    """The test programs in a world-readable folder (a checkout under /root is not)."""
    folder = Path(tempfile.mkdtemp(prefix="meshway-programs-", dir="/tmp"))
    folder.chmod(0o755)
    for source in PROGRAMS.glob("*.py"):
        target = folder / source.name
        shutil.copy(source, target)
        target.chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def catalog(programs: Path, tmp_path: Path) -> Path:
    python = "/usr/bin/python3"
    path = tmp_path / "images.json"
    path.write_text(
        json.dumps(
            {
                "images": {
                    "application_image": {"entryPoint": [python, "-u", str(programs / "app.py")]},
                    ENVOY_IMAGE: {"entryPoint": [python, "-u", str(programs / "envoy_standin.py")]},
                    "busybox": {"entryPoint": ["/bin/sh", "-c"]},
                }
            }
        )
    )
    return path


@pytest.fixture
def runtime_server(start_server: Callable[..., ServerProcess], catalog: Path) -> ServerProcess:
    return start_server("--images", str(catalog))


@pytest.fixture
def ecs_client(runtime_server: ServerProcess) -> Any:
    return make_client(runtime_server.url, "ecs")


@pytest.fixture
def mesh_server(
    start_server: Callable[..., ServerProcess], programs: Path, tmp_path: Path
) -> ServerProcess:
    """A server with the task runtime whose `application_image` is the test app (Envoy is the
    built-in sidecar)."""
    catalog = tmp_path / "images.json"
    app = ["/usr/bin/python3", "-u", str(programs / "app.py")]
    catalog.write_text(json.dumps({"images": {"application_image": {"entryPoint": app}}}))
    return start_server("--images", str(catalog))


def seed_definition(name: str = "appmesh-task-definition.json") -> dict[str, Any]:
    return json.loads((SEED / name).read_text())  # type: ignore[no-any-return]


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
