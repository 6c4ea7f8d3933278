"""`meshway server --demo` (what `make run` runs): the getting-started mesh comes up through the
server's own API, its front app's traffic splits near the route's weights, `meshway demo status`
shows it, a route update moves it, and a restart on the same data applies nothing new."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshway.cli import demo
from tests.conftest import ServerProcess, free_port, make_client
from tests.e2e.conftest import requires_root

pytestmark = [pytest.mark.e2e, requires_root]

TASK_CIDR = "198.18.224.0/20"  # the module's own: other servers share the bridge


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data", free_port(), ("--demo", "--task-cidr", TASK_CIDR)
    ).start()
    yield server
    server.stop(signal.SIGTERM, timeout=60)


def front_stats(server: ServerProcess, least: int, timeout: float = 60) -> dict[str, Any]:
    """The demo status once the front app has at least `least` answers."""
    deadline, report = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        try:
            report = demo.status(server.url)
        except OSError as error:
            report = {"front": None, "error": repr(error)}
        if report["front"] is not None and report["front"]["total"] >= least:
            return report
        time.sleep(0.5)
    raise TimeoutError(f"the front app did not reach {least} answers: {report}")


def flip(server: ServerProcess, blue: int, red: int) -> None:
    appmesh = make_client(server.url, "appmesh", aws_access_key_id="demo")  # account 000000000000
    targets = [
        {"virtualNode": "colorteller-blue", "weight": blue},
        {"virtualNode": "colorteller-red", "weight": red},
    ]
    spec = {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": targets}}}
    appmesh.update_route(
        meshName="demo", virtualRouterName="colorteller", routeName="colorteller-route", spec=spec
    )


def test_the_demo_mesh_comes_up_and_its_traffic_splits_near_the_weights(
    demo_server: ServerProcess,
) -> None:
    # The front app starts once its Envoy is healthy, maybe before the colortellers run: its
    # first calls may fail. Measured from the 20th answer on, none does.
    start = front_stats(demo_server, 20)
    report = front_stats(demo_server, start["front"]["total"] + 400)
    assert report["weights"] == {"blue": 75, "red": 25}
    got = {c: report["front"]["colors"].get(c, 0) - start["front"]["colors"].get(c, 0)
           for c in ("blue", "red")}  # fmt: skip
    assert report["front"]["failures"] == start["front"]["failures"], report
    # 400 or more answers at p = 0.75: one standard deviation is 2.2 points.
    assert 0.67 <= got["blue"] / sum(got.values()) <= 0.83, (got, report)
    status = subprocess.run(
        [sys.executable, "-m", "meshway", "demo", "status", "--endpoint-url", demo_server.url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "blue     weight  75.0%" in status.stdout and "red      weight  25.0%" in status.stdout

    flip(demo_server, 0, 100)
    time.sleep(1.0)  # the push reaches the front's Envoy in milliseconds; requests in flight end
    before = demo.status(demo_server.url)["front"]
    after = front_stats(demo_server, before["total"] + 40)["front"]
    moved = {c: after["colors"].get(c, 0) - before["colors"].get(c, 0) for c in ("blue", "red")}
    assert moved["blue"] == 0 and moved["red"] >= 40, moved
    assert after["failures"] == before["failures"], after


def test_a_restart_on_the_same_data_applies_the_demo_again_without_changes(
    tmp_path: Path,
) -> None:
    args = ("--demo", "--task-cidr", TASK_CIDR)
    first = ServerProcess(tmp_path / "data", free_port(), args).start()
    try:
        front_stats(first, 20)
    finally:
        first.stop(signal.SIGTERM, timeout=60)
    again = ServerProcess(tmp_path / "data", free_port(), args).start()
    try:
        front_stats(again, 20)
        ecs = make_client(again.url, "ecs", aws_access_key_id="demo")
        families = ecs.list_task_definitions()["taskDefinitionArns"]
        services = ecs.list_services(cluster="meshway-demo")["serviceArns"]
    finally:
        again.stop(signal.SIGTERM, timeout=60)
    assert sorted(arn.rsplit("/", 1)[1] for arn in families) == [
        "demo-colorteller-blue:1",
        "demo-colorteller-red:1",
        "demo-front:1",
    ]
    assert len(services) == 3
    log = (tmp_path / f"server-{again.port}.log").read_text()
    assert log.count("demo applied") == 1 and "could not be applied" not in log


def test_the_demo_resources_file_names_every_node_it_runs() -> None:
    found = demo.resources()
    nodes = {n["name"] for n in found["virtualNodes"]}
    assert {s["name"] for s in found["services"]} == nodes
    assert set(found["images"]) == {s["image"] for s in found["services"]}
    assert json.dumps(demo.task_definition("demo", found["services"][0])).count("HEALTHY") == 1
