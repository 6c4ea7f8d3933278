"""The service scheduler's decisions, pure: given a service record and its tasks, what to start,
what to stop, and how the service record changes (deployments, events, throttling).

One call to `plan_service` is one reconcile step; the scheduler applies the plan and calls again
when anything changes, so each step only does what is safe now:
- tasks that stopped before reaching RUNNING count as failed (deployment `failedTasks`); after
  `THROTTLE_AFTER` in a row the scheduler waits before starting more (doubling, up to
  `THROTTLE_MAX`) and says it is unable to consistently start tasks;
- a task UNHEALTHY past healthCheckGracePeriodSeconds is stopped ("Task failed container health
  checks");
- the PRIMARY deployment grows to desiredCount while RUNNING+PENDING stays within maximumPercent;
  older deployments shrink while the healthy tasks stay at or above minimumHealthyPercent
  (reference/ecs.md §4); an older deployment with no task left is removed;
- the PRIMARY deployment is COMPLETED once it alone runs desiredCount healthy tasks, then the
  service has reached a steady state; a circuit breaker fails it (and rolls back if asked);
- a DRAINING service goes to zero tasks and then INACTIVE.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshway.model.ecs.services import (
    ACTIVE,
    COMPLETED,
    DRAINING,
    FAILED,
    IN_PROGRESS,
    INACTIVE,
    LAUNCH_KEYS,
    PRIMARY,
    UNHEALTHY_REASON,
    TaskView,
    blocked_message,
    bounds,
    breaker_threshold,
    completed_message,
    failed_message,
    new_deployment,
    new_event,
    scaling_reason,
    steady_message,
    stopped_message,
    throttled_message,
    unhealthy_message,
    with_events,
)

THROTTLE_AFTER = 3  # consecutive failed starts before the scheduler slows down
THROTTLE_BASE = 1.0  # seconds of the first wait; doubles with each further failure
THROTTLE_MAX = 60.0  # ECS waits up to minutes; a local runtime gives up waiting sooner


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    service: dict[str, Any]
    launches: tuple[tuple[str, int], ...] = ()  # (deployment id, tasks to start)
    stops: tuple[tuple[str, str], ...] = ()  # (task ARN, stoppedReason)

    @property
    def idle(self) -> bool:
        return not self.launches and not self.stops


@dataclass(slots=True)
class _Step:
    """The plan being made (mutable while one call to `plan_service` runs)."""

    body: dict[str, Any]
    now: float
    new_id: Callable[[], str]
    events: list[dict[str, Any]] = field(default_factory=list)
    stops: dict[str, str] = field(default_factory=dict)
    launches: list[tuple[str, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.body["serviceName"])

    def event(self, message: str) -> None:
        self.events.append(new_event(self.new_id(), self.now, message))

    def stop(self, task: TaskView, reason: str) -> None:
        if task.wanted:  # a task already stopping keeps its own reason
            self.stops.setdefault(task.arn, reason)


def plan_service(
    service: Mapping[str, Any],
    live: Sequence[TaskView],
    finished: Sequence[TaskView],
    *,
    now: float,
    new_id: Callable[[], str],
    new_deployment_id: Callable[[], str],
) -> Plan:
    """One reconcile step for a service that is ACTIVE or DRAINING."""
    step = _Step(body=copy.deepcopy(dict(service)), now=now, new_id=new_id)
    _note_finished(step, finished)
    _note_started(step, live)
    _check_breaker(step, new_deployment_id)
    _stop_unhealthy(step, live)
    _scale(step, live)
    _settle(step, live)
    if step.events:
        step.body["events"] = with_events(step.body, step.events)
    return Plan(service=step.body, launches=tuple(step.launches), stops=tuple(step.stops.items()))


def _deployments(step: _Step) -> list[dict[str, Any]]:
    return step.body.setdefault("deployments", [])  # type: ignore[no-any-return]


def _primary(step: _Step) -> dict[str, Any]:
    return next(d for d in _deployments(step) if d["status"] == PRIMARY)


def _desired(step: _Step) -> int:
    return 0 if step.body["status"] == DRAINING else int(step.body["desiredCount"])


# -- what happened since the last step ----------------------------------------------------


def _note_finished(step: _Step, finished: Sequence[TaskView]) -> None:
    tracked: dict[str, str] = step.body.setdefault("_tasks", {})
    by_id = {d["id"]: d for d in _deployments(step)}
    for task in finished:
        tracked.pop(task.arn, None)
        if not task.failed_to_start:
            continue  # it ran, or was stopped on purpose
        if task.deployment in by_id:
            by_id[task.deployment]["failedTasks"] += 1
            by_id[task.deployment]["updatedAt"] = step.now
        _throttle(step)


def _throttle(step: _Step) -> None:
    failures = int(step.body.get("_failures", 0)) + 1
    step.body["_failures"] = failures
    if failures < THROTTLE_AFTER:
        return
    wait = min(THROTTLE_BASE * 2 ** (failures - THROTTLE_AFTER), THROTTLE_MAX)
    step.body["_retryAt"] = step.now + wait
    if failures == THROTTLE_AFTER:
        step.event(throttled_message(step.name))


def _note_started(step: _Step, live: Sequence[TaskView]) -> None:
    """A task that reached RUNNING ends a run of failed starts."""
    primary = _primary(step)["id"]
    if any(t.started_at is not None and t.deployment == primary for t in live):
        step.body.pop("_failures", None)
        step.body.pop("_retryAt", None)


def _check_breaker(step: _Step, new_deployment_id: Callable[[], str]) -> None:
    config = step.body["deploymentConfiguration"].get("deploymentCircuitBreaker") or {}
    primary = _primary(step)
    if not config.get("enable") or primary["rolloutState"] != IN_PROGRESS:
        return
    if primary["failedTasks"] < breaker_threshold(int(step.body["desiredCount"])):
        return
    primary.update(
        rolloutState=FAILED,
        rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
        updatedAt=step.now,
    )
    step.event(failed_message(step.name, primary["id"]))
    previous = [d for d in _deployments(step) if d["status"] != PRIMARY]
    if config.get("rollback") and previous:
        _roll_back(step, primary, previous[0], new_deployment_id())


def _roll_back(
    step: _Step, failed: dict[str, Any], target: Mapping[str, Any], rollback_id: str
) -> None:
    failed["status"] = ACTIVE
    launch = {k: target.get(k) for k in LAUNCH_KEYS}
    rollback = new_deployment(
        deployment=rollback_id,
        task_definition=target["taskDefinition"],
        desired=int(step.body["desiredCount"]),
        launch=launch,
        now=step.now,
    )
    rollback["rolloutStateReason"] = (
        f"ECS deployment circuit breaker: rolling back to deploymentId {target['id']}."
    )
    step.body["deployments"] = [rollback, *_deployments(step)]
    step.body["taskDefinition"] = target["taskDefinition"]
    step.body.pop("_failures", None)
    step.body.pop("_retryAt", None)


# -- stopping and starting ----------------------------------------------------------------


def _stop_unhealthy(step: _Step, live: Sequence[TaskView]) -> None:
    grace = float(step.body.get("healthCheckGracePeriodSeconds") or 0)
    for task in live:
        if not (task.wanted and task.running and task.health == "UNHEALTHY"):
            continue
        if task.started_at is not None and step.now - task.started_at < grace:
            continue
        step.event(unhealthy_message(step.name, task.arn))
        step.stop(task, UNHEALTHY_REASON)


def _eviction_order(task: TaskView) -> tuple[bool, bool, float]:
    """Stop first what serves least: not yet RUNNING, then not healthy, then the newest."""
    return (task.running, task.healthy, -task.created_at)


def _scale(step: _Step, live: Sequence[TaskView]) -> None:
    desired = _desired(step)
    config = step.body["deploymentConfiguration"]
    low, high = bounds(desired, config)
    primary = _primary(step)
    known = {d["id"] for d in _deployments(step)}
    active = [t for t in live if t.holds_slot and t.arn not in step.stops]
    for task in active:
        if task.deployment not in known:  # a task of a deployment this service no longer has
            step.stop(task, scaling_reason(primary["id"]))
    active = [t for t in active if t.arn not in step.stops]
    mine = sorted((t for t in active if t.deployment == primary["id"]), key=_eviction_order)
    for task in mine[: max(len(mine) - desired, 0)]:
        step.stop(task, scaling_reason(primary["id"]))
    active = [t for t in active if t.arn not in step.stops]
    _shrink_old(step, active, low)
    active = [t for t in active if t.arn not in step.stops]
    _grow_primary(step, active, desired, high)


def _shrink_old(step: _Step, active: Sequence[TaskView], low: int) -> None:
    primary = _primary(step)["id"]
    old = sorted((t for t in active if t.deployment != primary), key=_eviction_order)
    spare = sum(t.healthy for t in active) - low
    for task in old:
        if task.healthy:
            if spare <= 0:
                continue
            spare -= 1
        step.stop(task, scaling_reason(task.deployment))


def _grow_primary(step: _Step, active: Sequence[TaskView], desired: int, high: int) -> None:
    primary = _primary(step)["id"]
    have = sum(t.deployment == primary for t in active)
    others = len(active) - have
    room = desired - have if others == 0 else min(desired - have, high - len(active))
    retry_at = step.body.get("_retryAt")
    if room > 0 and (retry_at is None or step.now >= retry_at):
        step.launches.append((primary, room))


# -- the record after this step -----------------------------------------------------------


def _settle(step: _Step, live: Sequence[TaskView]) -> None:
    stopping = [t.arn for t in live if t.arn in step.stops and t.wanted]
    if stopping:
        step.event(stopped_message(step.name, stopping))
    remaining = [t for t in live if t.wanted and t.arn not in step.stops]
    _drop_empty_deployments(step, live)
    _check_blocked(step, live, remaining)
    if step.body["status"] == DRAINING:
        if not live and not step.launches:
            step.body["status"] = INACTIVE
            step.body.pop("_tasks", None)
        return
    _complete(step, live, remaining)


def _drop_empty_deployments(step: _Step, live: Sequence[TaskView]) -> None:
    busy = {t.deployment for t in live}
    step.body["deployments"] = [
        d for d in _deployments(step) if d["status"] == PRIMARY or d["id"] in busy
    ]


def _check_blocked(step: _Step, live: Sequence[TaskView], remaining: Sequence[TaskView]) -> None:
    """ECS's event for a deployment the percents can never move: old tasks remain, nothing is
    starting or stopping, and neither a start nor a stop is allowed."""
    primary = _primary(step)["id"]
    old_left = any(t.deployment != primary for t in remaining)
    in_flight = any(not t.healthy for t in live) or bool(step.stops) or bool(step.launches)
    if old_left and not in_flight:
        if not step.body.get("_blocked"):
            step.body["_blocked"] = True
            step.event(blocked_message(step.name))
    else:
        step.body.pop("_blocked", None)


def _complete(step: _Step, live: Sequence[TaskView], remaining: Sequence[TaskView]) -> None:
    primary = _primary(step)
    desired = _desired(step)
    steady = (
        len(_deployments(step)) == 1
        and not step.launches
        and len(live) == desired
        and len(remaining) == desired
        and all(t.healthy for t in remaining)
    )
    if not steady:
        step.body.pop("_steady", None)
        return
    if primary["rolloutState"] == IN_PROGRESS:
        primary.update(
            rolloutState=COMPLETED,
            rolloutStateReason=f"ECS deployment {primary['id']} completed.",
            updatedAt=step.now,
        )
        step.event(completed_message(step.name, primary["id"]))
    if not step.body.get("_steady"):
        step.body["_steady"] = True
        step.event(steady_message(step.name))
