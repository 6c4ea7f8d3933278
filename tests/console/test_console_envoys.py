"""Real Envoys in real tasks (root): each one's own stats reach `/metrics` tagged as App Mesh tags
them (mesh, virtual node), and the console shows their proxies in sync and their tasks running."""

from __future__ import annotations

import copy
import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess, make_client
from tests.console.conftest import requires_chromium
from tests.console.meshes import view
from tests.e2e.conftest import requires_root, seed_definition

pytestmark = [pytest.mark.e2e, requires_root, requires_chromium]

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


@pytest.fixture
def mesh_server(
    start_server: Callable[..., ServerProcess], programs: Path, tmp_path: Path
) -> ServerProcess:
    catalog = tmp_path / "images.json"
    app = ["/usr/bin/python3", "-u", str(programs / "app.py")]
    catalog.write_text(json.dumps({"images": {"application_image": {"entryPoint": app}}}))
    return start_server("--images", str(catalog))


def run_node_task(ecs: Any, node: str) -> str:
    """The seed's task (app + the built-in Envoy sidecar) as virtual node `node` of mesh demo."""
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


def load(task_arn: str, seconds: float) -> dict[str, Any]:
    """Requests from inside a task to the virtual service for `seconds`: what answered."""
    netns = "mw-" + task_arn.rsplit("/", 1)[-1][:12]
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", LOAD, URL, str(seconds)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def weights(v1: int, v2: int) -> dict[str, Any]:
    targets = [{"virtualNode": "back-v1", "weight": v1}, {"virtualNode": "back-v2", "weight": v2}]
    return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": targets}}}


def make_demo_mesh(appmesh: Any) -> None:
    appmesh.create_mesh(meshName="demo")
    spec = {"listeners": HTTP_9080, "serviceDiscovery": {"dns": {"hostname": "back-v1.local"}}}
    appmesh.create_virtual_node(meshName="demo", virtualNodeName="back-v1", spec=spec)
    appmesh.create_virtual_node(
        meshName="demo",
        virtualNodeName="back-v2",
        spec={**spec, "serviceDiscovery": {"dns": {"hostname": "back-v2.local"}}},
    )
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
    front = {
        "listeners": HTTP_9080,
        "serviceDiscovery": {"dns": {"hostname": "front.local"}},
        "backends": [{"virtualService": {"virtualServiceName": SERVICE}}],
    }
    appmesh.create_virtual_node(meshName="demo", virtualNodeName="front", spec=front)


def envoy_samples(server: ServerProcess) -> list[Any]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=15) as response:
        text = response.read().decode()
    return [s for f in text_string_to_metric_families(text) for s in f.samples]


def test_each_envoys_stats_are_in_metrics_with_app_mesh_tags_and_the_console_shows_them(
    mesh_server: ServerProcess, page: Page, shoot: Any
) -> None:
    appmesh = make_client(mesh_server.url, "appmesh", aws_access_key_id=ACCOUNT)
    ecs = make_client(mesh_server.url, "ecs", aws_access_key_id=ACCOUNT)
    make_demo_mesh(appmesh)
    arns = [run_node_task(ecs, node) for node in ("back-v1", "front")]
    wait_running(ecs, arns)
    sent = load(arns[1], 1.0)
    for _ in range(10):  # the first lookups may race the resolver learning the new tasks
        if sent["seen"].get("back-v1", 0) > 0:
            break
        sent = load(arns[1], 1.0)
    assert sent["seen"].get("back-v1", 0) > 0, sent

    samples = envoy_samples(mesh_server)
    cluster = "cds_egress_demo_back-v1_http_9080"
    found = [
        s
        for s in samples
        if s.name == "envoy_cluster_upstream_rq_total"
        and s.labels.get("envoy_cluster_name") == cluster
        and s.labels.get("appmesh_virtual_node") == "front"
        and "envoy_response_code" not in s.labels  # the per-code split is another sample
    ]
    assert len(found) == 1, [(s.name, s.labels, s.value, s.timestamp) for s in found]
    upstream = found[0]
    assert upstream.labels["appmesh_mesh"] == "demo"
    assert upstream.labels["ecs_task_id"] == arns[1].rsplit("/", 1)[-1]
    assert upstream.value >= sent["seen"]["back-v1"]  # Envoy counted every request we saw
    tagged = {s.labels.get("appmesh_virtual_node") for s in samples if s.name.startswith("envoy_")}
    assert {"front", "back-v1"} <= tagged

    page.goto(view(mesh_server.url, "proxies"))
    for node in ("front", "back-v1"):
        proxy = page.locator(f'.proxy[data-node="mesh/demo/virtualNode/{node}"]')
        expect(proxy).to_have_attribute("data-state", "in-sync")
    shoot(page, "proxies")
    page.goto(view(mesh_server.url, "tasks"))
    for arn in arns:
        expect(page.locator(f'tr[data-task="{arn.rsplit("/", 1)[-1]}"]')).to_contain_text("RUNNING")
    shoot(page, "tasks")
