"""Runtime reports folded into task records: forward-only statuses, timestamps, health."""

from __future__ import annotations

from typing import Any

import pytest

from meshway.model.ecs.lifecycle import apply_report
from meshway.model.ecs.taskdef import Registration, described_task_definition
from meshway.model.ecs.tasks import (
    ContainerReport,
    ContainerStatus,
    HealthStatus,
    NetworkReport,
    NewTask,
    StopCode,
    TaskReport,
    TaskStateError,
    TaskStatus,
    new_task,
    request_stop,
)
from tests.unit.model.ecs.cases import seed

ARN = "arn:aws:ecs:us-west-2:1:task/default/t1"


def make_task(networked: bool = True) -> dict[str, Any]:
    definition = seed()
    if not networked:
        del definition["proxyConfiguration"]
        definition["networkMode"] = "bridge"
    described = described_task_definition(
        definition,
        Registration(
            arn="arn:aws:ecs:us-west-2:1:task-definition/appmesh-gateway:1",
            revision=1,
            registered_at=1.0,
            registered_by="x",
        ),
    )
    return new_task(
        NewTask(
            task_arn=ARN,
            cluster_arn="arn:aws:ecs:us-west-2:1:cluster/default",
            task_definition=described,
            container_arns=["c1", "c2"],
            container_instance_arn="ci",
            overrides={},
            launch_type="EC2",
            group="family:appmesh-gateway",
            started_by=None,
            tags=[],
            subnets=["subnet-1"],
            attachment_id="att-1",
            availability_zone="us-west-2a",
            enable_execute_command=False,
            created_at=10.0,
        )
    )


def test_a_new_awsvpc_task_waits_in_provisioning_with_pending_containers() -> None:
    task = make_task()
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"
    assert task["healthStatus"] == "UNKNOWN"
    assert [c["lastStatus"] for c in task["containers"]] == ["PENDING", "PENDING"]
    assert task["attachments"][0]["status"] == "PRECREATED"
    assert task["overrides"]["containerOverrides"] == [{"name": "app"}, {"name": "envoy"}]


def test_a_new_bridge_task_starts_pending_without_an_eni() -> None:
    task = make_task(networked=False)
    assert task["lastStatus"] == "PENDING"
    assert task["attachments"] == []


def test_the_network_report_shows_the_address_on_the_eni_and_every_container() -> None:
    task = apply_report(
        make_task(),
        TaskReport(
            network=NetworkReport(
                private_ipv4_address="198.18.0.5",
                mac_address="02:00:00:00:00:05",
                interface_id="eni-1",
            )
        ),
        11.0,
    )
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["privateIPv4Address"] == "198.18.0.5"
    assert details["subnetId"] == "subnet-1"
    assert task["attachments"][0]["status"] == "ATTACHED"
    assert task["containers"][0]["networkInterfaces"] == [
        {"attachmentId": "att-1", "privateIpv4Address": "198.18.0.5"}
    ]
    assert task["version"] == 2


def test_running_sets_started_at_and_connectivity_once() -> None:
    task = apply_report(make_task(), TaskReport(last_status=TaskStatus.PENDING), 11.0)
    task = apply_report(task, TaskReport(last_status=TaskStatus.RUNNING), 12.0)
    again = apply_report(task, TaskReport(last_status=TaskStatus.RUNNING), 13.0)
    assert (task["connectivityAt"], task["startedAt"]) == (11.0, 12.0)
    assert again == task  # nothing changed, not even the version


def test_statuses_never_move_backwards() -> None:
    task = apply_report(make_task(), TaskReport(last_status=TaskStatus.RUNNING), 11.0)
    with pytest.raises(TaskStateError):
        apply_report(task, TaskReport(last_status=TaskStatus.PENDING), 12.0)
    running = apply_report(
        task,
        TaskReport(containers=(ContainerReport(name="app", last_status=ContainerStatus.RUNNING),)),
        12.0,
    )
    with pytest.raises(TaskStateError):
        apply_report(
            running,
            TaskReport(
                containers=(ContainerReport(name="app", last_status=ContainerStatus.PENDING),)
            ),
            13.0,
        )


def test_a_task_goes_past_running_only_once_asked_to_stop() -> None:
    task = apply_report(make_task(), TaskReport(last_status=TaskStatus.RUNNING), 11.0)
    with pytest.raises(TaskStateError):
        apply_report(task, TaskReport(last_status=TaskStatus.STOPPING), 12.0)


def test_unknown_containers_are_refused() -> None:
    with pytest.raises(TaskStateError):
        apply_report(make_task(), TaskReport(containers=(ContainerReport(name="nope"),)), 11.0)


def test_task_health_follows_essential_containers_with_health_checks() -> None:
    task = make_task()  # app has no health check; envoy has one
    healthy = apply_report(
        task,
        TaskReport(containers=(ContainerReport(name="envoy", health_status=HealthStatus.HEALTHY),)),
        11.0,
    )
    assert healthy["healthStatus"] == "HEALTHY"
    sick = apply_report(
        healthy,
        TaskReport(
            containers=(ContainerReport(name="envoy", health_status=HealthStatus.UNHEALTHY),)
        ),
        12.0,
    )
    assert sick["healthStatus"] == "UNHEALTHY"


def test_an_essential_exit_stops_the_task_with_its_code_and_all_timestamps() -> None:
    task = apply_report(make_task(), TaskReport(last_status=TaskStatus.RUNNING), 11.0)
    task = apply_report(
        task,
        TaskReport(
            stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
            stopped_reason="Essential container in task exited",
            containers=(
                ContainerReport(name="app", last_status=ContainerStatus.STOPPED, exit_code=1),
            ),
            last_status=TaskStatus.DEACTIVATING,
        ),
        12.0,
    )
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppingAt"] == 12.0
    task = apply_report(task, TaskReport(last_status=TaskStatus.STOPPED), 14.0)
    assert task["lastStatus"] == "STOPPED"
    assert (task["executionStoppedAt"], task["stoppedAt"]) == (14.0, 14.0)
    assert [c["lastStatus"] for c in task["containers"]] == ["STOPPED", "STOPPED"]
    assert task["containers"][0]["exitCode"] == 1
    assert task["attachments"][0]["status"] == "DELETED"


def test_the_first_stop_reason_is_kept() -> None:
    task = request_stop(make_task(), StopCode.USER_INITIATED, "maintenance", 11.0)
    task = apply_report(
        task,
        TaskReport(
            stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
            stopped_reason="Essential container in task exited",
        ),
        12.0,
    )
    assert (task["stopCode"], task["stoppedReason"]) == ("UserInitiated", "maintenance")
