"""ECS services run for real: the scheduler keeps the seed's task at desiredCount, replaces a
task whose app is killed, rolls a new revision without dropping below the minimum healthy
count, and drains to nothing on delete — observed through the ECS API, the host's namespaces
and its processes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from tests.e2e.conftest import netns_names, requires_root, seed_definition

pytestmark = [pytest.mark.e2e, requires_root]

T = TypeVar("T")
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
FAST = {"Delay": 1, "MaxAttempts": 60}


def until(probe: Callable[[], T], check: Callable[[T], Any] = bool, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s; last: {found!r}")
        time.sleep(0.05)


def register(ecs: Any) -> str:
    return str(
        ecs.register_task_definition(**seed_definition())["taskDefinition"]["taskDefinitionArn"]
    )


def start_service(ecs: Any, desired: int = 3) -> str:
    """A service of the seed's task definition, waited to steady state (bench/services.py
    measures how long that takes)."""
    register(ecs)
    arn = ecs.create_service(
        serviceName="web",
        taskDefinition="appmesh-gateway",
        desiredCount=desired,
        networkConfiguration=AWSVPC,
    )["service"]["serviceArn"]
    ecs.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    return str(arn)


def stable(service: dict[str, Any]) -> bool:
    """The services_stable waiter's own test."""
    return len(service["deployments"]) == 1 and service["runningCount"] == service["desiredCount"]


def describe_service(ecs: Any) -> dict[str, Any]:
    return ecs.describe_services(services=["web"])["services"][0]  # type: ignore[no-any-return]


def live_tasks(ecs: Any) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(serviceName="web")["taskArns"]
    return ecs.describe_tasks(tasks=arns)["tasks"] if arns else []  # type: ignore[no-any-return]


def healthy(task: dict[str, Any]) -> bool:
    return (
        task["lastStatus"] == "RUNNING"
        and task["desiredStatus"] == "RUNNING"
        and task["healthStatus"] == "HEALTHY"
    )


def app_pid(task: dict[str, Any]) -> int:
    app = next(c for c in task["containers"] if c["name"] == "app")
    return int(app["runtimeId"])


