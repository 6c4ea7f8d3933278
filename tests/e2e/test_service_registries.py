"""ECS service registries with the task runtime: a service's running tasks are exactly its Cloud
Map instances, with the attributes ECS sets; a stopped task leaves in the same transaction as
its stop; a task failing its health check is UNHEALTHY in Cloud Map and gone from DNS; two task
families share one Cloud Map service and are told apart by ECS_TASK_DEFINITION_FAMILY."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from meshway.runtime.dns import query, read_address_file
from tests.conftest import REGION, ServerProcess, make_client
from tests.e2e.conftest import requires_root

pytestmark = [pytest.mark.e2e, requires_root]

T = TypeVar("T")
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
FAST = {"Delay": 1, "MaxAttempts": 60}
ECS_ATTRIBUTES = {
    "AWS_INSTANCE_IPV4",
    "AVAILABILITY_ZONE",
    "REGION",
    "ECS_SERVICE_NAME",
    "ECS_CLUSTER_NAME",
    "ECS_TASK_DEFINITION_FAMILY",
}


def until(probe: Callable[[], T], check: Callable[[T], Any] = bool, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s; last: {found!r}")
        time.sleep(0.05)


@pytest.fixture
def sick() -> Iterator[Path]:
    """A folder where a file named after a task's address makes that task's check fail."""
    folder = Path(tempfile.mkdtemp(prefix="meshway-sick-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


@pytest.fixture
def cloudmap(runtime_server: ServerProcess) -> Any:
    return make_client(runtime_server.url, "servicediscovery")


def definition(family: str, sick: Path) -> dict[str, Any]:
    return {
        "family": family,
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "application_image",
                "essential": True,
                "memory": 128,
                "portMappings": [{"containerPort": 9080, "protocol": "tcp"}],
                "environment": [{"name": "APP_NAME", "value": family}],
                "healthCheck": {
                    # the task's own address names its file (hostname -I: this namespace's)
                    "command": ["CMD-SHELL", f"test ! -e {sick}/$(hostname -I | cut -d' ' -f1)"],
                    "interval": 5,
                    "timeout": 2,
                    "retries": 1,
                },
            }
        ],
    }


def registry(cloudmap: Any) -> tuple[str, str]:
    """`web` in the private DNS namespace `shop.local`: (service id, service ARN)."""
    created = cloudmap.create_private_dns_namespace(Name="shop.local", Vpc="vpc-local")
    namespace = cloudmap.get_operation(OperationId=created["OperationId"])["Operation"]
    service = cloudmap.create_service(
        Name="web",
        DnsConfig={
            "NamespaceId": namespace["Targets"]["NAMESPACE"],
            "RoutingPolicy": "MULTIVALUE",
            "DnsRecords": [{"Type": "A", "TTL": 10}],
        },
        HealthCheckCustomConfig={"FailureThreshold": 1},
    )["Service"]
    return str(service["Id"]), str(service["Arn"])


def start(ecs: Any, name: str, family: str, arn: str, sick: Path, desired: int = 3) -> None:
    ecs.register_task_definition(**definition(family, sick))
    ecs.create_service(
        serviceName=name,
        taskDefinition=family,
        desiredCount=desired,
        networkConfiguration=AWSVPC,
        serviceRegistries=[{"registryArn": arn}],
        healthCheckGracePeriodSeconds=600,  # keep an unhealthy task: the test watches it
    )
    ecs.get_waiter("services_stable").wait(services=[name], WaiterConfig=FAST)


def running(ecs: Any, name: str) -> dict[str, dict[str, Any]]:
    """Task id → task, for the service's tasks that are RUNNING and meant to stay so."""
    arns = ecs.list_tasks(serviceName=name)["taskArns"]
    tasks = ecs.describe_tasks(tasks=arns)["tasks"] if arns else []
    return {
        t["taskArn"].rsplit("/", 1)[-1]: t
        for t in tasks
        if t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING"
    }


def address(task: dict[str, Any]) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return str(details["privateIPv4Address"])


def discovered(cloudmap: Any, health: str = "ALL", **query: str) -> dict[str, dict[str, Any]]:
    found = cloudmap.discover_instances(
        NamespaceName="shop.local", ServiceName="web", HealthStatus=health, QueryParameters=query
    )["Instances"]
    return {i["InstanceId"]: i for i in found}


def resolved(server: ServerProcess, name: str) -> set[str]:
    reply = query(name, read_address_file(server.data_dir / "dns-address"))
    return {str(rr.rdata) for rr in reply.rr}


