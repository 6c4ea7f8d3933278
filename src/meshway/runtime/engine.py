"""The runtime engine: takes tasks from the ECS service, runs each under a `TaskSupervisor`.

It follows the store's change feed: a new task wakes it to claim (`claim_pending_tasks`), a
desiredStatus of STOPPED on a task it runs (StopTask) stops that task. At start it settles what a
crash left: tasks it had claimed are reported STOPPED and the host's leftovers are removed; at
shutdown it stops every task as ECS stops tasks on a draining instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from meshway.model.ecs.tasks import StopCode, TaskReport, TaskStatus
from meshway.runtime.host import Launch, TaskHost
from meshway.runtime.iptables import Interception, interception_from_properties
from meshway.runtime.launch import hostname_for, task_id_of
from meshway.runtime.supervisor import TaskSupervisor
from meshway.service.ecs import ClaimedTask, EcsService
from meshway.service.ecs.base import TASK
from meshway.store.base import Store

log = logging.getLogger(__name__)

RUNTIME_ID = "meshway-local"  # one runtime per store on this host; stable across restarts
SHUTDOWN_REASON = "Task stopped because the Meshway server shut down"
CRASH_REASON = "Task stopped because the Meshway server stopped while it ran"
POLL_INTERVAL = 1.0  # a safety net; commits wake the engine at once


class Preparer(Protocol):
    def __call__(self, claimed: ClaimedTask, definition: Mapping[str, Any]) -> Launch: ...


@dataclass(frozen=True, slots=True)
class StoreReporter:
    ecs: EcsService
    task_arn: str

    async def report(self, report: TaskReport) -> None:
        await asyncio.to_thread(
            self.ecs.report_task_state, self.task_arn, report, runtime_id=RUNTIME_ID
        )


def interception_of(definition: Mapping[str, Any]) -> Interception | None:
    proxy = definition.get("proxyConfiguration")
    if not proxy or proxy.get("type", "APPMESH") != "APPMESH":
        return None
    properties = {p["name"]: p.get("value", "") for p in proxy.get("properties") or ()}
    return interception_from_properties(properties)


class RuntimeEngine:
    def __init__(
        self,
        *,
        store: Store,
        ecs: EcsService,
        host: TaskHost,
        prepare: Preparer,
        cleanup: Callable[[], Any] | None = None,
    ) -> None:
        self._store = store
        self._ecs = ecs
        self._host = host
        self._prepare = prepare
        self._cleanup = cleanup
        self._supervisors: dict[str, TaskSupervisor] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._revision = 0
        self._loop_task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._revision = await asyncio.to_thread(self._store.revision)
        await self._recover()

        def wake(_: int) -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self._unsubscribe = self._store.subscribe(wake)
        self._loop_task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop every task (reverse dependency order, stopTimeout honoured), then the engine."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for supervisor in self._supervisors.values():
            supervisor.request_stop(StopCode.TASK_FAILED_TO_START, SHUTDOWN_REASON)
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    # -- the loop ------------------------------------------------------------------------

    async def _loop(self) -> None:
        claim = True  # at start, then on a quiet poll tick, and whenever a new task appears
        while True:
            self._wake.clear()
            try:
                new_tasks = await self._follow_changes()
                if claim or new_tasks:
                    await self._claim()
            except Exception:
                log.exception("runtime engine step failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_INTERVAL)
                claim = False
            except TimeoutError:
                claim = True

    async def _follow_changes(self) -> bool:
        """Act on changed tasks; True when a task this runtime does not run yet changed."""
        changes = await asyncio.to_thread(self._store.changes_since, self._revision)
        if not changes:
            return False
        self._revision = changes[-1].revision
        tasks = {c.key for c in changes if c.kind == TASK}
        for arn in tasks & self._supervisors.keys():
            await self._stop_if_asked(arn)
        return bool(tasks - self._supervisors.keys())

    async def _stop_if_asked(self, arn: str) -> None:
        with self._store.read() as tx:
            record = tx.get(TASK, arn)
        if record is not None and record.body.get("desiredStatus") == "STOPPED":
            reason = str(record.body.get("stoppedReason") or "Task stopped by user")
            self._supervisors[arn].request_stop(StopCode.USER_INITIATED, reason)

    async def _claim(self) -> None:
        for claimed in await asyncio.to_thread(self._ecs.claim_pending_tasks, RUNTIME_ID):
            self._launch(claimed)

    def _launch(self, claimed: ClaimedTask) -> None:
        arn = claimed.task_arn
        definition = claimed.task_definition
        supervisor = TaskSupervisor(
            task_id=task_id_of(arn),
            hostname=hostname_for(task_id_of(arn)),
            containers=list(definition["containerDefinitions"]),
            interception=interception_of(definition),
            prepare=lambda container: self._prepare(claimed, container),
            host=self._host,
            reporter=StoreReporter(self._ecs, arn),
        )
        self._supervisors[arn] = supervisor
        self._running[arn] = asyncio.create_task(self._supervise(arn, supervisor))

    async def _supervise(self, arn: str, supervisor: TaskSupervisor) -> None:
        try:
            await supervisor.run()
        finally:
            self._supervisors.pop(arn, None)
            self._running.pop(arn, None)

    # -- recovery ------------------------------------------------------------------------

    async def _recover(self) -> None:
        if self._cleanup is not None:
            await self._cleanup()
        for claimed in await asyncio.to_thread(self._ecs.claimed_tasks, RUNTIME_ID):
            await self._settle(claimed)

    async def _settle(self, claimed: ClaimedTask) -> None:
        reporter = StoreReporter(self._ecs, claimed.task_arn)
        await reporter.report(
            TaskReport(stop_code=StopCode.TASK_FAILED_TO_START, stopped_reason=CRASH_REASON)
        )
        await reporter.report(TaskReport(last_status=TaskStatus.STOPPED))