def netns_of(task: dict[str, Any]) -> str:
    return "mw-" + task["taskArn"].rsplit("/", 1)[-1][:12]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_service_of_three_reaches_a_steady_state_that_the_waiter_sees(
    ecs_client: Any,
) -> None:
    start_service(ecs_client)
    service = describe_service(ecs_client)
    assert (service["runningCount"], service["pendingCount"], service["desiredCount"]) == (3, 0, 3)
    (deployment,) = service["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    assert deployment["runningCount"] == 3
    messages = [e["message"] for e in service["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert f"(service web) (deployment {deployment['id']}) deployment completed." in messages
    tasks = live_tasks(ecs_client)
    assert len(tasks) == 3
    assert all(healthy(t) for t in tasks)
    assert {t["startedBy"] for t in tasks} == {deployment["id"]}
    assert all(netns_of(t) in netns_names() for t in tasks)


def test_a_killed_app_is_replaced_by_a_running_task_within_seconds(
    ecs_client: Any,
) -> None:
    start_service(ecs_client)
    before = {t["taskArn"]: t for t in live_tasks(ecs_client)}
    victim = next(iter(before.values()))
    os.kill(app_pid(victim), signal.SIGKILL)

    def replacement() -> list[dict[str, Any]]:
        return [t for t in live_tasks(ecs_client) if t["taskArn"] not in before and healthy(t)]

    (new,) = until(replacement, timeout=20)
    stopped = ecs_client.describe_tasks(tasks=[victim["taskArn"]])["tasks"][0]
    stopped = until(
        lambda: ecs_client.describe_tasks(tasks=[victim["taskArn"]])["tasks"][0],
        lambda t: t["lastStatus"] == "STOPPED",
    )
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert new["group"] == "service:web"
    ecs_client.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    service = describe_service(ecs_client)
    assert service["runningCount"] == 3
    assert service["deployments"][0]["failedTasks"] == 0  # it ran: a crash is not a failed start
    assert any(
        e["message"]
        == f"(service web) has started 1 tasks: (task {new['taskArn'].rsplit('/', 1)[-1]})."
        for e in service["events"]
    )


def test_a_new_revision_rolls_without_dropping_below_the_minimum_healthy_count(
    ecs_client: Any,
) -> None:
    start_service(ecs_client)
    old = {t["taskArn"] for t in live_tasks(ecs_client)}
    old_deployment = describe_service(ecs_client)["deployments"][0]["id"]
    revision = register(ecs_client)
    started = time.monotonic()
    ecs_client.update_service(service="web", taskDefinition=revision)
    known = set(old)
    lowest, peak = 3, 0
    while True:
        known.update(ecs_client.list_tasks(serviceName="web")["taskArns"])
        tasks = ecs_client.describe_tasks(tasks=sorted(known))["tasks"]
        service = describe_service(ecs_client)
        count = sum(healthy(t) for t in tasks)
        lowest = min(lowest, count)
        peak = max(
            peak,
            sum(t["lastStatus"] != "STOPPED" and t["desiredStatus"] == "RUNNING" for t in tasks),
        )
        done = (
            len(service["deployments"]) == 1
            and service["deployments"][0]["rolloutState"] == "COMPLETED"
            and service["runningCount"] == 3
        )
        if done:
            break
        assert time.monotonic() - started < 60, "the roll did not finish"
    assert lowest >= 3  # minimumHealthyPercent 100 of 3
    assert 3 < peak <= 6  # new tasks started beside the old ones, within maximumPercent 200
    current = live_tasks(ecs_client)
    assert len(current) == 3
    assert {t["taskDefinitionArn"] for t in current} == {revision}
    assert not old & {t["taskArn"] for t in current}
    for arn in old:
        task = ecs_client.describe_tasks(tasks=[arn])["tasks"][0]
        assert task["stopCode"] == "ServiceSchedulerInitiated"
        assert task["stoppedReason"] == (
            f"Scaling activity initiated by (deployment {old_deployment})"
        )
    ecs_client.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)


def test_a_forced_delete_drains_to_inactive_and_leaves_nothing_behind(ecs_client: Any) -> None:
    start_service(ecs_client)
    tasks = live_tasks(ecs_client)
    pids = [int(c["runtimeId"]) for t in tasks for c in t["containers"]]
    assert all(alive(pid) for pid in pids)
    deleted = ecs_client.delete_service(service="web", force=True)["service"]
    assert deleted["status"] == "DRAINING"
    ecs_client.get_waiter("services_inactive").wait(services=["web"], WaiterConfig=FAST)
    service = describe_service(ecs_client)
    assert (service["status"], service["runningCount"], service["pendingCount"]) == (
        "INACTIVE",
        0,
        0,
    )
    assert ecs_client.list_tasks(serviceName="web")["taskArns"] == []
    stopped = ecs_client.describe_tasks(tasks=[t["taskArn"] for t in tasks])["tasks"]
    assert {t["lastStatus"] for t in stopped} == {"STOPPED"}
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    names = netns_names()
    assert not any(netns_of(t) in names for t in tasks)
    assert not any(alive(pid) for pid in pids)


def test_a_task_failing_its_health_check_is_stopped_and_replaced(
    ecs_client: Any, tmp_path: Any
) -> None:
    sick = tmp_path / "sick"
    tmp_path.chmod(0o755)
    definition = {
        "family": "checked",
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "worker",
                "image": "busybox",
                "essential": True,
                "memory": 64,
                "command": ["sleep 600"],
                "healthCheck": {
                    "command": ["CMD-SHELL", f"test ! -e {sick}"],
                    "interval": 5,
                    "timeout": 2,
                    "retries": 1,
                },
            }
        ],
    }
    ecs_client.register_task_definition(**definition)
    ecs_client.create_service(
        serviceName="web",
        taskDefinition="checked",
        desiredCount=1,
        networkConfiguration=AWSVPC,
    )
    (victim,) = until(lambda: live_tasks(ecs_client), lambda ts: len(ts) == 1 and healthy(ts[0]))
    sick.touch()
    stopping = until(
        lambda: ecs_client.describe_tasks(tasks=[victim["taskArn"]])["tasks"][0],
        lambda t: t["desiredStatus"] == "STOPPED",
        timeout=20,
    )
    sick.unlink()  # the replacement is healthy
    assert stopping["healthStatus"] == "UNHEALTHY"
    assert stopping["stopCode"] == "ServiceSchedulerInitiated"
    assert stopping["stoppedReason"] == "Task failed container health checks"
    (new,) = until(
        lambda: live_tasks(ecs_client),
        lambda ts: len(ts) == 1 and ts[0]["taskArn"] != victim["taskArn"] and healthy(ts[0]),
    )
    assert new["startedBy"] == victim["startedBy"]  # same deployment: a replacement, not a roll
    messages = [e["message"] for e in describe_service(ecs_client)["events"]]
    victim_id = victim["taskArn"].rsplit("/", 1)[-1]
    assert f"(service web) (task {victim_id}) failed container health checks." in messages


