"""The task lifecycle against a fake host: every report is folded into a real task record with
the ECS lifecycle rules (`apply_report`), so an illegal step fails the test."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from meshway.model.ecs.lifecycle import apply_report
from meshway.model.ecs.tasks import NewTask, StopCode, TaskReport, new_task, request_stop
from meshway.runtime.host import Launch, TaskAddress
from meshway.runtime.iptables import interception_from_properties
from meshway.runtime.supervisor import LaunchError, TaskSupervisor

pytestmark = pytest.mark.anyio

ENVOY_CHECK = {
    "command": ["CMD-SHELL", "envoy-ready"],
    "interval": 5,
    "timeout": 2,
    "retries": 3,
    "startPeriod": 10,
}


class FakeProcess:
    def __init__(self, host: FakeHost, name: str, ignores_sigterm: bool) -> None:
        self.pid = 1000 + len(host.started)
        self.name = name
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ignores_sigterm = ignores_sigterm
        self.signals: list[int] = []

    def exit(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal(self, signum: int) -> None:
        self.signals.append(signum)
        if signum == signal.SIGKILL or not self._ignores_sigterm:
            self.exit(128 + signum)


class FakeHost:
    def __init__(self, *, healthy_after: int = 0, ignores_sigterm: Sequence[str] = ()) -> None:
        self.events: list[str] = []
        self.started: dict[str, FakeProcess] = {}
        self.probes = 0
        self._healthy_after = healthy_after
        self._ignores = set(ignores_sigterm)

    async def provision(self, task_id: str, hostname: str) -> TaskAddress:
        self.events.append("provision")
        return TaskAddress(ip="198.18.0.7", mac="02:00:00:00:00:07")

    async def intercept(self, task_id: str, interception: Any) -> None:
        self.events.append("intercept")

    async def start(self, launch: Launch) -> FakeProcess:
        self.events.append(f"start {launch.container}")
        process = FakeProcess(self, launch.container, launch.container in self._ignores)
        self.started[launch.container] = process
        return process

    async def probe(
        self, task_id: str, argv: Sequence[str], user: str | None, timeout: float
    ) -> tuple[int, str]:
        self.probes += 1
        return (0, "LIVE") if self.probes > self._healthy_after else (1, "")

    async def release(self, task_id: str) -> None:
        self.events.append("release")


class Recorder:
    """Applies every report to a task record, as the ECS service does."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        spec = NewTask(
            task_arn="arn:aws:ecs:us-west-2:000000000000:task/default/abc",
            cluster_arn="arn:aws:ecs:us-west-2:000000000000:cluster/default",
            task_definition=definition,
            container_arns=[f"arn:c/{c['name']}" for c in definition["containerDefinitions"]],
            container_instance_arn="",
            overrides={},
            launch_type="EC2",
            group="family:f",
            started_by=None,
            tags=[],
            subnets=["subnet-1"],
            attachment_id="att-1",
            availability_zone="us-west-2a",
            enable_execute_command=False,
            created_at=0.0,
        )
        self.task: dict[str, Any] = new_task(spec)
        self.statuses: list[str] = [self.task["lastStatus"]]

    async def report(self, report: TaskReport) -> None:
        self.task = apply_report(self.task, report, now=1.0)
        if self.task["lastStatus"] != self.statuses[-1]:
            self.statuses.append(self.task["lastStatus"])

    def container(self, name: str) -> Mapping[str, Any]:
        return next(c for c in self.task["containers"] if c["name"] == name)


def definition(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "taskDefinitionArn": "arn:aws:ecs:us-west-2:000000000000:task-definition/f:1",
        "networkMode": "awsvpc",
        "containerDefinitions": list(containers),
    }


def seed() -> dict[str, Any]:
    return definition(
        {
            "name": "app",
            "image": "application_image",
            "essential": True,
            "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}],
        },
        {
            "name": "envoy",
            "image": "aws-appmesh-envoy",
            "essential": True,
            "user": "1337",
            "healthCheck": ENVOY_CHECK,
            "stopTimeout": 1,
        },
    )


def prepare(container: Mapping[str, Any]) -> Launch:
    if container["image"] == "missing":
        raise LaunchError("CannotPullContainerError: pull access denied for missing")
    return Launch(task_id="abc", container=container["name"], argv=("run",), env={})


