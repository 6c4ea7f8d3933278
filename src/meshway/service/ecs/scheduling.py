"""The service scheduler's interface to the store: which services need reconciling, and one
reconcile step applied in one transaction.

This is not an AWS API; `meshway.runtime.scheduler` calls `reconcile_service(arn)` whenever a
service or one of its tasks changes (and on a timer, for grace periods and throttling). The
decisions are `meshway.model.ecs.rollout.plan_service`; this module applies them: tasks start
through the same code RunTask uses (group `service:<name>`, startedBy the deployment id), stops
are StopTask's with stopCode ServiceSchedulerInitiated. A step that changes nothing writes
nothing, so following the change feed settles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshway.core import arns
from meshway.model.ecs.arns import Scope
from meshway.model.ecs.lifecycle import apply_report
from meshway.model.ecs.rollout import Plan, plan_service
from meshway.model.ecs.services import (
    ACTIVE,
    DRAINING,
    INACTIVE,
    new_event,
    started_message,
    with_events,
)
from meshway.model.ecs.tasks import StopCode, TaskReport, TaskStatus, request_stop
from meshway.service.ecs.base import (
    CLUSTER,
    SERVICE,
    TASK,
    TASK_DEFINITION,
    host_instance_arn,
    task_record,
)
from meshway.service.ecs.registries import sync_task
from meshway.service.ecs.services import ServiceOps, service_record, service_tasks
from meshway.service.ecs.tasks import TaskOps
from meshway.store.base import Record, Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciled:
    """After one step: whether the service still needs a scheduler, and its tracked tasks."""

    active: bool
    tasks: frozenset[str]


_DONE = Reconciled(active=False, tasks=frozenset())


def _scope(service: str) -> Scope:
    parsed = arns.parse(service)
    assert parsed is not None  # service keys are ARNs Meshway made
    return Scope(region=parsed.region, account=parsed.account)


def _reconciled(body: Mapping[str, Any]) -> Reconciled:
    return Reconciled(
        active=body["status"] != INACTIVE, tasks=frozenset((body.get("_tasks") or {}).keys())
    )


class SchedulingOps(ServiceOps, TaskOps):
    def services_to_reconcile(self) -> list[str]:
        """Every ACTIVE or DRAINING service, in creation order."""
        with self._store.read() as tx:
            found = tx.find(SERVICE, name=ACTIVE) + tx.find(SERVICE, name=DRAINING)
        return [r.key for r in sorted(found, key=lambda r: r.seq)]

    def reconcile_service(self, service: str) -> Reconciled:
        """One reconcile step; a read first, so a step with nothing to do takes no write lock."""
        with self._store.read() as tx:
            found = self._plan(tx, service)
        if found is None:
            return _DONE
        record, plan = found
        if plan.idle and plan.service == record.body:
            return _reconciled(record.body)
        with self._store.transaction() as tx:
            found = self._plan(tx, service)
            if found is None:
                return _DONE
            record, plan = found
            body = self._apply(tx, plan)
            if body != record.body:
                tx.put(service_record(body))
            return _reconciled(body)

    def _plan(self, tx: Transaction, service: str) -> tuple[Record, Plan] | None:
        record = tx.get(SERVICE, service)
        if record is None or record.body["status"] == INACTIVE:
            return None
        live, finished = service_tasks(tx, record.body)
        plan = plan_service(
            record.body,
            live,
            finished,
            now=self._clock.now(),
            new_id=self._ids.uuid,
            new_deployment_id=self._deployment_id,
        )
        return record, plan

    def _apply(self, tx: Transaction, plan: Plan) -> dict[str, Any]:
        body = plan.service
        now = self._clock.now()
        for arn, reason in plan.stops:
            self._stop_for_service(tx, arn, reason, now)
        events = []
        for deployment, count in plan.launches:
            started = [self._start_for_service(tx, body, deployment) for _ in range(count)]
            body.setdefault("_tasks", {}).update({arn: deployment for arn in started})
            events.append(
                new_event(self._ids.uuid(), now, started_message(body["serviceName"], started))
            )
        if events:
            body["events"] = with_events(body, events)
        return body

    def _stop_for_service(self, tx: Transaction, arn: str, reason: str, now: float) -> None:
        record = tx.get(TASK, arn)
        if record is None or record.body["lastStatus"] == TaskStatus.STOPPED:
            return
        task = request_stop(record.body, StopCode.SERVICE_SCHEDULER_INITIATED, reason, now)
        if "_runtime" not in task:  # never claimed: nothing runs, nothing to tear down
            task = apply_report(task, TaskReport(last_status=TaskStatus.STOPPED), now)
        tx.put(task_record(record.parent, sync_task(tx, task, now)))

    def _start_for_service(self, tx: Transaction, body: Mapping[str, Any], deployment: str) -> str:
        """One task of `deployment`, launched as RunTask launches it."""
        scope = _scope(str(body["serviceArn"]))
        spec = next(d for d in body["deployments"] if d["id"] == deployment)
        cluster = tx.get(CLUSTER, str(body["clusterArn"]))
        definition = tx.get(TASK_DEFINITION, str(spec["taskDefinition"]))
        assert cluster is not None and definition is not None  # kept while services use them
        task = self._launch(
            tx,
            scope=scope,
            cluster=cluster,
            definition=definition,
            instance=host_instance_arn(scope, cluster.key),
            members=_task_members(body, spec),
        )
        return str(task["taskArn"])


def _task_members(service: Mapping[str, Any], deployment: Mapping[str, Any]) -> dict[str, Any]:
    """RunTask's members for a task of this service's deployment."""
    tags = list(service.get("tags") or []) if service.get("propagateTags") == "SERVICE" else []
    if service.get("enableECSManagedTags"):
        tags += [
            {"key": "aws:ecs:clusterName", "value": str(service["clusterArn"]).rsplit("/", 1)[-1]},
            {"key": "aws:ecs:serviceName", "value": str(service["serviceName"])},
        ]
    return {
        "network_configuration": deployment.get("networkConfiguration"),
        "launch_type": deployment.get("launchType"),
        "capacity_provider_strategy": deployment.get("capacityProviderStrategy"),
        "platform_version": deployment.get("platformVersion"),
        "group": f"service:{service['serviceName']}",
        "started_by": deployment["id"],
        "tags": tags,
        "propagate_tags": service.get("propagateTags"),
        "enable_execute_command": bool(service.get("enableExecuteCommand")),
    }
