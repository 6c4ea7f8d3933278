"""The service scheduler's decisions (pure): scaling, rolling within the percents, unhealthy
replacement, throttling, the circuit breaker, steady state and draining."""

from __future__ import annotations

import itertools
from typing import Any

from meshway.model.ecs.rollout import THROTTLE_AFTER, Plan, plan_service
from meshway.model.ecs.services import (
    UNHEALTHY_REASON,
    TaskView,
    deployment_configuration,
    new_deployment,
)
from meshway.model.ecs.tasks import HealthStatus, StopCode, TaskStatus

NEW, OLD = "ecs-svc/2000000000000000000", "ecs-svc/1000000000000000000"
NOW = 1000.0


def service(desired: int = 3, *, old: bool = False, **config: Any) -> dict[str, Any]:
    deployments = [
        new_deployment(deployment=NEW, task_definition="td:2", desired=desired, launch={}, now=1)
    ]
    if old:
        previous = new_deployment(
            deployment=OLD, task_definition="td:1", desired=desired, launch={}, now=0
        )
        previous.update(status="ACTIVE", rolloutState="COMPLETED")
        deployments.append(previous)
    return {
        "serviceName": "web",
        "status": "ACTIVE",
        "desiredCount": desired,
        "deploymentConfiguration": deployment_configuration(config, "REPLICA"),
        "deployments": deployments,
        "events": [],
        "_tasks": {},
    }


_ids = itertools.count(1)


def task(
    deployment: str = NEW,
    *,
    status: TaskStatus = TaskStatus.RUNNING,
    health: HealthStatus = HealthStatus.HEALTHY,
    wanted: bool = True,
    started_at: float | None = 1.0,
    stop_code: str | None = None,
) -> TaskView:
    n = next(_ids)
    return TaskView(
        arn=f"arn:aws:ecs:us-west-2:1:task/default/{n:032x}",
        deployment=deployment,
        last_status=status,
        wanted=wanted,
        health=health,
        checked=True,
        started_at=started_at if status != TaskStatus.PENDING else None,
        created_at=float(n),
        stop_code=stop_code,
    )


def plan(body: dict[str, Any], live: list[TaskView], finished: tuple[TaskView, ...] = ()) -> Plan:
    return plan_service(
        body,
        live,
        list(finished),
        now=NOW,
        new_id=lambda: f"event-{next(_ids)}",
        new_deployment_id=lambda: "ecs-svc/3000000000000000000",
    )


def messages(result: Plan) -> list[str]:
    return [e["message"] for e in result.service["events"]]


def pending(deployment: str = NEW) -> TaskView:
    return task(deployment, status=TaskStatus.PENDING, health=HealthStatus.UNKNOWN)


def test_a_new_service_starts_its_desired_count() -> None:
    result = plan(service(3), [])
    assert result.launches == ((NEW, 3),)
    assert result.stops == ()


def test_a_service_with_all_tasks_healthy_completes_its_deployment_and_is_steady() -> None:
    result = plan(service(3), [task(), task(), task()])
    primary = result.service["deployments"][0]
    assert primary["rolloutState"] == "COMPLETED"
    assert primary["rolloutStateReason"] == f"ECS deployment {NEW} completed."
    assert messages(result) == [
        "(service web) has reached a steady state.",
        f"(service web) (deployment {NEW}) deployment completed.",
    ]
    assert result.idle


def test_a_steady_service_plans_nothing_and_changes_nothing_the_second_time() -> None:
    tasks = [task(), task(), task()]
    first = plan(service(3), tasks)
    second = plan(first.service, tasks)
    assert second.idle
    assert second.service == first.service


