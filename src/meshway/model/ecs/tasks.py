"""Task records as DescribeTasks shows them, and the pure state machine the runtime drives.

`new_task` builds the record RunTask/StartTask store (lastStatus PROVISIONING for awsvpc, else
PENDING; containers PENDING; health UNKNOWN). `apply_report` folds one runtime report into a
record: statuses only move forward along AWS's lifecycle (reference/ecs.md §3.1), timestamps are
set the first time a status is reached, task health is derived from the essential containers
that have health checks (§3.4), and `version` goes up on every change.
Fields starting with `_` are Meshway's own; the output shape never lets them reach the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    PENDING = "PENDING"
    ACTIVATING = "ACTIVATING"
    RUNNING = "RUNNING"
    DEACTIVATING = "DEACTIVATING"
    STOPPING = "STOPPING"
    DEPROVISIONING = "DEPROVISIONING"
    STOPPED = "STOPPED"

    @property
    def rank(self) -> int:
        return list(TaskStatus).index(self)


class ContainerStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    UNKNOWN = "UNKNOWN"


class StopCode(StrEnum):
    TASK_FAILED_TO_START = "TaskFailedToStart"
    ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
    USER_INITIATED = "UserInitiated"
    SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"


class TaskStateError(ValueError):
    """A runtime report that would break the lifecycle (a bug in the runtime, not a user error)."""


ENI_ATTACHMENT = "ElasticNetworkInterface"


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkReport:
    """The task's interface once the runtime has made it."""

    private_ipv4_address: str
    interface_id: str = ""
    mac_address: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerReport:
    name: str
    last_status: ContainerStatus | None = None
    health_status: HealthStatus | None = None
    exit_code: int | None = None
    reason: str | None = None
    runtime_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskReport:
    """What changed in one task; None/empty fields leave the record as it is.
    `stop_code` asks for the task to stop (the runtime's own decision, e.g. an essential
    container exited); the user's StopTask reason, if there was one, is kept."""

    last_status: TaskStatus | None = None
    containers: tuple[ContainerReport, ...] = ()
    network: NetworkReport | None = None
    stop_code: StopCode | None = None
    stopped_reason: str | None = None
    pull_started: bool = False
    pull_stopped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTask:
    task_arn: str
    cluster_arn: str
    task_definition: Mapping[str, Any]
    container_arns: Sequence[str]
    container_instance_arn: str | None  # None on FARGATE, which has no container instances
    overrides: Mapping[str, Any]
    launch_type: str
    group: str
    started_by: str | None
    tags: Sequence[Mapping[str, str]]
    subnets: Sequence[str]
    attachment_id: str
    availability_zone: str
    enable_execute_command: bool
    created_at: float
    extra: Mapping[str, Any] = field(default_factory=dict)


def new_task(spec: NewTask) -> dict[str, Any]:
    definition = spec.task_definition
    awsvpc = definition.get("networkMode") == "awsvpc"
    overrides = {o["name"]: o for o in spec.overrides.get("containerOverrides") or ()}
    task: dict[str, Any] = {
        "taskArn": spec.task_arn,
        "clusterArn": spec.cluster_arn,
        "taskDefinitionArn": definition["taskDefinitionArn"],
        "overrides": _task_overrides(spec.overrides, definition),
        "lastStatus": TaskStatus.PROVISIONING if awsvpc else TaskStatus.PENDING,
        "desiredStatus": "RUNNING",
        "healthStatus": HealthStatus.UNKNOWN,
        "launchType": spec.launch_type,
        "group": spec.group,
        "createdAt": spec.created_at,
        "version": 1,
        "availabilityZone": spec.availability_zone,
        "enableExecuteCommand": spec.enable_execute_command,
        "tags": list(spec.tags),
        "attachments": [_eni_attachment(spec)] if awsvpc else [],
        "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
        "containers": [
            _new_container(c, arn, spec, overrides.get(c["name"], {}))
            for c, arn in zip(definition["containerDefinitions"], spec.container_arns, strict=True)
        ],
        **spec.extra,
    }
    for key in ("cpu", "memory"):
        value = spec.overrides.get(key) or definition.get(key)
        if value is not None:
            task[key] = str(value)
    if spec.started_by is not None:
        task["startedBy"] = spec.started_by
    if spec.container_instance_arn is not None:
        task["containerInstanceArn"] = spec.container_instance_arn
    return task


def _task_overrides(overrides: Mapping[str, Any], definition: Mapping[str, Any]) -> dict[str, Any]:
    given = {o["name"]: o for o in overrides.get("containerOverrides") or ()}
    out = {k: v for k, v in overrides.items() if k != "containerOverrides"}
    out["containerOverrides"] = [
        given.get(c["name"], {"name": c["name"]}) for c in definition["containerDefinitions"]
    ]
    out.setdefault("inferenceAcceleratorOverrides", [])
    return out


def _eni_attachment(spec: NewTask) -> dict[str, Any]:
    details = [{"name": "subnetId", "value": subnet} for subnet in spec.subnets[:1]]
    return {
        "id": spec.attachment_id,
        "type": ENI_ATTACHMENT,
        "status": "PRECREATED",
        "details": details,
    }


def _new_container(
    definition: Mapping[str, Any], arn: str, spec: NewTask, override: Mapping[str, Any]
) -> dict[str, Any]:
    """A PENDING container; cpu and memory as the task will run it (overrides win)."""
    sizes = {k: override.get(k, definition.get(k)) for k in ("cpu", "memory", "memoryReservation")}
    container: dict[str, Any] = {
        "containerArn": arn,
        "taskArn": spec.task_arn,
        "name": definition["name"],
        "image": definition["image"],
        "lastStatus": ContainerStatus.PENDING,
        "networkInterfaces": [],
        "networkBindings": [],
        "healthStatus": HealthStatus.UNKNOWN,
        "cpu": str(sizes["cpu"] or 0),
        "_essential": definition.get("essential", True) is not False,
        "_healthCheck": bool(definition.get("healthCheck")),
    }
    for key in ("memory", "memoryReservation"):
        if sizes[key] is not None:
            container[key] = str(sizes[key])
    return container


def task_health(containers: Sequence[Mapping[str, Any]]) -> HealthStatus:
    checked = [
        c["healthStatus"] for c in containers if c.get("_essential") and c.get("_healthCheck")
    ]
    if HealthStatus.UNHEALTHY in checked:
        return HealthStatus.UNHEALTHY
    if checked and all(status == HealthStatus.HEALTHY for status in checked):
        return HealthStatus.HEALTHY
    return HealthStatus.UNKNOWN


def request_stop(
    task: Mapping[str, Any], code: StopCode, reason: str, now: float
) -> dict[str, Any]:
    """desiredStatus STOPPED with why; the first stop's code and reason are the ones kept."""
    out = dict(task)
    if out.get("desiredStatus") == "STOPPED":
        return out
    out.update(desiredStatus="STOPPED", stopCode=code, stoppedReason=reason, stoppingAt=now)
    out["version"] = int(out["version"]) + 1
    return out


def task_address(task: Mapping[str, Any]) -> str | None:
    """The task's private IPv4 address from its ENI attachment (stored or DescribeTasks form);
    None before the network exists or once the attachment is DELETED."""
    for attachment in task.get("attachments") or ():
        if attachment.get("type") == ENI_ATTACHMENT and attachment.get("status") != "DELETED":
            details = {d["name"]: d["value"] for d in attachment.get("details") or ()}
            if details.get("privateIPv4Address"):
                return str(details["privateIPv4Address"])
    return None
