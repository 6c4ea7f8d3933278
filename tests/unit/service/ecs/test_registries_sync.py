"""`sync_task`: a service task's Cloud Map instance follows its state inside the caller's
transaction, on a real SQLite store; a registration Cloud Map refuses leaves the task running
unregistered rather than failing the task's own state change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshway.core.clock import FixedClock
from meshway.core.context import RequestContext
from meshway.core.ids import SequentialIds
from meshway.model.ecs.tasks import ENI_ATTACHMENT
from meshway.model.servicediscovery.records import INSTANCE, instance_key
from meshway.service.ecs.base import SERVICE
from meshway.service.ecs.registries import DEPLOYMENT_REGISTRIES, REGISTERED, sync_task
from meshway.service.servicediscovery import CloudMapService
from meshway.store.base import Record
from meshway.store.sql import SqlStore, open_store

CTX = RequestContext(account="123456789012", region="us-west-2")
CLUSTER = "arn:aws:ecs:us-west-2:123456789012:cluster/default"
SERVICE_ARN = "arn:aws:ecs:us-west-2:123456789012:service/default/web"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = open_store(None, tmp_path / "data")
    yield store
    store.close()


def cloud_map_service(store: SqlStore, records: list[str], **extra: Any) -> str:
    cloudmap = CloudMapService(store, clock=FixedClock(), ids=SequentialIds())
    created = cloudmap.create_private_dns_namespace(CTX, name="corp.local", vpc="vpc-1")
    operation = cloudmap.get_operation(CTX, created["OperationId"])["Operation"]
    return str(
        cloudmap.create_service(
            CTX,
            name="web",
            namespace_id=operation["Targets"]["NAMESPACE"],
            dns_config={"DnsRecords": [{"Type": kind, "TTL": 10} for kind in records]},
            **extra,
        )["Service"]["Arn"]
    )


def ecs_service(store: SqlStore, registries: list[dict[str, Any]]) -> None:
    body = {
        "serviceArn": SERVICE_ARN,
        "serviceName": "web",
        "deployments": [{"id": "ecs-svc/1", DEPLOYMENT_REGISTRIES: registries}],
        "serviceRegistries": registries,
    }
    with store.transaction() as tx:
        tx.put(Record(kind=SERVICE, key=SERVICE_ARN, parent=CLUSTER, name="web", body=body))


def task(last: str, health: str = "UNKNOWN", desired: str = "RUNNING") -> dict[str, Any]:
    return {
        "taskArn": "arn:aws:ecs:us-west-2:123456789012:task/default/t1",
        "clusterArn": CLUSTER,
        "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/web:3",
        "group": "service:web",
        "startedBy": "ecs-svc/1",
        "lastStatus": last,
        "desiredStatus": desired,
        "healthStatus": health,
        "containers": [{"name": "app", "_essential": True, "_healthCheck": True}],
        "attachments": [
            {
                "type": ENI_ATTACHMENT,
                "status": "ATTACHED",
                "details": [{"name": "privateIPv4Address", "value": "198.18.0.9"}],
            }
        ],
    }


def instance(store: SqlStore, arn: str) -> dict[str, Any] | None:
    with store.read() as tx:
        found = tx.get(INSTANCE, instance_key(arn, "t1"))
    return None if found is None else dict(found.body)


def sync(store: SqlStore, body: dict[str, Any]) -> dict[str, Any]:
    with store.transaction() as tx:
        return sync_task(tx, body, 1.0)


def test_a_task_is_registered_while_activating_healthy_once_its_checks_pass_and_gone_on_stop(
    store: SqlStore,
) -> None:
    arn = cloud_map_service(store, ["A"], health_check_custom_config={"FailureThreshold": 1})
    ecs_service(store, [{"registryArn": arn}])
    activating = sync(store, task("ACTIVATING"))
    assert activating[REGISTERED] == [arn]
    first = instance(store, arn)
    assert first is not None and first["HealthStatus"] == "UNHEALTHY"
    assert first["Attributes"]["AWS_INSTANCE_IPV4"] == "198.18.0.9"
    assert first["Attributes"]["ECS_TASK_DEFINITION_FAMILY"] == "web"
    assert first["Attributes"]["AVAILABILITY_ZONE"] == "us-west-2a"
    sync(store, task("RUNNING", "UNKNOWN"))  # its health check has not passed yet
    assert (instance(store, arn) or {}).get("HealthStatus") == "UNHEALTHY"
    sync(store, task("RUNNING", "HEALTHY"))
    assert (instance(store, arn) or {}).get("HealthStatus") == "HEALTHY"
    stopping = sync(store, {**task("RUNNING", "HEALTHY", desired="STOPPED"), REGISTERED: [arn]})
    assert REGISTERED not in stopping
    assert instance(store, arn) is None


def test_a_registration_cloud_map_refuses_leaves_the_task_running_unregistered(
    store: SqlStore,
) -> None:
    arn = cloud_map_service(store, ["SRV"])  # SRV needs AWS_INSTANCE_PORT; the entry gives none
    ecs_service(store, [{"registryArn": arn}])
    running = sync(store, task("RUNNING", "HEALTHY"))
    assert REGISTERED not in running
    assert running["lastStatus"] == "RUNNING"
    assert instance(store, arn) is None
