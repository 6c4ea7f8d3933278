"""The registry API the ECS integration calls inside its own transaction, on a real SQLite
store: upsert, quota, health, deregistration and the revision they move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshway.core.clock import FixedClock
from meshway.core.context import RequestContext
from meshway.core.errors import InvalidInput, ResourceLimitExceeded, ServiceNotFound
from meshway.core.ids import SequentialIds
from meshway.model.servicediscovery.records import INSTANCE, instance_key
from meshway.service.servicediscovery import CloudMapService, registry
from meshway.store.sql import SqlStore, open_store

CTX = RequestContext(account="123456789012", region="us-west-2")
TASK = "arn:aws:ecs:us-west-2:123456789012:task/c/abc"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = open_store(None, tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def cloudmap(store: SqlStore) -> CloudMapService:
    return CloudMapService(store, clock=FixedClock(), ids=SequentialIds())


def _service(cloudmap: CloudMapService, **extra: Any) -> dict[str, Any]:
    created = cloudmap.create_private_dns_namespace(CTX, name="corp.local", vpc="vpc-1")
    operation = cloudmap.get_operation(CTX, created["OperationId"])["Operation"]
    return cloudmap.create_service(
        CTX,
        name="backend",
        namespace_id=operation["Targets"]["NAMESPACE"],
        dns_config={"DnsRecords": [{"Type": "A", "TTL": 10}]},
        **extra,
    )["Service"]


def _register(store: SqlStore, arn: str, task_id: str, health: str | None = None) -> None:
    with store.transaction() as tx:
        registry.register_task_instance(
            tx,
            service_arn=arn,
            instance_id=task_id,
            attributes={"AWS_INSTANCE_IPV4": "10.0.0.1", "ECS_TASK_DEFINITION_FAMILY": "blue"},
            health=health,
            ecs_task_arn=TASK,
            now=1.0,
        )


def _revision(cloudmap: CloudMapService) -> int:
    answer = cloudmap.discover_instances_revision(
        CTX, namespace_name="corp.local", service_name="backend"
    )
    return int(answer["InstancesRevision"])


def test_a_task_registers_once_and_a_resync_writes_nothing(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap, health_check_custom_config={})
    _register(store, service["Arn"], "abc", health="UNHEALTHY")
    revision, feed = _revision(cloudmap), store.revision()
    _register(store, service["Arn"], "abc", health="UNHEALTHY")
    assert (_revision(cloudmap), store.revision()) == (revision, feed)
    with store.read() as tx:
        stored = tx.get(INSTANCE, instance_key(service["Arn"], "abc"))
    assert stored is not None
    assert stored.body["HealthStatus"] == "UNHEALTHY"
    assert stored.body["_ecsTask"] == TASK


def test_health_from_ecs_counts_only_under_a_custom_check(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap)
    _register(store, service["Arn"], "abc", health="UNHEALTHY")
    status = cloudmap.get_instances_health_status(CTX, service_id=service["Id"])["Status"]
    assert status == {"abc": "UNKNOWN"}
    with store.transaction() as tx:
        assert not registry.set_instance_health(tx, service["Arn"], "abc", "UNHEALTHY")


def test_set_instance_health_changes_health_but_not_the_revision(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap, health_check_custom_config={})
    _register(store, service["Arn"], "abc", health="HEALTHY")
    before = _revision(cloudmap)
    with store.transaction() as tx:
        assert registry.set_instance_health(tx, service["Arn"], "abc", "UNHEALTHY")
    status = cloudmap.get_instances_health_status(CTX, service_id=service["Id"])["Status"]
    assert status == {"abc": "UNHEALTHY"}
    assert _revision(cloudmap) == before


def test_deregister_removes_once_and_bumps_the_revision(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap)
    _register(store, service["Arn"], "abc")
    before = _revision(cloudmap)
    with store.transaction() as tx:
        assert registry.deregister_instance(tx, service["Arn"], "abc")
        assert not registry.deregister_instance(tx, service["Arn"], "abc")
    assert _revision(cloudmap) == before + 1


def test_a_missing_service_is_service_not_found_and_find_says_none(store: SqlStore) -> None:
    arn = "arn:aws:servicediscovery:us-west-2:123456789012:service/srv-gone"
    with pytest.raises(ServiceNotFound):
        _register(store, arn, "abc")
    with store.read() as tx:
        assert registry.find_service_by_arn(tx, arn) is None


def test_find_service_by_arn_gives_the_service_document(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap, health_check_custom_config={})
    with store.read() as tx:
        found = registry.find_service_by_arn(tx, service["Arn"])
    assert found is not None
    assert found["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    assert found["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 10}]


def test_attributes_the_records_need_are_checked_for_tasks_too(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap)
    with store.transaction() as tx, pytest.raises(InvalidInput):
        registry.register_task_instance(
            tx,
            service_arn=service["Arn"],
            instance_id="abc",
            attributes={"REGION": "us-west-2"},
            health=None,
            ecs_task_arn=TASK,
            now=1.0,
        )


def test_the_thousand_and_first_instance_is_resource_limit_exceeded(
    store: SqlStore, cloudmap: CloudMapService
) -> None:
    service = _service(cloudmap)
    with store.transaction() as tx:
        for index in range(registry.MAX_INSTANCES_PER_SERVICE):
            registry.register_task_instance(
                tx,
                service_arn=service["Arn"],
                instance_id=f"t{index}",
                attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"},
                health=None,
                ecs_task_arn=TASK,
                now=1.0,
            )
    with pytest.raises(ResourceLimitExceeded):
        _register(store, service["Arn"], "one-more")
