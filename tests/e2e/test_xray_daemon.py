"""Traces from the mesh, all real: two tasks of the seed's X-Ray shape (app + the built-in Envoy
with ENABLE_ENVOY_XRAY_TRACING=1 and XRAY_SAMPLING_RATE=1 + the built-in `amazon/aws-xray-daemon`
running Meshway's daemon as uid 1337), front → back through both Envoys; every request's two
segments (front's egress, back's ingress) reach the server through each task's daemon and chain
by parent_id in BatchGetTraces; an app's sampling poll on the daemon's TCP port is answered."""

from __future__ import annotations

import copy
import json
import subprocess
import time
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import ENVOY_START_STALL, requires_root, seed_definition
from tests.e2e.test_task_runtime import in_task, task_ip

pytestmark = [pytest.mark.e2e, requires_root, ENVOY_START_STALL]

ACCOUNT = "123456789013"
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
HTTP_9080 = [{"portMapping": {"port": 9080, "protocol": "http"}}]
SERVICE = "back.demo.local"
REQUESTS = 40

# By the callee's address with the virtual service as Host: Envoy routes by Host, and the test
# needs no DNS (the bridge resolver's port is shared with any other server running on this host).
CALLS = """
import json, sys, urllib.request
url, host, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ok, failed, apps = 0, [], set()
for _ in range(count):
    try:
        request = urllib.request.Request(url, headers={"Host": host})
        apps.add(json.loads(urllib.request.urlopen(request, timeout=5).read())["app"])
        ok += 1
    except Exception as error:
        failed.append(repr(error))
print(json.dumps({"ok": ok, "failed": failed[:5], "apps": sorted(apps)}))
"""


def xray_task_definition(node: str) -> dict[str, Any]:
    definition = copy.deepcopy(seed_definition("appmesh-task-definition-xray.json"))
    definition["family"] = f"xray-{node}"
    app, envoy, daemon = definition["containerDefinitions"]
    app["environment"] = [{"name": "APP_NAME", "value": node}]
    envoy["environment"] = [
        {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": f"mesh/demo/virtualNode/{node}"},
        {"name": "ENABLE_ENVOY_XRAY_TRACING", "value": "1"},
        {"name": "XRAY_SAMPLING_RATE", "value": "1"},
    ]
    daemon["command"] = ["--stats-interval", "2"]  # flags after the image's, as with Docker
    assert daemon["image"] == "amazon/aws-xray-daemon" and daemon["user"] == "1337"
    return definition


def run_task(ecs: Any, node: str) -> str:
    arn = ecs.register_task_definition(**xray_task_definition(node))["taskDefinition"][
        "taskDefinitionArn"
    ]
    return str(ecs.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0]["taskArn"])


def wait_running(ecs: Any, arns: list[str], timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = ecs.describe_tasks(tasks=arns)["tasks"]
        if all(t["lastStatus"] == "RUNNING" for t in tasks):
            return tasks  # type: ignore[no-any-return]
        assert not any(t["lastStatus"] == "STOPPED" for t in tasks), tasks
        time.sleep(0.2)
    raise TimeoutError(arns)


def calls_from(task_arn: str, callee_ip: str, count: int) -> dict[str, Any]:
    netns = "mw-" + task_arn.rsplit("/", 1)[-1][:12]
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", CALLS,
         f"http://{callee_ip}:9080/", SERVICE, str(count)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


# What an aws-xray-sdk app's sampling poller sends to the daemon's TCP port (unsigned).
SAMPLING_POLL = """
import json, urllib.request
request = urllib.request.Request("http://127.0.0.1:2000/GetSamplingRules", data=b"{}",
                                 headers={"Content-Type": "application/json"}, method="POST")
rules = json.loads(urllib.request.urlopen(request, timeout=5).read())["SamplingRuleRecords"]
print(json.dumps([r["SamplingRule"]["RuleName"] for r in rules]))
"""


STATUS = """
import urllib.error, urllib.request
try:
    print(urllib.request.urlopen({url!r}, timeout=5).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def daemon_logs(server: ServerProcess, arns: list[str]) -> dict[str, str]:
    """Each task's daemon output (its counters), for the failure message."""
    tasks = server.data_dir / "runtime" / "tasks"
    return {
        arn: "".join(
            p.read_text()[-2000:]
            for p in (tasks / arn.rsplit("/", 1)[-1] / "logs").glob("xray-daemon.*")
        )
        for arn in arns
    }


def segments_by_trace(xray: Any, since: float) -> dict[str, list[dict[str, Any]]]:
    ids: list[str] = []
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=since, EndTime=time.time() + 60
    )
    for page in pages:
        ids += [s["Id"] for s in page["TraceSummaries"]]
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 5):
        for trace in xray.batch_get_traces(TraceIds=ids[start : start + 5])["Traces"]:
            found[trace["Id"]] = [json.loads(s["Document"]) for s in trace["Segments"]]
    return found


