"""`apply_report`: one runtime report folded into a task record, keeping AWS's lifecycle rules.

- lastStatus moves forward only (PROVISIONING → … → STOPPED; steps may be skipped), and past
  RUNNING only once desiredStatus is STOPPED (by StopTask or by a report's stop_code).
- containers move PENDING → RUNNING → STOPPED, never back; an exit code is kept once known.
- timestamps are set the first time their status is reached: connectivityAt (left PROVISIONING),
  startedAt (RUNNING), stoppingAt, executionStoppedAt (DEPROVISIONING), stoppedAt (STOPPED).
- at STOPPED every container is STOPPED and the ENI attachment is DELETED.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshway.model.ecs.tasks import (
    ENI_ATTACHMENT,
    ContainerReport,
    ContainerStatus,
    NetworkReport,
    TaskReport,
    TaskStateError,
    TaskStatus,
    request_stop,
    task_health,
)

_CONTAINER_ORDER = list(ContainerStatus)


def apply_report(task: Mapping[str, Any], report: TaskReport, now: float) -> dict[str, Any]:
    """The record after `report`; the same content (and version) when nothing changed."""
    before = task
    out: dict[str, Any] = dict(task)
    out["containers"] = [dict(c) for c in task["containers"]]
    if report.stop_code is not None:
        out = request_stop(out, report.stop_code, report.stopped_reason or "", now)
    if report.network is not None:
        _apply_network(out, report.network)
    for container in report.containers:
        _apply_container(out, container)
    if report.pull_started:
        out.setdefault("pullStartedAt", now)
    if report.pull_stopped:
        out.setdefault("pullStoppedAt", now)
    if report.last_status is not None:
        _apply_status(out, report.last_status, now)
    out["healthStatus"] = task_health(out["containers"])
    if out != dict(before) and out["version"] == before["version"]:
        out["version"] = int(before["version"]) + 1
    return out


def _apply_status(task: dict[str, Any], status: TaskStatus, now: float) -> None:
    current = TaskStatus(task["lastStatus"])
    if status.rank < current.rank:
        raise TaskStateError(f"task {task['taskArn']} cannot go from {current} back to {status}")
    if status.rank > TaskStatus.RUNNING.rank and task["desiredStatus"] != "STOPPED":
        raise TaskStateError(f"task {task['taskArn']} cannot reach {status} without a stop")
    if status == current:
        return
    task["lastStatus"] = status
    if current == TaskStatus.PROVISIONING:
        task.setdefault("connectivity", "CONNECTED")
        task.setdefault("connectivityAt", now)
    if status == TaskStatus.RUNNING:
        task.setdefault("startedAt", now)
    if status.rank >= TaskStatus.DEACTIVATING.rank:
        task.setdefault("stoppingAt", now)
    if status.rank >= TaskStatus.DEPROVISIONING.rank:
        task.setdefault("executionStoppedAt", now)
    if status == TaskStatus.STOPPED:
        _finish(task, now)


def _finish(task: dict[str, Any], now: float) -> None:
    task["stoppedAt"] = now
    task["desiredStatus"] = "STOPPED"
    for container in task["containers"]:
        container["lastStatus"] = ContainerStatus.STOPPED
    task["attachments"] = [
        {**a, "status": "DELETED"} if a.get("type") == ENI_ATTACHMENT else a
        for a in task.get("attachments", [])
    ]


def _apply_container(task: dict[str, Any], report: ContainerReport) -> None:
    container = next((c for c in task["containers"] if c["name"] == report.name), None)
    if container is None:
        raise TaskStateError(f"task {task['taskArn']} has no container {report.name!r}")
    if report.last_status is not None:
        current = ContainerStatus(container["lastStatus"])
        if _CONTAINER_ORDER.index(report.last_status) < _CONTAINER_ORDER.index(current):
            raise TaskStateError(
                f"container {report.name!r} cannot go from {current} back to {report.last_status}"
            )
        container["lastStatus"] = report.last_status
    if report.health_status is not None:
        container["healthStatus"] = report.health_status
    if report.exit_code is not None:
        container["exitCode"] = report.exit_code
    if report.reason is not None:
        container["reason"] = report.reason
    if report.runtime_id is not None:
        container["runtimeId"] = report.runtime_id


def _apply_network(task: dict[str, Any], network: NetworkReport) -> None:
    attachments = [dict(a) for a in task.get("attachments", [])]
    eni = next((a for a in attachments if a.get("type") == ENI_ATTACHMENT), None)
    if eni is None:
        raise TaskStateError(f"task {task['taskArn']} has no network interface attachment")
    details = {d["name"]: d["value"] for d in eni.get("details", [])}
    details["privateIPv4Address"] = network.private_ipv4_address
    if network.interface_id:
        details["networkInterfaceId"] = network.interface_id
    if network.mac_address:
        details["macAddress"] = network.mac_address
    eni["details"] = [{"name": k, "value": v} for k, v in details.items()]
    eni["status"] = "ATTACHED"
    task["attachments"] = attachments
    interface = {"attachmentId": eni["id"], "privateIpv4Address": network.private_ipv4_address}
    for container in task["containers"]:
        container["networkInterfaces"] = [interface]
