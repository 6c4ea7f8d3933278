"""The ECS service scheduler: keeps every ACTIVE and DRAINING service reconciled.

It follows the store's change feed like the runtime engine: a changed service, or a changed task
that belongs to a service, wakes it to run one reconcile step for that service
(`EcsService.reconcile_service`, which starts and stops tasks and moves deployments on). Every
`TICK` seconds it also reconciles all services, for what depends on time alone (the health-check
grace period, throttled restarts). The scheduler only writes records: the task runtime, when on,
runs the tasks; without it, tasks the scheduler starts wait in PROVISIONING, as with RunTask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from meshway.service.ecs import EcsService
from meshway.service.ecs.base import SERVICE, TASK
from meshway.store.base import Store

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between full passes; commits wake the scheduler at once


class ServiceScheduler:
    def __init__(self, *, store: Store, ecs: EcsService, tick: float = TICK) -> None:
        self._store = store
        self._ecs = ecs
        self._tick = tick
        self._revision = 0
        self._owner: dict[str, str] = {}  # task ARN → service ARN
        self._tasks: dict[str, frozenset[str]] = {}  # service ARN → its tracked tasks
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._revision = await asyncio.to_thread(self._store.revision)

        def wake(_: int) -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self._unsubscribe = self._store.subscribe(wake)
        self._loop_task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task

    async def _loop(self) -> None:
        last_full = -float("inf")
        while True:
            self._wake.clear()
            full = time.monotonic() - last_full >= self._tick
            if full:
                last_full = time.monotonic()
            try:
                await self._step(full)
            except Exception:
                log.exception("service scheduler step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._tick)

    async def _step(self, full: bool) -> None:
        targets = await asyncio.to_thread(self._changed_services)
        if full:
            targets |= set(await asyncio.to_thread(self._ecs.services_to_reconcile))
        for service in sorted(targets):
            try:
                result = await asyncio.to_thread(self._ecs.reconcile_service, service)
            except Exception:  # one broken service must not stop the others
                log.exception("reconciling %s failed", service)
                continue
            self._track(service, result.tasks if result.active else frozenset())

    def _changed_services(self) -> set[str]:
        """Services whose record, or one of whose tasks, changed since the last look."""
        found: set[str] = set()
        while True:
            changes = self._store.changes_since(self._revision)
            if not changes:
                return found
            self._revision = changes[-1].revision
            for change in changes:
                if change.kind == SERVICE:
                    found.add(change.key)
                elif change.kind == TASK and change.key in self._owner:
                    found.add(self._owner[change.key])

    def _track(self, service: str, tasks: frozenset[str]) -> None:
        for task in self._tasks.pop(service, frozenset()) - tasks:
            self._owner.pop(task, None)
        if tasks:
            self._tasks[service] = tasks
            self._owner.update(dict.fromkeys(tasks, service))
