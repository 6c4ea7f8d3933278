"""The interface the task runtime uses to drive tasks: claim, report, and find its own tasks.

This is not an AWS API; it is how the next layer up (`meshway.runtime`) takes tasks that RunTask
or StartTask stored and makes DescribeTasks tell the truth about them:

1. `claim_pending_tasks(runtime_id)` hands over every task still waiting for a runtime
   (desiredStatus RUNNING, lastStatus PROVISIONING or PENDING, unclaimed), marking each as
   claimed in the same transaction, so two runtimes never get the same task.
2. `report_task_state(task_arn, TaskReport(...), runtime_id=...)` records progress: task and
   container statuses, health, exit codes, the task's IP, or a stop decided by the runtime
   (`stop_code`). Rules: `meshway.model.ecs.lifecycle.apply_report`; a report that breaks them
   raises `TaskStateError` and changes nothing.
3. `claimed_tasks(runtime_id)` lists the runtime's unfinished tasks, e.g. after a restart, or to
   notice desiredStatus STOPPED set by StopTask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshway.model.ecs.lifecycle import apply_report
from meshway.model.ecs.tasks import TaskReport, TaskStateError, TaskStatus
from meshway.service.ecs.base import (
    RUNNING_PHASE,
    STOPPING_PHASE,
    TASK,
    TASK_DEFINITION,
    WAITING_PHASE,
    EcsBase,
    task_record,
    tasks_in,
)
from meshway.service.ecs.registries import sync_task
from meshway.store.base import Record, Transaction

_WAITING = frozenset({TaskStatus.PROVISIONING, TaskStatus.PENDING})


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedTask:
    """A task and the task definition it runs, as stored (wire form; `_` fields are internal)."""

    task: Mapping[str, Any]
    task_definition: Mapping[str, Any]

    @property
    def task_arn(self) -> str:
        return str(self.task["taskArn"])


def _put(tx: Transaction, record: Record, body: Mapping[str, Any]) -> None:
    tx.put(task_record(record.parent, body))


def _claimable(body: Mapping[str, Any]) -> bool:
    return (
        "_runtime" not in body
        and body["desiredStatus"] == "RUNNING"
        and body["lastStatus"] in _WAITING
    )


def _claimed(tx: Transaction, body: Mapping[str, Any]) -> ClaimedTask:
    definition = tx.get(TASK_DEFINITION, body["taskDefinitionArn"])
    if definition is None:  # task definitions are never removed while tasks reference them
        raise TaskStateError(f"task {body['taskArn']} lost its task definition")
    return ClaimedTask(task=body, task_definition=definition.body)


class RuntimeOps(EcsBase):
    def claim_pending_tasks(self, runtime_id: str, limit: int | None = None) -> list[ClaimedTask]:
        """Claim unclaimed tasks waiting to run, oldest first (at most `limit`)."""
        # A read pass first, so that polling with nothing to claim never takes the write lock.
        with self._store.read() as tx:
            waiting = [r.key for r in tasks_in(tx, (WAITING_PHASE,)) if _claimable(r.body)]
        if not waiting:
            return []
        claimed: list[ClaimedTask] = []
        with self._store.transaction() as tx:
            for key in waiting[:limit]:
                record = tx.get(TASK, key)
                if record is None or not _claimable(record.body):
                    continue  # claimed or stopped since the read pass
                body = {**record.body, "_runtime": runtime_id, "_claimedAt": self._clock.now()}
                _put(tx, record, body)
                claimed.append(_claimed(tx, body))
        return claimed

    def claimed_tasks(self, runtime_id: str) -> list[ClaimedTask]:
        """This runtime's tasks that have not reached STOPPED."""
        with self._store.read() as tx:
            return [
                _claimed(tx, r.body)
                for r in tasks_in(tx, (RUNNING_PHASE, STOPPING_PHASE))
                if r.body.get("_runtime") == runtime_id
            ]

    def report_task_state(
        self, task_arn: str, report: TaskReport, *, runtime_id: str
    ) -> Mapping[str, Any]:
        """Apply one report to a task this runtime claimed; returns the task as now stored."""
        with self._store.transaction() as tx:
            record = tx.get(TASK, task_arn)
            if record is None:
                raise TaskStateError(f"no task {task_arn}")
            if record.body.get("_runtime") != runtime_id:
                raise TaskStateError(f"task {task_arn} is not claimed by runtime {runtime_id!r}")
            now = self._clock.now()
            body = sync_task(tx, apply_report(record.body, report, now), now)
            if body != record.body:
                _put(tx, record, body)
            return body
