"""One task's life on this host, as the ECS agent lives it (reference/ecs.md §3).

PROVISIONING: the task's network, then the APPMESH rules, before any container exists.
PENDING: containers start as their dependsOn conditions allow (`ordering.plan_start`), each
health check runs on Docker's schedule (`health`), and a container that can never start is
stopped with exit code 143 and the agent's reason. RUNNING once every container has started.
A stop (StopTask, an essential container's exit, a failed start, the server's shutdown) runs
DEACTIVATING → STOPPING (reverse dependency order; SIGTERM, then SIGKILL after stopTimeout) →
DEPROVISIONING (rules and network removed) → STOPPED. Every step is reported through
`Reporter`, so DescribeTasks tells the truth at each moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from meshway.model.ecs.tasks import (
    ContainerReport,
    ContainerStatus,
    HealthStatus,
    NetworkReport,
    StopCode,
    TaskReport,
    TaskStatus,
)
from meshway.runtime.health import HealthCheck, HealthState, ProbeResult, next_probe, observe
from meshway.runtime.health import from_definition as health_from_definition
from meshway.runtime.host import Launch, Process, TaskHost
from meshway.runtime.iptables import Interception
from meshway.runtime.ordering import (
    Condition,
    ContainerState,
    Dependency,
    Status,
    plan_start,
    stop_waves,
)

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT = 30.0  # ECS_CONTAINER_STOP_TIMEOUT's default
DEPENDENCY_EXIT_CODE = 143  # what the agent records for a container whose dependency failed
ESSENTIAL_EXITED = "Essential container in task exited"


class Reporter(Protocol):
    async def report(self, report: TaskReport) -> None: ...


class LaunchError(Exception):
    """A container cannot be launched; `reason` is what ECS shows (CannotPullContainerError...)."""

    def __init__(self, reason: str, *, stop_code: StopCode = StopCode.TASK_FAILED_TO_START):
        super().__init__(reason)
        self.reason = reason
        self.stop_code = stop_code


@dataclass(slots=True)
class Container:
    """What the supervisor tracks of one container."""

    definition: Mapping[str, Any]
    launch: Launch | None = None
    state: ContainerState = field(default_factory=lambda: ContainerState(name=""))
    check: HealthCheck | None = None
    health: HealthState = field(default_factory=HealthState)
    process: Process | None = None
    started_mono: float = 0.0

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def essential(self) -> bool:
        return self.definition.get("essential", True) is not False

    @property
    def stop_timeout(self) -> float:
        return float(self.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)


def _container(definition: Mapping[str, Any]) -> Container:
    depends = tuple(
        Dependency(container=d["containerName"], condition=Condition(d["condition"]))
        for d in definition.get("dependsOn") or ()
    )
    state = ContainerState(
        name=definition["name"],
        depends_on=depends,
        start_timeout=definition.get("startTimeout"),
    )
    check = definition.get("healthCheck")
    return Container(
        definition=definition,
        state=state,
        check=health_from_definition(check) if check else None,
    )


class TaskSupervisor:
    def __init__(
        self,
        *,
        task_id: str,
        hostname: str,
        containers: list[Mapping[str, Any]],
        interception: Interception | None,
        prepare: Callable[[Mapping[str, Any]], Launch],
        host: TaskHost,
        reporter: Reporter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.task_id = task_id
        self._hostname = hostname
        self._containers = {c["name"]: _container(c) for c in containers}
        self._interception = interception
        self._prepare = prepare
        self._host = host
        self._reporter = reporter
        self._clock = clock
        self._changed = asyncio.Event()
        self._stop: tuple[StopCode, str] | None = None
        self._stop_requested = asyncio.Event()
        self._exits: list[asyncio.Task[None]] = []
        self._probes: list[asyncio.Task[None]] = []

    # -- control --------------------------------------------------------------------------

    def request_stop(self, code: StopCode, reason: str) -> None:
        """Stop the task (idempotent; the first reason is the one kept)."""
        if self._stop is None:
            self._stop = (code, reason)
        self._stop_requested.set()
        self._changed.set()

    async def run(self) -> None:
        try:
            await self._provision()
            await self._start_containers()
        except LaunchError as error:
            self.request_stop(error.stop_code, error.reason)
        except Exception:
            log.exception("task %s failed", self.task_id)
            self.request_stop(StopCode.TASK_FAILED_TO_START, "Meshway runtime error")
        finally:
            await self._shutdown()

    # -- PROVISIONING ---------------------------------------------------------------------

    async def _provision(self) -> None:
        address = await self._host.provision(self.task_id, self._hostname)
        if self._interception is not None:
            await self._host.intercept(self.task_id, self._interception)
        await self._reporter.report(
            TaskReport(
                last_status=TaskStatus.PENDING,
                network=NetworkReport(
                    private_ipv4_address=address.ip,
                    interface_id=address.interface_id,
                    mac_address=address.mac,
                ),
                pull_started=True,
            )
        )
        for container in self._containers.values():  # "pulling": resolve every image up front
            container.launch = self._prepare(container.definition)
        await self._reporter.report(TaskReport(pull_stopped=True))

    # -- PENDING → RUNNING ----------------------------------------------------------------

    async def _start_containers(self) -> None:
        running_reported = False
        while not self._stop_requested.is_set():
            self._changed.clear()
            plan = plan_start([c.state for c in self._containers.values()], self._clock())
            for name, reason in plan.doomed.items():
                await self._doom(self._containers[name], reason)
            for name in plan.ready:
                await self._launch(self._containers[name])
            if not running_reported and self._all_started():
                await self._reporter.report(TaskReport(last_status=TaskStatus.ACTIVATING))
                await self._reporter.report(TaskReport(last_status=TaskStatus.RUNNING))
                running_reported = True
            if plan.ready or plan.doomed:
                continue
            await self._wait_for_change()

    async def _wait_for_change(self) -> None:
        # Start timeouts are judged on time alone, so look again now and then.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=0.5)

    def _all_started(self) -> bool:
        return all(c.state.status is not Status.PENDING for c in self._containers.values())

    async def _launch(self, container: Container) -> None:
        assert container.launch is not None
        try:
            container.process = await self._host.start(container.launch)
        except LaunchError as error:  # the container stops before it ran, as in ECS
            await self._doom(container, error.reason, exit_code=None)
            return
        container.started_mono = self._clock()
        container.state = replace(
            container.state, status=Status.RUNNING, started_at=container.started_mono
        )
        await self._report_container(container, runtime_id=str(container.process.pid))
        self._exits.append(asyncio.create_task(self._watch_exit(container)))
        if container.check is not None:
            self._probes.append(asyncio.create_task(self._watch_health(container)))

    async def _doom(
        self, container: Container, reason: str, exit_code: int | None = DEPENDENCY_EXIT_CODE
    ) -> None:
        container.state = replace(container.state, status=Status.STOPPED, exit_code=exit_code)
        await self._reporter.report(
            TaskReport(
                containers=(
                    ContainerReport(
                        name=container.name,
                        last_status=ContainerStatus.STOPPED,
                        exit_code=exit_code,
                        reason=reason,
                    ),
                )
            )
        )
        if container.essential:
            self.request_stop(StopCode.TASK_FAILED_TO_START, reason)

    # -- watching -------------------------------------------------------------------------

    async def _watch_exit(self, container: Container) -> None:
        assert container.process is not None
        code = await container.process.wait()
        container.state = replace(container.state, status=Status.STOPPED, exit_code=code)
        await self._report_container(container, exit_code=code)
        if container.essential:
            self.request_stop(StopCode.ESSENTIAL_CONTAINER_EXITED, ESSENTIAL_EXITED)
        self._changed.set()

    async def _watch_health(self, container: Container) -> None:
        check = container.check
        assert check is not None
        while container.state.status is Status.RUNNING:
            elapsed = self._clock() - container.started_mono
            at, scheduled = next_probe(container.health, check, elapsed)
            await asyncio.sleep(max(0.0, at - elapsed))
            if container.state.status is not Status.RUNNING:
                return
            code, output = await self._host.probe(
                self.task_id, check.command, container.definition.get("user"), check.timeout
            )
            before = container.health.status
            container.health = observe(
                container.health,
                check,
                ProbeResult(exit_code=code, output=output, started_at=at, scheduled=scheduled),
            )
            if container.health.status is not before:
                container.state = replace(container.state, health=container.health.status)
                await self._report_container(container)
                self._changed.set()

    async def _report_container(
        self, container: Container, *, exit_code: int | None = None, runtime_id: str | None = None
    ) -> None:
        status = {
            Status.PENDING: ContainerStatus.PENDING,
            Status.RUNNING: ContainerStatus.RUNNING,
            Status.STOPPED: ContainerStatus.STOPPED,
        }[container.state.status]
        health = HealthStatus(container.health.status.value) if container.check else None
        await self._reporter.report(
            TaskReport(
                containers=(
                    ContainerReport(
                        name=container.name,
                        last_status=status,
                        health_status=health,
                        exit_code=exit_code,
                        runtime_id=runtime_id,
                    ),
                )
            )
        )

    # -- stopping -------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        code, reason = self._stop or (StopCode.TASK_FAILED_TO_START, "Task stopped")
        await self._reporter.report(
            TaskReport(stop_code=code, stopped_reason=reason, last_status=TaskStatus.DEACTIVATING)
        )
        await self._reporter.report(TaskReport(last_status=TaskStatus.STOPPING))
        for wave in stop_waves([c.state for c in self._containers.values()]):
            await asyncio.gather(*(self._stop_container(self._containers[n]) for n in wave))
        for probe in self._probes:
            probe.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
        await asyncio.gather(*self._exits)  # every exit code recorded before we go on
        await self._reporter.report(TaskReport(last_status=TaskStatus.DEPROVISIONING))
        await self._host.release(self.task_id)  # also after a half-done provisioning
        await self._reporter.report(TaskReport(last_status=TaskStatus.STOPPED))

    async def _stop_container(self, container: Container) -> None:
        process = container.process
        if process is None or container.state.status is not Status.RUNNING:
            return
        exited = asyncio.ensure_future(process.wait())
        with contextlib.suppress(ProcessLookupError):
            process.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout=container.stop_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.signal(signal.SIGKILL)
            await exited  # the exit watcher records the status and exit code
