"""Task operations at the API level: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.

RunTask and StartTask store task records (`meshway.model.ecs.tasks.new_task`) and nothing else
happens here: the task runtime claims them through `RuntimeOps` and reports their progress. A
task no runtime has claimed yet has nothing to tear down, so StopTask stops it at once; a claimed
one gets desiredStatus STOPPED and the runtime takes it the rest of the way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import (
    InvalidParameterException,
    ServiceNotFoundException,
)
from meshway.model.ecs.arns import (
    NAME_PATTERN,
    Scope,
    container_arn,
    is_name,
    parse_task_ref,
    resource_name,
    task_arn,
)
from meshway.model.ecs.lifecycle import apply_report
from meshway.model.ecs.tasks import (
    NewTask,
    StopCode,
    TaskReport,
    TaskStatus,
    new_task,
    request_stop,
)
from meshway.service.ecs.base import (
    DESIRED_RUNNING,
    SERVICE,
    STOPPED_PHASE,
    STOPPING_PHASE,
    TASK,
    EcsBase,
    active_cluster,
    cluster_key,
    paginate,
    scope_of,
    task_record,
    tasks_in,
)
from meshway.service.ecs.launch import fingerprint, placement, prepare, recall, token_scope
from meshway.service.ecs.registries import sync_task
from meshway.store.base import Record, Transaction, iter_all

MAX_COUNT = 10
MAX_DESCRIBE = 100
DEFAULT_STOP_REASON = "Task stopped by user"


def find_task(tx: Transaction, scope: Scope, cluster: str | None, ref: str) -> Record | None:
    parsed = parse_task_ref(ref)
    if parsed is None:
        return None
    name = parsed.cluster or resource_name(cluster_key(scope, cluster), "cluster")
    return tx.get(TASK, task_arn(scope, name, parsed.task_id))


def public_task(body: Mapping[str, Any], *, tags: bool) -> dict[str, Any]:
    out = dict(body)
    if not tags:
        out.pop("tags", None)
    return out


class TaskOps(EcsBase):
    def run_task(
        self, ctx: RequestContext, task_definition: str, count: int = 1, **members: Any
    ) -> dict[str, Any]:
        if not 1 <= count <= MAX_COUNT:
            raise InvalidParameterException(f"count must be between 1 and {MAX_COUNT}.")
        scope, token = scope_of(ctx), members.get("client_token")
        request = {"taskDefinition": task_definition, "count": count, **members}
        with self._store.transaction() as tx:
            if token and (earlier := recall(tx, scope, token, request)) is not None:
                return earlier
            cluster, definition, instance = prepare(tx, scope, task_definition, members)
            tasks = [
                self._launch(
                    tx,
                    scope=scope,
                    cluster=cluster,
                    definition=definition,
                    instance=instance,
                    members=members,
                )
                for _ in range(count)
            ]
            out = {"tasks": [public_task(t, tags=True) for t in tasks], "failures": []}
            if token:
                tx.remember(token_scope(scope, token), fingerprint(request), out)
        return out

    def start_task(
        self,
        ctx: RequestContext,
        task_definition: str,
        container_instances: Sequence[str],
        **members: Any,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        tasks: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        with self._store.transaction() as tx:
            cluster, definition, instance = prepare(tx, scope, task_definition, members)
            for ref in container_instances:
                if ref not in (instance, instance.rsplit("/", 1)[-1]):
                    failures.append({"arn": ref, "reason": "MISSING"})
                    continue
                tasks.append(
                    self._launch(
                        tx,
                        scope=scope,
                        cluster=cluster,
                        definition=definition,
                        instance=instance,
                        members=members,
                    )
                )
        return {"tasks": [public_task(t, tags=True) for t in tasks], "failures": failures}

    def _launch(
        self,
        tx: Transaction,
        *,
        scope: Scope,
        cluster: Record,
        definition: Record,
        instance: str,
        members: Mapping[str, Any],
    ) -> dict[str, Any]:
        task_id = self._ids.hex(32)
        cluster_name = cluster.name
        td = definition.body
        tags = list(members.get("tags") or [])
        if members.get("propagate_tags") == "TASK_DEFINITION":
            tags += [t for t in td.get("tags", []) if t["key"] not in {x["key"] for x in tags}]
        network = (members.get("network_configuration") or {}).get("awsvpcConfiguration") or {}
        where = placement(members, instance)
        body = new_task(
            NewTask(
                task_arn=task_arn(scope, cluster_name, task_id),
                cluster_arn=cluster.key,
                task_definition=td,
                container_arns=[
                    container_arn(scope, cluster_name, task_id, self._ids.uuid())
                    for _ in td["containerDefinitions"]
                ],
                container_instance_arn=where.pop("containerInstanceArn", None),
                overrides=members.get("overrides") or {},
                launch_type=where.pop("launchType"),
                group=members.get("group") or f"family:{td['family']}",
                started_by=members.get("started_by"),
                tags=tags,
                subnets=network.get("subnets") or [],
                attachment_id=self._ids.uuid(),
                availability_zone=f"{scope.region}a",
                enable_execute_command=bool(members.get("enable_execute_command")),
                created_at=self._clock.now(),
                extra={**where, "_networkConfiguration": network},
            )
        )
        tx.put(task_record(cluster.key, body))
        return body

    def stop_task(
        self, ctx: RequestContext, task: str, cluster: str | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            active_cluster(tx, scope, cluster, store=False)
            record = find_task(tx, scope, cluster, task)
            if record is None:
                raise InvalidParameterException("The referenced task was not found.")
            body = dict(record.body)
            if body["lastStatus"] != TaskStatus.STOPPED:
                now = self._clock.now()
                body = request_stop(
                    body, StopCode.USER_INITIATED, reason or DEFAULT_STOP_REASON, now
                )
                if "_runtime" not in body:  # never claimed: nothing runs, nothing to tear down
                    body = apply_report(body, TaskReport(last_status=TaskStatus.STOPPED), now)
                body = sync_task(tx, body, now)
                tx.put(task_record(record.parent, body))
        return {"task": public_task(body, tags=True)}

    def describe_tasks(
        self,
        ctx: RequestContext,
        tasks: Sequence[str],
        cluster: str | None = None,
        include: Sequence[str] = (),
    ) -> dict[str, Any]:
        if not tasks:
            raise InvalidParameterException("Tasks cannot be empty.")
        if len(tasks) > MAX_DESCRIBE:
            raise InvalidParameterException(  # unverified wording; the limit is the model doc's
                f"Tasks cannot contain more than {MAX_DESCRIBE} elements."
            )
        scope = scope_of(ctx)
        found: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        with self._store.read() as tx:
            active_cluster(tx, scope, cluster, store=False)
            for ref in tasks:
                record = find_task(tx, scope, cluster, ref)
                if record is None:
                    failures.append({"arn": _failure_arn(scope, cluster, ref), "reason": "MISSING"})
                else:
                    found.append(public_task(record.body, tags="TAGS" in include))
        return {"tasks": found, "failures": failures}

    def list_tasks(
        self,
        ctx: RequestContext,
        cluster: str | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        family, desired = filters.get("family"), filters.get("desired_status") or "RUNNING"
        if family is not None and not is_name(family):
            raise InvalidParameterException(f"family must match {NAME_PATTERN}")
        with self._store.read() as tx:
            record = active_cluster(tx, scope, cluster, store=False)
            service = filters.get("service_name")
            if service is not None and not any(
                s.body.get("serviceName") == service for s in iter_all(tx, SERVICE, record.key)
            ):
                raise ServiceNotFoundException("Service not found.")
            phases = (
                DESIRED_RUNNING
                if desired == "RUNNING"
                else ((STOPPING_PHASE, STOPPED_PHASE) if desired == "STOPPED" else ())
            )
            tasks = [t for t in tasks_in(tx, phases, record.key) if _matches(t.body, filters)]
        page, token = paginate(tasks, lambda r: r.seq, next_token, max_results)
        return {"taskArns": [r.key for r in page], "nextToken": token}


def _matches(task: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    family = filters.get("family")
    service = filters.get("service_name")
    instance = task.get("containerInstanceArn", "")
    checks = (
        family is None
        or resource_name(task["taskDefinitionArn"], "task-definition").rsplit(":", 1)[0] == family,
        filters.get("started_by") in (None, task.get("startedBy")),
        service is None or task.get("group") == f"service:{service}",
        filters.get("launch_type") in (None, task.get("launchType")),
        filters.get("container_instance") in (None, instance, instance.rsplit("/", 1)[-1]),
    )
    return all(checks)


def _failure_arn(scope: Scope, cluster: str | None, ref: str) -> str:
    parsed = parse_task_ref(ref)
    if parsed is None or parsed.cluster is not None:
        return ref
    return task_arn(scope, resource_name(cluster_key(scope, cluster), "cluster"), parsed.task_id)