def test_tasks_that_cannot_start_are_throttled_with_ecs_event(ecs_client: Any) -> None:
    definition = seed_definition()
    definition["containerDefinitions"][0]["image"] = "no-such-image:1"
    ecs_client.register_task_definition(**definition)
    ecs_client.create_service(
        serviceName="web",
        taskDefinition="appmesh-gateway",
        desiredCount=1,
        networkConfiguration=AWSVPC,
    )
    throttled = "(service web) is unable to consistently start tasks successfully."
    service = until(
        lambda: describe_service(ecs_client),
        lambda s: throttled in [e["message"] for e in s["events"]],
        timeout=20,
    )
    assert service["deployments"][0]["failedTasks"] >= 3
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    started = [e for e in service["events"] if "has started" in e["message"]]
    time.sleep(2.5)  # the waits after the 3rd and 4th failures are 1 s and 2 s
    later = [e for e in describe_service(ecs_client)["events"] if "has started" in e["message"]]
    assert len(later) - len(started) <= 2
    stopped = ecs_client.list_tasks(serviceName="web", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in ecs_client.describe_tasks(tasks=stopped[:10])["tasks"]}
    assert all(r.startswith("CannotPullContainerError: ") for r in reasons)


def test_the_circuit_breaker_rolls_a_failing_revision_back(ecs_client: Any) -> None:
    first = register(ecs_client)
    ecs_client.create_service(
        serviceName="web",
        taskDefinition=first,
        desiredCount=2,
        networkConfiguration=AWSVPC,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    until(lambda: describe_service(ecs_client), stable)
    broken = seed_definition()
    broken["containerDefinitions"][0]["image"] = "no-such-image:1"
    bad = ecs_client.register_task_definition(**broken)["taskDefinition"]["taskDefinitionArn"]
    failing = ecs_client.update_service(service="web", taskDefinition=bad)["service"]
    failed_id = failing["deployments"][0]["id"]
    service = until(
        lambda: describe_service(ecs_client),
        lambda s: s["deployments"][0]["id"] != failed_id,
        timeout=30,
    )
    rollback = service["deployments"][0]
    assert rollback["taskDefinition"] == first
    assert rollback["rolloutStateReason"].startswith(
        "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/"
    )
    messages = [e["message"] for e in service["events"]]
    assert f"(service web) (deployment {failed_id}) deployment failed: tasks failed to start." in (
        messages
    )
    ecs_client.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    final = describe_service(ecs_client)
    assert final["taskDefinition"] == first
    assert final["deployments"][0]["rolloutState"] == "COMPLETED"


def test_a_restarted_server_replaces_the_tasks_it_stopped(
    runtime_server: Any, start_server: Callable[..., Any], catalog: Any
) -> None:
    ecs = runtime_server.client("ecs")
    start_service(ecs, desired=2)
    before = {t["taskArn"] for t in live_tasks(ecs)}
    runtime_server.stop(signal.SIGTERM, timeout=60)
    again = start_server("--images", str(catalog), data_dir=runtime_server.data_dir)
    ecs = again.client("ecs")
    until(lambda: describe_service(ecs), stable)
    after = live_tasks(ecs)
    assert len(after) == 2
    assert not before & {t["taskArn"] for t in after}
    assert all(healthy(t) for t in after)
    assert describe_service(ecs)["deployments"][0]["failedTasks"] == 0
