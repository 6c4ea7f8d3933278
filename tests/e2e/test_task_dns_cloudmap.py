"""Cloud Map names inside a running task: `<service>.<namespace>` registered through the Cloud Map
API resolves with glibc (getent) next to a virtual service name, and an unknown name fails at
once — nothing is forwarded to an upstream resolver that a task could hang on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import requires_root
from tests.e2e.test_task_dns import getent, lookups
from tests.e2e.test_task_runtime import FAST, describe, run_seed_task, task_ip

pytestmark = [pytest.mark.e2e, requires_root]


@pytest.fixture
def running_task(ecs_client: Any) -> Iterator[str]:
    arn = run_seed_task(ecs_client)
    ecs_client.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=FAST)
    yield arn
    ecs_client.stop_task(task=arn, reason="test is done")
    ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)


def until_resolves(arn: str, name: str, timeout: float = 5.0) -> tuple[int, list[str]]:
    deadline = time.monotonic() + timeout
    while (found := getent(arn, name))[0] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def private_namespace(sd: Any, name: str) -> str:
    operation = sd.create_private_dns_namespace(Name=name, Vpc="vpc-0123456789abcdef0")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = sd.get_operation(OperationId=operation["OperationId"])["Operation"]
        if done["Status"] in ("SUCCESS", "FAIL"):
            assert done["Status"] == "SUCCESS", done
            return str(done["Targets"]["NAMESPACE"])
        time.sleep(0.05)
    raise TimeoutError(f"namespace {name} was never created")


def test_a_cloud_map_name_and_a_virtual_service_resolve_and_an_unknown_name_fails_fast(
    runtime_server: ServerProcess, ecs_client: Any, running_task: str, unique: str
) -> None:
    sd = make_client(runtime_server.url, "servicediscovery")
    appmesh = make_client(runtime_server.url, "appmesh")
    namespace = f"{unique}.local".lower()
    ip = task_ip(describe(ecs_client, running_task))
    service = sd.create_service(
        Name="colorteller",
        NamespaceId=private_namespace(sd, namespace),
        DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
    )["Service"]["Id"]
    sd.register_instance(
        ServiceId=service, InstanceId="task-1", Attributes={"AWS_INSTANCE_IPV4": ip}
    )
    cloud_map_name = f"colorteller.{namespace}"
    virtual_service = f"colorgateway.{namespace}"
    appmesh.create_mesh(meshName=unique)
    appmesh.create_virtual_service(meshName=unique, virtualServiceName=virtual_service, spec={})

    assert until_resolves(running_task, cloud_map_name) == (0, [ip, cloud_map_name])
    code, words = until_resolves(running_task, virtual_service)
    assert code == 0
    assert words[1] == virtual_service
    assert lookups(running_task, cloud_map_name)["answers"] == [ip]

    unknown = f"nothing.{namespace}"  # inside the zone: NXDOMAIN from the zone, at once
    start = time.monotonic()
    assert getent(running_task, unknown)[0] == 2
    took = time.monotonic() - start
    outside = lookups(running_task, f"nothing-{unique}.example.com".lower(), count=5)
    assert outside["answers"] == ["error: -2"]  # EAI_NONAME (NXDOMAIN), not EAI_AGAIN
    assert took < 1.0  # getent in the task, including `ip netns exec`
    print(
        f"unknown name: getent {took * 1000:.1f} ms incl. netns exec; "
        f"getaddrinfo max {max(outside['took']) * 1000:.2f} ms"
    )

    sd.deregister_instance(ServiceId=service, InstanceId="task-1")
    deadline = time.monotonic() + 5
    while getent(running_task, cloud_map_name)[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert getent(running_task, cloud_map_name)[0] == 2
