"""Names inside a running task: virtual service names and task hostnames resolve through the
bridge resolver (198.18.0.1:53), unknown names fail at once. Observed with getent and glibc's
getaddrinfo in the task, as an app would see them."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import requires_root
from tests.e2e.test_task_runtime import FAST, describe, run_seed_task, task_ip

pytestmark = [pytest.mark.e2e, requires_root]

SYNTHETIC = ipaddress.IPv4Network("198.18.240.0/20")

# Runs in the task with the system python: glibc's resolver, the task's resolv.conf and hosts.
TIME_LOOKUPS = """
import json, socket, sys, time
name, count = sys.argv[1], int(sys.argv[2])
took, answers = [], set()
for _ in range(count):
    start = time.perf_counter()
    try:
        found = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
        answers.update(a[4][0] for a in found)
    except socket.gaierror as error:
        answers.add("error: " + str(error.errno))
    took.append(time.perf_counter() - start)
print(json.dumps({"took": took, "answers": sorted(answers)}))
"""


def netns_of(task_arn: str) -> str:
    return "mw-" + task_arn.rsplit("/", 1)[-1][:12]


def in_task(arn: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns_of(arn), *argv],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def lookups(arn: str, name: str, count: int = 1) -> dict[str, Any]:
    out = in_task(arn, "/usr/bin/python3", "-c", TIME_LOOKUPS, name, str(count))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def getent(arn: str, name: str) -> tuple[int, list[str]]:
    out = in_task(arn, "getent", "hosts", name)
    return out.returncode, out.stdout.split()


@pytest.fixture
def appmesh_client(runtime_server: ServerProcess) -> Any:
    return make_client(runtime_server.url, "appmesh")


@pytest.fixture
def running_task(ecs_client: Any) -> Iterator[str]:
    arn = run_seed_task(ecs_client)
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    yield arn
    ecs_client.stop_task(task=arn, reason="test is done")
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)


def test_a_virtual_service_name_resolves_inside_a_task(
    appmesh_client: Any, running_task: str, unique: str
) -> None:
    name = f"colorteller.{unique}.local".lower()
    appmesh_client.create_mesh(meshName=unique)
    appmesh_client.create_virtual_service(meshName=unique, virtualServiceName=name, spec={})
    deadline = time.monotonic() + 5  # the table follows the store's change feed
    while (found := getent(running_task, name))[0] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    code, words = found
    assert code == 0
    assert words[1] == name
    assert ipaddress.IPv4Address(words[0]) in SYNTHETIC
    assert lookups(running_task, name)["answers"] == [words[0]]


def test_the_task_hostname_resolves_in_the_task_and_through_the_bridge_resolver(
    ecs_client: Any, running_task: str
) -> None:
    ip = task_ip(describe(ecs_client, running_task))
    hostname = "ip-" + running_task.rsplit("/", 1)[-1][:8]
    code, words = getent(running_task, hostname)  # the task's hosts file
    assert (code, words[0]) == (0, ip)
    asked = in_task(  # the resolver on the bridge, over UDP from inside the task
        running_task,
        sys.executable,
        "-c",
        "from meshway.runtime.dns import query;"
        f"print(query({hostname!r}, ('198.18.0.1', 53)).rr[0].rdata)",
    )
    assert asked.stdout.strip() == ip, asked.stderr


def test_an_unknown_name_fails_at_once_inside_a_task(running_task: str, unique: str) -> None:
    name = f"nothing-{unique}.example.com".lower()
    start = time.monotonic()
    code, _ = getent(running_task, name)
    assert code == 2  # "not found", not a timeout
    result = lookups(running_task, name, count=5)
    assert result["answers"] == ["error: -2"]  # EAI_NONAME: NXDOMAIN, not EAI_AGAIN
    # An answer, not the resolver timeout (timeout:1 attempts:1 would take a full second).
    assert max(result["took"]) < 0.5
    print(
        f"unknown name: getent {time.monotonic() - start:.3f}s incl. netns exec; "
        f"getaddrinfo max {max(result['took']) * 1000:.2f} ms"
    )


def test_lookup_latency_inside_a_task(appmesh_client: Any, running_task: str, unique: str) -> None:
    name = f"latency.{unique}.local".lower()
    appmesh_client.create_mesh(meshName=unique)
    appmesh_client.create_virtual_service(meshName=unique, virtualServiceName=name, spec={})
    deadline = time.monotonic() + 5
    while getent(running_task, name)[0] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    result = lookups(running_task, name, count=500)
    took = sorted(result["took"])
    assert len(result["answers"]) == 1
    assert not result["answers"][0].startswith("error")
    p50, p99 = took[len(took) // 2], took[int(len(took) * 0.99)]
    print(f"A lookup in a task: p50 {p50 * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms (n=500)")
