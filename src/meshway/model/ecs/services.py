"""ECS services as DescribeServices shows them: ARNs and references, deployment configuration
with ECS's defaults, deployments (`ecs-svc/<digits>`), service events in ECS's wording, and the
view with counts computed from the service's tasks.

A service record's body is the wire form plus Meshway's own `_` fields (never on the wire):
`_tasks` maps every task the scheduler started and has not yet seen STOPPED to its deployment
id, `_failures` counts consecutive tasks that stopped before reaching RUNNING, `_retryAt` is when
the scheduler may start tasks again after throttling, `_steady` says the steady-state event was
written for the current steady stretch. Neighbours: `meshway.model.ecs.rollout` decides what the
scheduler does next; `meshway.service.ecs.services` stores and serves these records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshway.core import arns
from meshway.model.ecs.arns import Scope, is_name
from meshway.model.ecs.tasks import HealthStatus, StopCode, TaskStatus

MAX_EVENTS = 100  # DescribeServices shows the 100 most recent events
REPLICA, DAEMON = "REPLICA", "DAEMON"
ACTIVE, DRAINING, INACTIVE = "ACTIVE", "DRAINING", "INACTIVE"
PRIMARY = "PRIMARY"
# How a deployment's tasks are launched; a change to any of them is a new deployment.
LAUNCH_KEYS = ("launchType", "platformVersion", "capacityProviderStrategy", "networkConfiguration")
IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
_PENDING = frozenset({TaskStatus.PROVISIONING, TaskStatus.PENDING, TaskStatus.ACTIVATING})


def service_arn(scope: Scope, cluster: str, name: str) -> str:
    return scope.arn(f"service/{cluster}/{name}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRef:
    name: str
    cluster: str | None  # the cluster name an ARN names; None for a bare name or short ARN


def parse_service_ref(text: str) -> ServiceRef | None:
    """A service name, or its ARN in the long (`service/CLUSTER/NAME`) or short form."""
    parsed = arns.parse(text)
    if parsed is None:
        return ServiceRef(name=text, cluster=None) if is_name(text) else None
    parts = parsed.resource.split("/")
    if parsed.service != "ecs" or parts[0] != "service" or len(parts) not in (2, 3):
        return None
    if not all(is_name(part) for part in parts[1:]):
        return None
    return ServiceRef(name=parts[-1], cluster=parts[1] if len(parts) == 3 else None)


# -- deployment configuration -------------------------------------------------------------


def default_percents(strategy: str) -> tuple[int, int]:
    """(minimumHealthyPercent, maximumPercent) when not given: 100/200 for REPLICA, 0/100 for
    DAEMON (the model's DeploymentConfiguration doc)."""
    return (0, 100) if strategy == DAEMON else (100, 200)


def deployment_configuration(
    given: Mapping[str, Any] | None,
    strategy: str,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored configuration: `given` over `current` over ECS's defaults."""
    low, high = default_percents(strategy)
    out: dict[str, Any] = {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": high,
        "minimumHealthyPercent": low,
    }
    out.update(current or {})
    out.update({k: v for k, v in (given or {}).items() if v is not None})
    return out


def percent_problem(config: Mapping[str, Any]) -> str | None:
    """Why the percents cannot work, or None (wording unverified)."""
    low, high = int(config["minimumHealthyPercent"]), int(config["maximumPercent"])
    if low < 0 or high < 0:
        return "minimumHealthyPercent and maximumPercent must not be negative."
    if high < low:
        return "maximumPercent must be greater than or equal to minimumHealthyPercent."
    return None


def bounds(desired: int, config: Mapping[str, Any]) -> tuple[int, int]:
    """(tasks that must stay healthy, tasks that may be RUNNING or PENDING) for `desired`:
    the minimum rounds up, the maximum down (the model's DeploymentConfiguration doc)."""
    low = math.ceil(desired * int(config["minimumHealthyPercent"]) / 100)
    high = math.floor(desired * int(config["maximumPercent"]) / 100)
    return low, high


def breaker_threshold(desired: int) -> int:
    """Failed tasks that fail a deployment: half the desired count, at least 3 and at most 200
    (the API reference's DeploymentCircuitBreaker, default BOUNDED_PERCENT 50)."""
    return min(max(math.ceil(desired * 0.5), 3), 200)


# -- deployments and events ---------------------------------------------------------------


def deployment_id(digits: str) -> str:
    return f"ecs-svc/{digits}"


def new_deployment(
    *,
    deployment: str,
    task_definition: str,
    desired: int,
    launch: Mapping[str, Any],
    now: float,
) -> dict[str, Any]:
    """A PRIMARY deployment, IN_PROGRESS; `launch` holds launchType, platformVersion,
    capacityProviderStrategy and networkConfiguration as the service has them."""
    out: dict[str, Any] = {
        "id": deployment,
        "status": PRIMARY,
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "rolloutState": IN_PROGRESS,
        "rolloutStateReason": f"ECS deployment {deployment} in progress.",
    }
    out.update({k: v for k, v in launch.items() if v})
    return out


def new_event(event_id: str, now: float, message: str) -> dict[str, Any]:
    return {"id": event_id, "createdAt": now, "message": message}


def with_events(body: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The service's events with `events` (oldest first) added; newest first, as ECS shows."""
    return [*reversed(events), *body.get("events", [])][:MAX_EVENTS]


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def started_message(service: str, task_arns: Sequence[str]) -> str:
    listed = " ".join(f"(task {task_id(arn)})" for arn in task_arns)
    return f"(service {service}) has started {len(task_arns)} tasks: {listed}."


def stopped_message(service: str, task_arns: Sequence[str]) -> str:
    listed = " ".join(f"(task {task_id(arn)})" for arn in task_arns)
    return f"(service {service}) has stopped {len(task_arns)} running tasks: {listed}."


def steady_message(service: str) -> str:
    return f"(service {service}) has reached a steady state."


def completed_message(service: str, deployment: str) -> str:
    return f"(service {service}) (deployment {deployment}) deployment completed."


def failed_message(service: str, deployment: str) -> str:
    return (
        f"(service {service}) (deployment {deployment}) deployment failed: tasks failed to start."
    )


def unhealthy_message(service: str, task_arn: str) -> str:
    return f"(service {service}) (task {task_id(task_arn)}) failed container health checks."


def throttled_message(service: str) -> str:
    return f"(service {service}) is unable to consistently start tasks successfully."


def blocked_message(service: str) -> str:
    return (
        f"(service {service}) was unable to stop or start tasks during a deployment because of "
        "the service deployment configuration. Update the minimumHealthyPercent or "
        "maximumPercent value and try again."
    )


def scaling_reason(deployment: str) -> str:
    return f"Scaling activity initiated by (deployment {deployment})"


UNHEALTHY_REASON = "Task failed container health checks"


# -- tasks as the scheduler sees them -----------------------------------------------------

# Stops that say nothing about whether the task could start.
DELIBERATE_STOPS = frozenset({StopCode.SERVICE_SCHEDULER_INITIATED, StopCode.USER_INITIATED})


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskView:
    """What the scheduler needs to know of one of a service's tasks."""

    arn: str
    deployment: str
    last_status: TaskStatus
    wanted: bool  # desiredStatus RUNNING
    health: HealthStatus
    checked: bool  # some essential container has a health check
    started_at: float | None  # reached RUNNING
    created_at: float
    stop_code: str | None

    @property
    def stopped(self) -> bool:
        return self.last_status == TaskStatus.STOPPED

    @property
    def running(self) -> bool:
        return self.last_status == TaskStatus.RUNNING

    @property
    def pending(self) -> bool:
        return self.wanted and self.last_status in _PENDING

    @property
    def failed_to_start(self) -> bool:
        """Stopping or stopped before it ever ran, not on purpose."""
        return (
            not self.wanted and self.started_at is None and self.stop_code not in DELIBERATE_STOPS
        )

    @property
    def holds_slot(self) -> bool:
        """Counts as one of the service's tasks: wanted, or failing to start and not yet
        STOPPED (so that it is counted as a failure before it is replaced)."""
        return self.wanted or (self.failed_to_start and not self.stopped)

    @property
    def healthy(self) -> bool:
        """Counts toward minimumHealthyPercent: RUNNING and its essential health checks pass
        (a task without essential health checks counts once RUNNING)."""
        ok = self.health == HealthStatus.HEALTHY if self.checked else True
        return self.wanted and self.running and ok


def task_view(body: Mapping[str, Any], deployment: str) -> TaskView:
    checked = any(c.get("_essential") and c.get("_healthCheck") for c in body["containers"])
    return TaskView(
        arn=str(body["taskArn"]),
        deployment=deployment,
        last_status=TaskStatus(body["lastStatus"]),
        wanted=body["desiredStatus"] == "RUNNING",
        health=HealthStatus(body.get("healthStatus", HealthStatus.UNKNOWN)),
        checked=checked,
        started_at=body.get("startedAt"),
        created_at=float(body["createdAt"]),
        stop_code=body.get("stopCode"),
    )


# -- the view -----------------------------------------------------------------------------


def _counts(tasks: Iterable[TaskView]) -> tuple[int, int]:
    running = pending = 0
    for task in tasks:
        running += task.running
        pending += task.pending
    return running, pending


def service_view(
    body: Mapping[str, Any], tasks: Sequence[TaskView], *, tags: bool
) -> dict[str, Any]:
    """The service as Describe shows it: running/pending counts from its tasks, per deployment
    too; an older deployment's desiredCount is the tasks it still has."""
    out = {k: v for k, v in body.items() if not k.startswith("_")}
    out["runningCount"], out["pendingCount"] = _counts(tasks)
    deployments = []
    for deployment in body.get("deployments", []):
        mine = [t for t in tasks if t.deployment == deployment["id"]]
        view = dict(deployment)
        view["runningCount"], view["pendingCount"] = _counts(mine)
        if deployment["status"] != PRIMARY:
            view["desiredCount"] = sum(t.wanted for t in mine)
        deployments.append(view)
    out["deployments"] = deployments
    if not tags:
        out.pop("tags", None)
    return out
