"""The interface the task runtime drives tasks through: claim, report, find its own tasks."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import xform_name

from meshway.core.clock import FixedClock
from meshway.core.context import RequestContext
from meshway.model.ecs.tasks import (
    ContainerReport,
    ContainerStatus,
    HealthStatus,
    NetworkReport,
    StopCode,
    TaskReport,
    TaskStateError,
    TaskStatus,
)
from meshway.service.ecs import EcsService
from meshway.service.ecs.base import TASK
from meshway.store.sql import SqlStore
from tests.unit.model.ecs.cases import seed

NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


def run(ecs: EcsService, ctx: RequestContext, count: int = 1) -> list[str]:
    ecs.register_task_definition(ctx, **{xform_name(k): v for k, v in seed().items()})
    out = ecs.run_task(
        ctx, task_definition="appmesh-gateway", count=count, network_configuration=NETWORK
    )
    return [t["taskArn"] for t in out["tasks"]]


def describe(ecs: EcsService, ctx: RequestContext, arn: str) -> dict[str, Any]:
    return ecs.describe_tasks(ctx, tasks=[arn])["tasks"][0]


def test_a_run_task_waits_in_provisioning_until_a_runtime_claims_it(
    ecs: EcsService, ctx: RequestContext
) -> None:
    [arn] = run(ecs, ctx)
    assert describe(ecs, ctx, arn)["lastStatus"] == "PROVISIONING"
    claimed = ecs.claim_pending_tasks("rt-1")
    assert [c.task_arn for c in claimed] == [arn]
    assert claimed[0].task_definition["family"] == "appmesh-gateway"
    assert claimed[0].task["overrides"]["containerOverrides"][0] == {"name": "app"}


def test_a_task_is_claimed_by_one_runtime_only(ecs: EcsService, ctx: RequestContext) -> None:
    arns = run(ecs, ctx, count=3)
    first = ecs.claim_pending_tasks("rt-1", limit=2)
    second = ecs.claim_pending_tasks("rt-2")
    assert [c.task_arn for c in first] == arns[:2]
    assert [c.task_arn for c in second] == arns[2:]
    assert ecs.claim_pending_tasks("rt-3") == []


def test_reports_drive_describe_tasks_through_the_lifecycle(
    ecs: EcsService, ctx: RequestContext, clock: FixedClock
) -> None:
    [arn] = run(ecs, ctx)
    ecs.claim_pending_tasks("rt-1")
    clock.advance(1)
    ecs.report_task_state(
        arn,
        TaskReport(
            last_status=TaskStatus.PENDING, network=NetworkReport(private_ipv4_address="198.18.0.7")
        ),
        runtime_id="rt-1",
    )
    clock.advance(1)
    ecs.report_task_state(
        arn,
        TaskReport(
            last_status=TaskStatus.RUNNING,
            containers=(
                ContainerReport(
                    name="envoy",
                    last_status=ContainerStatus.RUNNING,
                    health_status=HealthStatus.HEALTHY,
                    runtime_id="4242",
                ),
                ContainerReport(name="app", last_status=ContainerStatus.RUNNING),
            ),
        ),
        runtime_id="rt-1",
    )
    task = describe(ecs, ctx, arn)
    assert task["lastStatus"] == "RUNNING"
    assert task["healthStatus"] == "HEALTHY"
    assert task["startedAt"] == 1_700_000_002.0
    assert task["version"] == 3
    assert task["containers"][1]["runtimeId"] == "4242"
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["privateIPv4Address"] == "198.18.0.7"
    cluster = ecs.describe_clusters(ctx)["clusters"][0]
    assert (cluster["runningTasksCount"], cluster["pendingTasksCount"]) == (1, 0)


def test_stop_task_on_a_claimed_task_leaves_the_teardown_to_the_runtime(
    ecs: EcsService, ctx: RequestContext
) -> None:
    [arn] = run(ecs, ctx)
    ecs.claim_pending_tasks("rt-1")
    ecs.report_task_state(arn, TaskReport(last_status=TaskStatus.RUNNING), runtime_id="rt-1")
    stopped = ecs.stop_task(ctx, task=arn, reason="maintenance")["task"]
    assert (stopped["lastStatus"], stopped["desiredStatus"]) == ("RUNNING", "STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "maintenance")
    [mine] = ecs.claimed_tasks("rt-1")
    assert mine.task["desiredStatus"] == "STOPPED"
    ecs.report_task_state(arn, TaskReport(last_status=TaskStatus.STOPPED), runtime_id="rt-1")
    assert describe(ecs, ctx, arn)["lastStatus"] == "STOPPED"
    assert ecs.claimed_tasks("rt-1") == []


def test_stop_task_on_an_unclaimed_task_stops_it_at_once(
    ecs: EcsService, ctx: RequestContext
) -> None:
    [arn] = run(ecs, ctx)
    stopped = ecs.stop_task(ctx, task=arn)["task"]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == "Task stopped by user"
    assert "startedAt" not in stopped
    assert ecs.claim_pending_tasks("rt-1") == []


def test_a_runtime_cannot_report_on_tasks_it_did_not_claim(
    ecs: EcsService, ctx: RequestContext
) -> None:
    [arn] = run(ecs, ctx)
    with pytest.raises(TaskStateError):
        ecs.report_task_state(arn, TaskReport(last_status=TaskStatus.PENDING), runtime_id="rt-1")
    ecs.claim_pending_tasks("rt-1")
    with pytest.raises(TaskStateError):
        ecs.report_task_state(arn, TaskReport(last_status=TaskStatus.PENDING), runtime_id="rt-2")


def test_a_bad_report_changes_nothing(ecs: EcsService, ctx: RequestContext) -> None:
    [arn] = run(ecs, ctx)
    ecs.claim_pending_tasks("rt-1")
    before = describe(ecs, ctx, arn)
    with pytest.raises(TaskStateError):
        ecs.report_task_state(
            arn,
            TaskReport(
                network=NetworkReport(private_ipv4_address="198.18.0.9"),
                containers=(ContainerReport(name="nope"),),
            ),
            runtime_id="rt-1",
        )
    assert describe(ecs, ctx, arn) == before


def test_a_runtime_stop_records_why(ecs: EcsService, ctx: RequestContext) -> None:
    [arn] = run(ecs, ctx)
    ecs.claim_pending_tasks("rt-1")
    task = ecs.report_task_state(
        arn,
        TaskReport(
            stop_code=StopCode.TASK_FAILED_TO_START,
            stopped_reason="CannotPullContainerError: application_image not in the image catalog",
            last_status=TaskStatus.STOPPED,
        ),
        runtime_id="rt-1",
    )
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["lastStatus"] == "STOPPED"
    assert describe(ecs, ctx, arn)["stoppedReason"].startswith("CannotPullContainerError")


def test_task_records_are_indexed_by_phase_as_they_move(
    ecs: EcsService, ctx: RequestContext, store: SqlStore
) -> None:
    first, second = run(ecs, ctx, count=2)

    def phase(arn: str) -> str:
        with store.read() as tx:
            record = tx.get(TASK, arn)
            assert record is not None
            return record.name

    assert (phase(first), phase(second)) == ("WAITING", "WAITING")
    ecs.claim_pending_tasks("rt-1", limit=1)
    assert (phase(first), phase(second)) == ("RUNNING", "WAITING")
    ecs.stop_task(ctx, task=first)
    ecs.stop_task(ctx, task=second)
    assert (phase(first), phase(second)) == ("STOPPING", "STOPPED")
    ecs.report_task_state(first, TaskReport(last_status=TaskStatus.STOPPED), runtime_id="rt-1")
    assert phase(first) == "STOPPED"