def test_each_request_through_two_envoys_reaches_the_server_as_one_chained_trace(
    mesh_server: ServerProcess,
) -> None:
    appmesh = make_client(mesh_server.url, "appmesh", aws_access_key_id=ACCOUNT)
    ecs = make_client(mesh_server.url, "ecs", aws_access_key_id=ACCOUNT)
    xray = make_client(mesh_server.url, "xray", aws_access_key_id=ACCOUNT)
    appmesh.create_mesh(meshName="demo")
    back = {"listeners": HTTP_9080, "serviceDiscovery": {"dns": {"hostname": "back.local"}}}
    appmesh.create_virtual_node(meshName="demo", virtualNodeName="back", spec=back)
    appmesh.create_virtual_service(
        meshName="demo",
        virtualServiceName=SERVICE,
        spec={"provider": {"virtualNode": {"virtualNodeName": "back"}}},
    )
    front = {
        "listeners": HTTP_9080,
        "serviceDiscovery": {"dns": {"hostname": "front.local"}},
        "backends": [{"virtualService": {"virtualServiceName": SERVICE}}],
    }
    appmesh.create_virtual_node(meshName="demo", virtualNodeName="front", spec=front)
    arns = [run_task(ecs, "back"), run_task(ecs, "front")]
    tasks = wait_running(ecs, arns)
    back_ip = task_ip(tasks[0])
    since = time.time() - 5

    warm = calls_from(arns[1], back_ip, 1)  # the first call may meet Envoy taking its config
    deadline = time.monotonic() + 30
    while warm["ok"] != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        warm = calls_from(arns[1], back_ip, 1)
    assert warm["ok"] == 1, warm
    sent = calls_from(arns[1], back_ip, REQUESTS)
    assert sent["ok"] == REQUESTS and sent["apps"] == ["back"], sent

    def complete() -> dict[str, list[dict[str, Any]]] | None:
        found = segments_by_trace(xray, since)
        chained = {t: s for t, s in found.items() if len(s) == 2}
        return found if len(chained) >= REQUESTS + 1 else None

    deadline = time.monotonic() + 30
    traces = complete()
    while traces is None and time.monotonic() < deadline:
        time.sleep(1)
        traces = complete()
    assert traces is not None, (segments_by_trace(xray, since), daemon_logs(mesh_server, arns))
    assert len(traces) == REQUESTS + 1  # sampled at 100%: one trace per request, nothing else
    for segments in traces.values():
        by_name = {s["name"]: s for s in segments}
        caller, callee = by_name["demo/front"], by_name["demo/back"]
        assert callee["parent_id"] == caller["id"] and "parent_id" not in caller
        for segment, node in ((caller, "front"), (callee, "back")):
            assert segment["origin"] == "AWS::AppMesh::Proxy"
            assert segment["aws"]["app_mesh"] == {"mesh_name": "demo", "virtual_node_name": node}
            assert segment["http"]["response"]["status"] == 200

    # An SDK-instrumented app in the task polls sampling rules through its daemon.
    assert "Default" in json.loads(in_task(tasks[1], SAMPLING_POLL, user="1000"))
    # On the bridge address the endpoint serves tasks the X-Ray API and nothing else.
    bridge = f"http://198.18.0.1:{mesh_server.port}"
    assert in_task(tasks[1], STATUS.format(url=bridge + "/v20190125/meshes"), user="1337") == "403"
