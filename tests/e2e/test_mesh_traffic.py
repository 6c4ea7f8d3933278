"""Traffic through the mesh, all real: App Mesh resources through the API, tasks of the seed's
shape with the built-in Envoy sidecar, app → iptables → Envoy → Envoy → app; a route's weights
flipped while traffic flows moves it with zero failed requests."""

from __future__ import annotations

import copy
import json
import subprocess
import time
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import requires_root, seed_definition

pytestmark = [pytest.mark.e2e, requires_root]

ACCOUNT = "123456789012"
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
HTTP_9080 = [{"portMapping": {"port": 9080, "protocol": "http"}}]
SERVICE = "back.demo.local"
URL = f"http://{SERVICE}:9080/"

LOAD = """
import json, sys, time, urllib.request
url, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
seen, failed = {}, []
while time.monotonic() < until:
    try:
        body = json.loads(urllib.request.urlopen(url, timeout=5).read())
        seen[body["app"]] = seen.get(body["app"], 0) + 1
    except Exception as error:
        failed.append(repr(error))
print(json.dumps({"seen": seen, "failed": failed[:5], "failures": len(failed)}))
"""


def run_node_task(ecs: Any, node: str) -> str:
    definition = copy.deepcopy(seed_definition())
    definition["family"] = node
    app, envoy = definition["containerDefinitions"]
    app["environment"] = [{"name": "APP_NAME", "value": node}]
    envoy["environment"] = [
        {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": f"mesh/demo/virtualNode/{node}"}
    ]
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    return str(ecs.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0]["taskArn"])


def wait_running(ecs: Any, arns: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = ecs.describe_tasks(tasks=arns)["tasks"]
        if all(t["lastStatus"] == "RUNNING" for t in tasks):
            return
        assert not any(t["lastStatus"] == "STOPPED" for t in tasks), tasks
        time.sleep(0.2)
    raise TimeoutError(arns)


def load_from(task_arn: str, seconds: float) -> subprocess.Popen[str]:
    netns = "mw-" + task_arn.rsplit("/", 1)[-1][:12]
    return subprocess.Popen(
        ["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", LOAD, URL, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )


def result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=60)
    return json.loads(out)  # type: ignore[no-any-return]


def weights(v1: int, v2: int) -> dict[str, Any]:
    targets = [{"virtualNode": "back-v1", "weight": v1}, {"virtualNode": "back-v2", "weight": v2}]
    return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": targets}}}


def make_demo_mesh(appmesh: Any) -> None:
    """Mesh `demo`: front calls back.demo.local, routed 100/0 between back-v1 and back-v2."""
    appmesh.create_mesh(meshName="demo")
    for node in ("back-v1", "back-v2"):
        spec = {"listeners": HTTP_9080, "serviceDiscovery": {"dns": {"hostname": f"{node}.local"}}}
        appmesh.create_virtual_node(meshName="demo", virtualNodeName=node, spec=spec)
    appmesh.create_virtual_router(
        meshName="demo", virtualRouterName="back", spec={"listeners": HTTP_9080}
    )
    appmesh.create_route(
        meshName="demo", virtualRouterName="back", routeName="split", spec=weights(100, 0)
    )
    appmesh.create_virtual_service(
        meshName="demo",
        virtualServiceName=SERVICE,
        spec={"provider": {"virtualRouter": {"virtualRouterName": "back"}}},
    )
    front_spec = {
        "listeners": HTTP_9080,
        "serviceDiscovery": {"dns": {"hostname": "front.local"}},
        "backends": [{"virtualService": {"virtualServiceName": SERVICE}}],
    }
    appmesh.create_virtual_node(meshName="demo", virtualNodeName="front", spec=front_spec)


def test_a_route_flip_moves_mesh_traffic_with_zero_failed_requests(
    mesh_server: ServerProcess,
) -> None:
    appmesh = make_client(mesh_server.url, "appmesh", aws_access_key_id=ACCOUNT)
    ecs = make_client(mesh_server.url, "ecs", aws_access_key_id=ACCOUNT)
    make_demo_mesh(appmesh)
    arns = [run_node_task(ecs, node) for node in ("back-v1", "back-v2", "front")]
    wait_running(ecs, arns)
    front = arns[2]

    first = result(load_from(front, 1.0))
    assert first["failures"] == 0 and set(first["seen"]) == {"back-v1"}, first

    during = load_from(front, 3.0)
    time.sleep(1.0)
    appmesh.update_route(
        meshName="demo", virtualRouterName="back", routeName="split", spec=weights(0, 100)
    )
    flipped = result(during)
    assert flipped["failures"] == 0, flipped
    assert flipped["seen"]["back-v1"] > 0 and flipped["seen"]["back-v2"] > 0

    after = result(load_from(front, 1.0))
    assert after["failures"] == 0 and set(after["seen"]) == {"back-v2"}, after
