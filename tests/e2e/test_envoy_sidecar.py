"""The built-in aws-appmesh-envoy image for real: the seed's task definition with no stand-in
for Envoy. The sidecar agent runs Envoy as uid 1337 in the task, Envoy fetches its (empty)
config from Meshway's xDS server over the bridge, the seed's LIVE health check passes, the app
starts after it, and proxy status shows the node."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import requires_root
from tests.e2e.test_task_runtime import containers, describe, in_task, run_seed_task, task_ip

pytestmark = [pytest.mark.e2e, requires_root]

NODE = "mesh/meshName/virtualNode/virtualNodeName"


@pytest.fixture
def sidecar_server(
    start_server: Callable[..., ServerProcess], programs: Path, tmp_path: Path
) -> ServerProcess:
    catalog = tmp_path / "images.json"
    app = ["/usr/bin/python3", "-u", str(programs / "app.py")]
    catalog.write_text(json.dumps({"images": {"application_image": {"entryPoint": app}}}))
    return start_server("--images", str(catalog))


def proxies(server: ServerProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(server.url + "/meshway/proxies", timeout=5) as response:
        return json.loads(response.read())["proxies"]  # type: ignore[no-any-return]


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError


def test_the_seed_task_runs_the_real_envoy_fed_by_meshways_xds(
    sidecar_server: ServerProcess,
) -> None:
    ecs = make_client(sidecar_server.url, "ecs")
    arn = run_seed_task(ecs)
    task = wait_for(
        lambda: (
            (t := describe(ecs, arn))["lastStatus"] == "RUNNING"
            and containers(t)["envoy"].get("healthStatus") == "HEALTHY"
            and t
        )
    )
    assert containers(task)["app"]["lastStatus"] == "RUNNING"
    [proxy] = wait_for(lambda: [p for p in proxies(sidecar_server) if p["nodeId"] == NODE])
    assert proxy["key"] == f"arn:aws:appmesh:us-west-2:000000000000:{NODE}"
    assert proxy["peer"].startswith(f"ipv4:{task_ip(task)}:") and proxy["inSync"]
    agent = int(containers(task)["envoy"]["runtimeId"])
    envoy = int(subprocess.run(["pgrep", "-P", str(agent)], capture_output=True, text=True,
                               check=True).stdout.split()[0])  # fmt: skip
    assert uid_of(agent) == uid_of(envoy) == 1337
    assert "--disable-hot-restart" in Path(f"/proc/{envoy}/cmdline").read_text().split("\0")
    assert '"state": "LIVE"' in in_task(task, SERVER_INFO, user="1337")
    with pytest.raises(OSError):  # admin is on the task's loopback only
        socket.create_connection((task_ip(task), 9901), timeout=2)
    ecs.stop_task(task=arn)
    stopped = wait_for(lambda: (t := describe(ecs, arn))["lastStatus"] == "STOPPED" and t, 40)
    assert containers(stopped)["envoy"]["exitCode"] == 0


SERVER_INFO = """
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9901/server_info").read().decode())
"""


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("Uid:")[1].split()[0])