def supervisor(defn: dict[str, Any], host: FakeHost, recorder: Recorder) -> TaskSupervisor:
    interception = interception_from_properties({"IgnoredUID": "1337", "ProxyEgressPort": "15001"})
    return TaskSupervisor(
        task_id="abc",
        hostname="abc",
        containers=defn["containerDefinitions"],
        interception=interception,
        prepare=prepare,
        host=host,
        reporter=recorder,
    )


async def until(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_the_seed_app_starts_after_envoy_is_healthy_and_stops_before_it() -> None:
    host, recorder = FakeHost(healthy_after=3), Recorder(seed())
    sup = supervisor(seed(), host, recorder)
    running = asyncio.create_task(sup.run())
    await until(lambda: recorder.task["lastStatus"] == "RUNNING")
    assert host.events[:4] == ["provision", "intercept", "start envoy", "start app"]
    assert host.probes == 4  # three failed eager probes did not count; the fourth passed
    assert recorder.container("envoy")["healthStatus"] == "HEALTHY"
    assert recorder.task["healthStatus"] == "HEALTHY"
    assert recorder.task["attachments"][0]["status"] == "ATTACHED"
    recorder.task = request_stop(recorder.task, StopCode.USER_INITIATED, "done", 2.0)
    sup.request_stop(StopCode.USER_INITIATED, "done")
    await running
    assert host.started["app"].signals == [signal.SIGTERM]
    assert host.events[-1] == "release"
    assert recorder.statuses == [
        "PROVISIONING",
        "PENDING",
        "ACTIVATING",
        "RUNNING",
        "DEACTIVATING",
        "STOPPING",
        "DEPROVISIONING",
        "STOPPED",
    ]
    assert recorder.task["stopCode"] == "UserInitiated"
    assert recorder.task["stoppedReason"] == "done"
    assert recorder.container("app")["exitCode"] == 143


async def test_an_essential_container_exit_stops_the_task() -> None:
    host, recorder = FakeHost(), Recorder(seed())
    running = asyncio.create_task(supervisor(seed(), host, recorder).run())
    await until(lambda: recorder.task["lastStatus"] == "RUNNING")
    host.started["app"].exit(3)
    await running
    assert recorder.task["stopCode"] == "EssentialContainerExited"
    assert recorder.task["stoppedReason"] == "Essential container in task exited"
    assert recorder.container("app")["exitCode"] == 3
    assert recorder.container("envoy")["exitCode"] == 143


async def test_a_container_ignoring_sigterm_is_killed_after_its_stop_timeout() -> None:
    host, recorder = FakeHost(ignores_sigterm=["envoy"]), Recorder(seed())
    sup = supervisor(seed(), host, recorder)
    running = asyncio.create_task(sup.run())
    await until(lambda: recorder.task["lastStatus"] == "RUNNING")
    sup.request_stop(StopCode.USER_INITIATED, "stop")
    await running
    assert host.started["envoy"].signals == [signal.SIGTERM, signal.SIGKILL]
    assert recorder.container("envoy")["exitCode"] == 137


async def test_a_failed_success_dependency_stops_the_dependant_with_exit_143() -> None:
    defn = definition(
        {"name": "init", "image": "x", "essential": False},
        {
            "name": "app",
            "image": "x",
            "essential": True,
            "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
        },
    )
    host, recorder = FakeHost(), Recorder(defn)
    running = asyncio.create_task(supervisor(defn, host, recorder).run())
    await until(lambda: "init" in host.started)
    host.started["init"].exit(1)
    await running
    app = recorder.container("app")
    assert app["exitCode"] == 143
    assert app["reason"].startswith("CannotStartContainerError: dependency graph:")
    assert recorder.task["stopCode"] == "TaskFailedToStart"
    assert "start app" not in host.events


async def test_an_unknown_image_stops_the_task_before_anything_starts() -> None:
    defn = definition({"name": "app", "image": "missing", "essential": True})
    host, recorder = FakeHost(), Recorder(defn)
    await supervisor(defn, host, recorder).run()
    assert recorder.task["lastStatus"] == "STOPPED"
    assert recorder.task["stoppedReason"].startswith("CannotPullContainerError:")
    assert host.started == {}
    assert host.events[-1] == "release"


@pytest.fixture(autouse=True)
def _fast_health(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("meshway.runtime.health.EAGER_INTERVAL", 0.01)