def test_pending_tasks_are_not_healthy_so_the_service_is_not_yet_steady() -> None:
    result = plan(service(2), [task(), pending()])
    assert result.idle
    assert result.service["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert messages(result) == []


def test_a_task_that_stopped_by_itself_is_replaced() -> None:
    stopping = task(wanted=False, stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED)
    result = plan(service(3), [task(), task(), stopping])
    assert result.launches == ((NEW, 1),)


def test_a_new_deployment_starts_up_to_maximum_percent_before_stopping_old_tasks() -> None:
    old = [task(OLD), task(OLD), task(OLD)]
    result = plan(service(3, old=True), old)
    assert result.launches == ((NEW, 3),)
    assert result.stops == ()


def test_old_tasks_stop_only_as_new_ones_become_healthy() -> None:
    old = [task(OLD), task(OLD), task(OLD)]
    result = plan(service(3, old=True), [*old, task(NEW), pending(NEW), pending(NEW)])
    assert len(result.stops) == 1
    assert result.stops[0][1] == f"Scaling activity initiated by (deployment {OLD})"
    assert result.launches == ()


def test_a_low_minimum_stops_old_tasks_first_to_make_room() -> None:
    old = [task(OLD) for _ in range(4)]
    result = plan(service(4, old=True, minimumHealthyPercent=50, maximumPercent=100), old)
    assert len(result.stops) == 2
    assert result.launches == ((NEW, 2),)


def test_percents_that_allow_no_progress_produce_ecs_event_once() -> None:
    old = [task(OLD), task(OLD)]
    body = service(2, old=True, minimumHealthyPercent=100, maximumPercent=100)
    first = plan(body, old)
    assert first.idle
    assert messages(first) == [
        "(service web) was unable to stop or start tasks during a deployment because of the "
        "service deployment configuration. Update the minimumHealthyPercent or maximumPercent "
        "value and try again."
    ]
    assert messages(plan(first.service, old)) == messages(first)


def test_the_old_deployment_is_removed_once_its_tasks_have_stopped() -> None:
    new = [task(NEW), task(NEW), task(NEW)]
    result = plan(service(3, old=True), new)
    assert [d["id"] for d in result.service["deployments"]] == [NEW]
    assert result.service["deployments"][0]["rolloutState"] == "COMPLETED"


def test_an_old_task_still_stopping_keeps_the_old_deployment() -> None:
    stopping = task(OLD, wanted=False, stop_code=StopCode.SERVICE_SCHEDULER_INITIATED)
    result = plan(service(3, old=True), [task(), task(), task(), stopping])
    assert [d["id"] for d in result.service["deployments"]] == [NEW, OLD]
    assert result.service["deployments"][0]["rolloutState"] == "IN_PROGRESS"


def test_an_unhealthy_task_is_stopped_after_the_grace_period_and_replaced() -> None:
    sick = task(health=HealthStatus.UNHEALTHY, started_at=NOW - 30)
    body = service(2)
    body["healthCheckGracePeriodSeconds"] = 10
    result = plan(body, [task(), sick])
    assert result.stops == ((sick.arn, UNHEALTHY_REASON),)
    assert result.launches == ((NEW, 1),)
    sick_id = sick.arn.rsplit("/", 1)[-1]
    assert f"(service web) (task {sick_id}) failed container health checks." in messages(result)


def test_an_unhealthy_task_within_the_grace_period_is_left_alone() -> None:
    sick = task(health=HealthStatus.UNHEALTHY, started_at=NOW - 5)
    body = service(2)
    body["healthCheckGracePeriodSeconds"] = 10
    assert plan(body, [task(), sick]).idle


def test_scaling_in_stops_tasks_that_are_not_running_first() -> None:
    waiting = pending()
    result = plan(service(2), [task(), task(), waiting])
    assert result.stops == ((waiting.arn, f"Scaling activity initiated by (deployment {NEW})"),)


def test_tasks_that_never_run_count_as_failed_and_throttle_restarts() -> None:
    body = service(1)
    for _ in range(THROTTLE_AFTER):
        failed = task(status=TaskStatus.STOPPED, started_at=None, wanted=False)
        result = plan(body, [], (failed,))
        body = result.service
    assert body["deployments"][0]["failedTasks"] == THROTTLE_AFTER
    assert "(service web) is unable to consistently start tasks successfully." in messages(result)
    assert result.launches == ()  # waiting until _retryAt
    later = plan_service(
        body,
        [],
        [],
        now=body["_retryAt"],
        new_id=lambda: "e",
        new_deployment_id=lambda: "d",
    )
    assert later.launches == ((NEW, 1),)


def test_a_task_the_scheduler_stopped_is_not_a_failure() -> None:
    stopped = task(
        status=TaskStatus.STOPPED,
        started_at=None,
        wanted=False,
        stop_code=StopCode.SERVICE_SCHEDULER_INITIATED,
    )
    result = plan(service(1), [], (stopped,))
    assert result.service["deployments"][0]["failedTasks"] == 0


def test_the_circuit_breaker_without_rollback_leaves_the_deployment_failed() -> None:
    body = service(2, deploymentCircuitBreaker={"enable": True, "rollback": False})
    body["deployments"][0]["failedTasks"] = 2
    failed = task(status=TaskStatus.STOPPED, started_at=None, wanted=False)
    primary = plan(body, [], (failed,)).service["deployments"][0]
    assert (primary["status"], primary["rolloutState"]) == ("PRIMARY", "FAILED")
    assert primary["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."


def test_the_circuit_breaker_fails_the_deployment_and_rolls_back() -> None:
    body = service(2, old=True, deploymentCircuitBreaker={"enable": True, "rollback": True})
    body["deployments"][0]["failedTasks"] = 2
    failed = task(status=TaskStatus.STOPPED, started_at=None, wanted=False)
    result = plan(body, [task(OLD), task(OLD)], (failed,))
    deployments = result.service["deployments"]
    # the failed deployment has no task left, so only the rollback and the old one remain
    assert [(d["status"], d["taskDefinition"]) for d in deployments] == [
        ("PRIMARY", "td:1"),
        ("ACTIVE", "td:1"),
    ]
    assert deployments[0]["rolloutStateReason"] == (
        f"ECS deployment circuit breaker: rolling back to deploymentId {OLD}."
    )
    assert result.launches == ((deployments[0]["id"], 2),)
    assert f"(service web) (deployment {NEW}) deployment failed: tasks failed to start." in (
        messages(result)
    )


def test_a_draining_service_stops_everything_then_becomes_inactive() -> None:
    body = service(2)
    body.update(status="DRAINING", desiredCount=0)
    first = plan(body, [task(), pending()])
    assert len(first.stops) == 2
    assert first.service["status"] == "DRAINING"
    assert plan(first.service, []).service["status"] == "INACTIVE"


def test_a_task_failing_to_start_is_counted_before_it_is_replaced() -> None:
    failing = task(
        status=TaskStatus.PENDING,
        wanted=False,
        stop_code=StopCode.TASK_FAILED_TO_START,
    )
    waiting = plan(service(1), [failing])
    assert waiting.idle  # it still holds its slot until STOPPED
    stopped = task(status=TaskStatus.STOPPED, started_at=None, wanted=False)
    replaced = plan(waiting.service, [], (stopped,))
    assert replaced.service["deployments"][0]["failedTasks"] == 1
    assert replaced.launches == ((NEW, 1),)
