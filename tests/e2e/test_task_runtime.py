"""The seed's task definition run for real: netns, APPMESH interception, dependsOn HEALTHY,
health checks, essential exit and stop — observed only through the ECS API and the network."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from botocore.exceptions import WaiterError

from tests.e2e.conftest import netns_names, requires_root, seed_definition

pytestmark = [pytest.mark.e2e, requires_root]

AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
FAST = {"Delay": 1, "MaxAttempts": 60}


def run_seed_task(ecs: Any, **overrides: Any) -> str:
    definition = seed_definition()
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(taskDefinition=arn, networkConfiguration=AWSVPC, **overrides)
    assert task["failures"] == []
    return str(task["tasks"][0]["taskArn"])


def describe(ecs: Any, arn: str) -> dict[str, Any]:
    return ecs.describe_tasks(tasks=[arn])["tasks"][0]  # type: ignore[no-any-return]


def containers(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in task["containers"]}


def task_ip(task: dict[str, Any]) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


def read_line(ip: str, port: int) -> str:
    with socket.create_connection((ip, port), timeout=5) as conn:
        return conn.makefile().readline().strip()


def in_task(task: dict[str, Any], code: str, user: str | None = None) -> str:
    """Run Python in the task's network namespace (as root, or as `user`)."""
    netns = "mw-" + task["taskArn"].rsplit("/", 1)[-1][:12]
    argv = ["ip", "netns", "exec", netns]
    if user:
        argv += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    out = subprocess.run(
        [*argv, "/usr/bin/python3", "-c", code],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return out.stdout.strip()


CONNECT = """
import socket
s = socket.create_connection(({host!r}, {port}), timeout=3)
print(s.makefile().readline().strip() or "connected")
"""


def test_the_seed_task_runs_with_envoy_healthy_before_the_app_starts(ecs_client: Any) -> None:
    arn = run_seed_task(ecs_client)
    seen: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task = describe(ecs_client, arn)
        by_name = containers(task)
        seen.append(
            (task["lastStatus"], by_name["envoy"]["healthStatus"], by_name["app"]["lastStatus"])
        )
        if task["lastStatus"] == "RUNNING":
            break
        time.sleep(0.02)
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    assert all(app == "PENDING" for _, envoy, app in seen if envoy != "HEALTHY")
    order = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"]
    statuses = [status for status, _, _ in seen]
    assert statuses == sorted(statuses, key=order.index)
    task = describe(ecs_client, arn)
    by_name = containers(task)
    assert task["healthStatus"] == "HEALTHY"
    assert by_name["envoy"]["healthStatus"] == "HEALTHY"
    assert by_name["app"]["lastStatus"] == "RUNNING"
    ip = task_ip(task)
    assert ip.startswith("198.18.")
    assert by_name["app"]["networkInterfaces"][0]["privateIpv4Address"] == ip
    assert task["startedAt"] >= task["createdAt"]

    ecs_client.stop_task(task=arn, reason="test is done")
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)
    stopped = describe(ecs_client, arn)
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "test is done"
    assert {c["lastStatus"] for c in stopped["containers"]} == {"STOPPED"}
    assert containers(stopped)["app"]["exitCode"] == 143  # SIGTERM, as docker stop reports it
    assert "mw-" + arn.rsplit("/", 1)[-1][:12] not in netns_names()