def test_a_services_running_tasks_are_its_cloud_map_instances_with_ecs_attributes(
    runtime_server: ServerProcess, ecs_client: Any, cloudmap: Any, sick: Path
) -> None:
    _, arn = registry(cloudmap)
    start(ecs_client, "web", "shop-web", arn, sick)
    tasks = until(lambda: running(ecs_client, "web"), lambda t: len(t) == 3)
    instances = until(
        lambda: discovered(cloudmap, "HEALTHY"), lambda found: set(found) == set(tasks)
    )
    for task_id, instance in instances.items():
        attributes = instance["Attributes"]
        assert set(attributes) >= ECS_ATTRIBUTES
        assert attributes["AWS_INSTANCE_IPV4"] == address(tasks[task_id])
        assert attributes["ECS_SERVICE_NAME"] == "web"
        assert attributes["ECS_CLUSTER_NAME"] == "default"
        assert attributes["ECS_TASK_DEFINITION_FAMILY"] == "shop-web"
        assert attributes["REGION"] == REGION
        assert attributes["AVAILABILITY_ZONE"].startswith(REGION)
        assert instance["HealthStatus"] == "HEALTHY"
        assert (instance["NamespaceName"], instance["ServiceName"]) == ("shop.local", "web")
    until(
        lambda: resolved(runtime_server, "web.shop.local"),
        lambda found: found == {address(t) for t in tasks.values()},
        timeout=5,
    )

    victim = next(iter(tasks))
    ecs_client.stop_task(task=victim, reason="test")
    # Deregistered in StopTask's own transaction: the very next answer no longer has it.
    assert victim not in discovered(cloudmap)
    # DNS follows the change feed (bench/dns_rebuild.py: a rebuild takes ~12 ms).
    until(
        lambda: resolved(runtime_server, "web.shop.local"),
        lambda found: address(tasks[victim]) not in found,
        timeout=5,
    )
    after = until(
        lambda: discovered(cloudmap, "HEALTHY"),
        lambda found: len(found) == 3 and victim not in found,
    )
    (replacement,) = set(after) - set(tasks)
    assert after[replacement]["Attributes"]["ECS_TASK_DEFINITION_FAMILY"] == "shop-web"


def test_a_task_failing_its_health_check_is_unhealthy_in_cloud_map_and_gone_from_dns(
    runtime_server: ServerProcess, ecs_client: Any, cloudmap: Any, sick: Path
) -> None:
    _, arn = registry(cloudmap)
    start(ecs_client, "web", "shop-web", arn, sick, desired=2)
    tasks = until(lambda: running(ecs_client, "web"), lambda t: len(t) == 2)
    until(lambda: discovered(cloudmap, "HEALTHY"), lambda found: set(found) == set(tasks))
    victim, keeper = sorted(tasks)
    (sick / address(tasks[victim])).touch()
    health = until(
        lambda: cloudmap.get_instances_health_status(ServiceId=registry_id(cloudmap))["Status"],
        lambda status: status.get(victim) == "UNHEALTHY",
    )
    assert health[keeper] == "HEALTHY"
    assert set(discovered(cloudmap, "HEALTHY")) == {keeper}
    assert set(discovered(cloudmap, "UNHEALTHY")) == {victim}
    until(
        lambda: resolved(runtime_server, "web.shop.local"),
        lambda found: found == {address(tasks[keeper])},
        timeout=5,
    )
    (sick / address(tasks[victim])).unlink()
    until(lambda: discovered(cloudmap, "HEALTHY"), lambda found: set(found) == set(tasks))


def registry_id(cloudmap: Any) -> str:
    (service,) = cloudmap.list_services()["Services"]
    return str(service["Id"])


def test_two_families_share_one_cloud_map_service_and_are_told_apart_by_family(
    ecs_client: Any, cloudmap: Any, sick: Path
) -> None:
    _, arn = registry(cloudmap)
    start(ecs_client, "blue", "blue", arn, sick, desired=2)
    start(ecs_client, "green", "green", arn, sick, desired=1)
    blue, green = running(ecs_client, "blue"), running(ecs_client, "green")
    every = until(lambda: discovered(cloudmap), lambda found: len(found) == 3)
    assert set(every) == set(blue) | set(green)
    assert set(discovered(cloudmap, ECS_TASK_DEFINITION_FAMILY="blue")) == set(blue)
    assert set(discovered(cloudmap, ECS_TASK_DEFINITION_FAMILY="green")) == set(green)
    assert {i["Attributes"]["ECS_SERVICE_NAME"] for i in every.values()} == {"blue", "green"}