def bypasses(task: dict[str, Any], host: str, port: int, user: str | None = None) -> bool:
    """True when a connection from the task is not redirected (nothing answers there)."""
    argv = ["ip", "netns", "exec", "mw-" + task["taskArn"].rsplit("/", 1)[-1][:12]]
    if user:
        argv += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    code = CONNECT.format(host=host, port=port).replace("timeout=3", "timeout=1")
    out = subprocess.run(
        [*argv, "/usr/bin/python3", "-c", code],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return out.returncode != 0 and "egress" not in out.stdout


def test_traffic_is_intercepted_exactly_as_the_appmesh_cni_plugin_does(ecs_client: Any) -> None:
    definition = seed_definition()
    definition["proxyConfiguration"]["properties"].append(
        {"name": "EgressIgnoredPorts", "value": "8081"}
    )
    registered = ecs_client.register_task_definition(**definition)["taskDefinition"]
    arn = ecs_client.run_task(
        taskDefinition=registered["taskDefinitionArn"], networkConfiguration=AWSVPC
    )["tasks"][0]["taskArn"]
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    task = describe(ecs_client, arn)
    ip = task_ip(task)
    # Inbound to an app port from outside the task lands on the ingress listener.
    assert read_line(ip, 9080).startswith(f"ingress {ip}:9080")
    # The app's outbound TCP lands on the egress listener, the destination recoverable.
    out = in_task(task, CONNECT.format(host="198.18.255.250", port=8080))
    assert out.startswith("egress 198.18.255.250:8080 from ")
    # uid 1337 (Envoy's own traffic), EgressIgnoredPorts and EgressIgnoredIPs go where sent.
    assert bypasses(task, "198.18.255.250", 8080, user="1337")
    assert bypasses(task, "198.18.255.250", 8081)
    assert bypasses(task, "169.254.169.254", 80)
    # localhost is never redirected: the app answers itself.
    local = in_task(
        task,
        "import urllib.request, json; print(json.load(urllib.request."
        "urlopen('http://127.0.0.1:9080/'))['app'])",
    )
    assert local == "app"
    ecs_client.stop_task(task=arn)
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)


def test_an_essential_container_exit_stops_the_task(ecs_client: Any) -> None:
    arn = run_seed_task(ecs_client)
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    app = containers(describe(ecs_client, arn))["app"]
    os.kill(int(app["runtimeId"]), signal.SIGKILL)
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)
    task = describe(ecs_client, arn)
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert containers(task)["app"]["exitCode"] == 137


def test_an_unknown_image_stops_the_task_with_cannot_pull(ecs_client: Any) -> None:
    definition = seed_definition()
    definition["containerDefinitions"][0]["image"] = "no-such-image:1"
    arn = ecs_client.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    task_arn = ecs_client.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0][
        "taskArn"
    ]
    with pytest.raises(WaiterError):  # the waiter fails because the task STOPPED
        ecs_client.get_waiter("tasks_running").wait(tasks=[task_arn], WaiterConfig=FAST)
    task = describe(ecs_client, task_arn)
    assert task["lastStatus"] == "STOPPED"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")
    assert "no-such-image" in task["stoppedReason"]


def test_stop_timeout_sends_sigkill_to_a_container_that_ignores_sigterm(ecs_client: Any) -> None:
    definition = {
        "family": "stubborn",
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "stubborn",
                "image": "busybox",
                "essential": True,
                "memory": 64,
                "command": ["trap '' TERM; while true; do sleep 0.1; done"],
                "stopTimeout": 2,
            }
        ],
    }
    arn = ecs_client.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    task_arn = ecs_client.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0][
        "taskArn"
    ]
    ecs_client.get_waiter("tasks_running").wait(tasks=[task_arn], WaiterConfig=FAST)
    started = time.monotonic()
    ecs_client.stop_task(task=task_arn)
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[task_arn], WaiterConfig=FAST)
    assert time.monotonic() - started >= 2
    assert containers(describe(ecs_client, task_arn))["stubborn"]["exitCode"] == 137


def test_the_server_stops_its_tasks_on_sigterm_and_leaves_nothing(
    runtime_server: Any, ecs_client: Any
) -> None:
    arn = run_seed_task(ecs_client)
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    netns = "mw-" + arn.rsplit("/", 1)[-1][:12]
    assert netns in netns_names()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is the signal's
    assert runtime_server.stop(signal.SIGTERM, timeout=60) in (0, -signal.SIGTERM)
    assert netns not in netns_names()
    leftover = subprocess.run(["pgrep", "-f", "envoy_standin.py"], capture_output=True, check=False)
    assert leftover.stdout == b""


def test_meshway_logs_prints_each_containers_output(runtime_server: Any, ecs_client: Any) -> None:
    arn = run_seed_task(ecs_client)
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    meshway = [sys.executable, "-m", "meshway", "logs", "--data-dir", str(runtime_server.data_dir)]
    app = subprocess.run([*meshway, arn, "app"], capture_output=True, text=True, check=True)
    assert "app listening on 9080" in app.stdout
    both = subprocess.run(
        [*meshway, arn.rsplit("/", 1)[-1]], capture_output=True, text=True, check=True
    )
    assert "envoy | stand-in up as uid 1337" in both.stdout
    assert "app | app listening on 9080" in both.stdout
    ecs_client.stop_task(task=arn)
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)
