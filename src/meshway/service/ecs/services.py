"""Service operations: CreateService, UpdateService, DescribeServices, ListServices,
DeleteService.

A service record (kind `ecs.service`) hangs under its cluster's ARN, its key is the service ARN
and its `name` its status (ACTIVE, DRAINING, INACTIVE), so the scheduler finds the services it
must reconcile through the store's index. These operations only change what is wanted (the
desired count, the PRIMARY deployment, DRAINING); `meshway.service.ecs.scheduling` starts and
stops the tasks, and the counts Describe shows are computed from those tasks. Messages are ECS's
where known (reference/ecs.md §4 and public reports); the others say `unverified`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import (
    InvalidParameterException,
    ServiceNotActiveException,
    ServiceNotFoundException,
)
from meshway.model.ecs.arns import Scope
from meshway.model.ecs.services import (
    ACTIVE,
    DAEMON,
    DRAINING,
    INACTIVE,
    LAUNCH_KEYS,
    PRIMARY,
    REPLICA,
    TaskView,
    deployment_id,
    new_deployment,
    parse_service_ref,
    service_arn,
    service_view,
    task_view,
)
from meshway.service.ecs.base import (
    SERVICE,
    TASK,
    TASK_DEFINITION,
    EcsBase,
    active_cluster,
    paginate,
    scope_of,
)
from meshway.service.ecs.launch import check_launch, fingerprint, resolve_for_launch
from meshway.service.ecs.registries import DEPLOYMENT_REGISTRIES, check_registries
from meshway.service.ecs.service_input import (
    DAEMON_COUNT,
    NOT_IDEMPOTENT,
    check_create,
    configuration,
    launch_changes,
    launch_fields,
    options,
)
from meshway.store.base import Record, Transaction, iter_all

MAX_DESCRIBE = 10  # DescribeServices takes up to 10 services (the model's doc)


def service_record(body: Mapping[str, Any]) -> Record:
    """The one way service records are made, so their status index is always right."""
    return Record(
        kind=SERVICE,
        key=str(body["serviceArn"]),
        parent=str(body["clusterArn"]),
        name=str(body["status"]),
        body=body,
    )


def service_tasks(
    tx: Transaction, body: Mapping[str, Any]
) -> tuple[list[TaskView], list[TaskView]]:
    """The tasks the scheduler started for this service and has not yet seen STOPPED: (still
    live, now STOPPED)."""
    live: list[TaskView] = []
    finished: list[TaskView] = []
    for arn, deployment in (body.get("_tasks") or {}).items():
        record = tx.get(TASK, arn)
        if record is None:
            continue
        view = task_view(record.body, deployment)
        (finished if view.stopped else live).append(view)
    return live, finished


def view_of(tx: Transaction, body: Mapping[str, Any], *, tags: bool) -> dict[str, Any]:
    live, _ = service_tasks(tx, body)
    return service_view(body, live, tags=tags)


def find_service(tx: Transaction, scope: Scope, cluster: Record, ref: str) -> Record | None:
    parsed = parse_service_ref(ref)
    if parsed is None or parsed.cluster not in (None, cluster.name):
        return None
    return tx.get(SERVICE, service_arn(scope, cluster.name, parsed.name))


class ServiceOps(EcsBase):
    def _deployment_id(self) -> str:
        # ECS's deployment ids are `ecs-svc/` and 19 decimal digits
        return deployment_id(str(int(self._ids.hex(15), 16) % 10**19).rjust(19, "9"))

    def create_service(
        self,
        ctx: RequestContext,
        service_name: str,
        cluster: str | None = None,
        task_definition: str | None = None,
        client_token: str | None = None,
        **members: Any,
    ) -> dict[str, Any]:
        check_create(service_name, task_definition, members)
        assert task_definition is not None
        scope = scope_of(ctx)
        strategy = members.get("scheduling_strategy") or REPLICA
        config = configuration(members.get("deployment_configuration"), strategy)
        request = {"serviceName": service_name, "cluster": cluster, **members}
        request["taskDefinition"] = task_definition
        with self._store.transaction() as tx:
            cluster_record = active_cluster(tx, scope, cluster, store=True)
            definition = resolve_for_launch(tx, scope, task_definition)
            check_launch(definition.body, members)
            registries = check_registries(
                tx, members.get("service_registries") or (), definition.body
            )
            arn = service_arn(scope, cluster_record.name, service_name)
            existing = tx.get(SERVICE, arn)
            if existing is not None and existing.body["status"] != INACTIVE:
                token_scope = f"ecs:CreateService:{arn}:{client_token}"
                remembered = tx.recall(token_scope) if client_token else None
                if remembered is not None and remembered[0] == fingerprint(request):
                    return {"service": view_of(tx, existing.body, tags=True)}
                raise InvalidParameterException(NOT_IDEMPOTENT)
            body = self._new_service(
                scope=scope,
                arn=arn,
                cluster=cluster_record,
                definition=definition,
                strategy=strategy,
                config=config,
                members={**members, "service_registries": registries},
            )
            tx.put(service_record(body))
            if client_token:
                tx.remember(f"ecs:CreateService:{arn}:{client_token}", fingerprint(request), {})
            return {"service": view_of(tx, body, tags=True)}

    def _new_service(
        self,
        *,
        scope: Scope,
        arn: str,
        cluster: Record,
        definition: Record,
        strategy: str,
        config: Mapping[str, Any],
        members: Mapping[str, Any],
    ) -> dict[str, Any]:
        now = self._clock.now()
        desired = 1 if strategy == DAEMON else int(members["desired_count"])
        launch = launch_fields(members)
        deployment = new_deployment(
            deployment=self._deployment_id(),
            task_definition=definition.key,
            desired=desired,
            launch=launch,
            now=now,
        )
        body: dict[str, Any] = {
            "serviceArn": arn,
            "serviceName": arn.rsplit("/", 1)[-1],
            "clusterArn": cluster.key,
            "loadBalancers": [],
            "serviceRegistries": [],
            "status": ACTIVE,
            "desiredCount": desired,
            **launch,
            "taskDefinition": definition.key,
            "deploymentConfiguration": dict(config),
            "deployments": [deployment],
            "events": [],
            "createdAt": now,
            "placementConstraints": [],
            "placementStrategy": [],
            "schedulingStrategy": strategy,
            "deploymentController": {"type": "ECS"},
            "tags": list(members.get("tags") or []),
            "enableECSManagedTags": False,
            "propagateTags": "NONE",
            "enableExecuteCommand": False,
            "createdBy": f"arn:aws:iam::{scope.account}:root",
            "_tasks": {},
        }
        body.update(options(members))
        body["deployments"][0][DEPLOYMENT_REGISTRIES] = body["serviceRegistries"]
        return body

    def update_service(
        self, ctx: RequestContext, service: str, cluster: str | None = None, **members: Any
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            cluster_record = active_cluster(tx, scope, cluster, store=False)
            record = find_service(tx, scope, cluster_record, service)
            if record is None:
                raise ServiceNotFoundException("Service not found.")
            if record.body["status"] != ACTIVE:
                raise ServiceNotActiveException("Service was not ACTIVE.")
            body = self._updated(tx, scope, copy.deepcopy(dict(record.body)), members)
            tx.put(service_record(body))
            return {"service": view_of(tx, body, tags=False)}

    def _updated(
        self, tx: Transaction, scope: Scope, body: dict[str, Any], members: Mapping[str, Any]
    ) -> dict[str, Any]:
        strategy = body["schedulingStrategy"]
        desired = members.get("desired_count")
        if desired is not None:
            if strategy == DAEMON:
                raise InvalidParameterException(DAEMON_COUNT)
            body["desiredCount"] = desired
        body["deploymentConfiguration"] = configuration(
            members.get("deployment_configuration"), strategy, body["deploymentConfiguration"]
        )
        primary = body["deployments"][0]
        launch = {k: primary[k] for k in LAUNCH_KEYS if k in primary}
        launch.update(launch_changes(members))
        ref = members.get("task_definition")
        definition = (
            resolve_for_launch(tx, scope, ref)
            if ref is not None
            else tx.get(TASK_DEFINITION, body["taskDefinition"])
        )
        assert definition is not None  # task definitions are kept while services use them
        if ref is not None or "networkConfiguration" in launch_changes(members):
            check_launch(
                definition.body, {"network_configuration": launch.get("networkConfiguration")}
            )
        registries_before = body.get("serviceRegistries") or []
        if members.get("service_registries") is not None:
            members = {
                **members,
                "service_registries": check_registries(
                    tx, members["service_registries"], definition.body
                ),
            }
        body.update(options(members))
        # ECS starts new tasks when the registries change (UpdateService documentation).
        changed = (
            definition.key != primary["taskDefinition"]
            or launch != {k: primary[k] for k in LAUNCH_KEYS if k in primary}
            or body.get("serviceRegistries", []) != registries_before
        )
        if changed or members.get("force_new_deployment"):
            self._deploy(body, definition.key, launch)
        body["deployments"][0]["desiredCount"] = body["desiredCount"]
        return body

    def _deploy(self, body: dict[str, Any], definition: str, launch: Mapping[str, Any]) -> None:
        """A new PRIMARY deployment; the previous ones stay (ACTIVE) until their tasks are gone."""
        now = self._clock.now()
        for old in body["deployments"]:
            old["status"] = ACTIVE
            old["updatedAt"] = now
        deployment = new_deployment(
            deployment=self._deployment_id(),
            task_definition=definition,
            desired=int(body["desiredCount"]),
            launch=launch,
            now=now,
        )
        deployment[DEPLOYMENT_REGISTRIES] = list(body.get("serviceRegistries") or [])
        body["deployments"].insert(0, deployment)
        body["taskDefinition"] = definition
        for key in LAUNCH_KEYS:
            body.pop(key, None)
        body.update(launch)
        for key in ("_failures", "_retryAt", "_steady", "_blocked"):
            body.pop(key, None)

    def describe_services(
        self,
        ctx: RequestContext,
        services: Sequence[str],
        cluster: str | None = None,
        include: Sequence[str] = (),
    ) -> dict[str, Any]:
        if not services:
            raise InvalidParameterException("Services cannot be empty.")  # unverified wording
        if len(services) > MAX_DESCRIBE:
            raise InvalidParameterException(  # unverified wording; the limit is the model doc's
                f"Services cannot contain more than {MAX_DESCRIBE} elements."
            )
        scope = scope_of(ctx)
        found: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        with self._store.read() as tx:
            cluster_record = active_cluster(tx, scope, cluster, store=False)
            for ref in services:
                record = find_service(tx, scope, cluster_record, ref)
                if record is None:
                    failures.append(
                        {"arn": _missing_arn(scope, cluster_record, ref), "reason": "MISSING"}
                    )
                else:
                    found.append(view_of(tx, record.body, tags="TAGS" in include))
        return {"services": found, "failures": failures}

    def list_services(
        self,
        ctx: RequestContext,
        *,
        cluster: str | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
        launch_type: str | None = None,
        scheduling_strategy: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.read() as tx:
            cluster_record = active_cluster(tx, scope, cluster, store=False)
            records = [
                r
                for r in iter_all(tx, SERVICE, cluster_record.key)
                if r.body["status"] in (ACTIVE, DRAINING)
                and launch_type in (None, r.body.get("launchType"))
                and scheduling_strategy in (None, r.body["schedulingStrategy"])
            ]
        page, token = paginate(records, lambda r: r.seq, next_token, max_results)
        return {"serviceArns": [r.key for r in page], "nextToken": token}

    def delete_service(
        self,
        ctx: RequestContext,
        service: str,
        cluster: str | None = None,
        force: bool | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            cluster_record = active_cluster(tx, scope, cluster, store=False)
            record = find_service(tx, scope, cluster_record, service)
            if record is None:
                raise ServiceNotFoundException("Service not found.")
            body = copy.deepcopy(dict(record.body))
            if body["status"] != ACTIVE:
                raise ServiceNotActiveException("Service was not ACTIVE.")  # unverified
            if body["schedulingStrategy"] == REPLICA and body["desiredCount"] > 0 and not force:
                raise InvalidParameterException(
                    "The service cannot be stopped while it is scaled above 0."
                )
            body.update(status=DRAINING, desiredCount=0)
            for deployment in body["deployments"]:
                if deployment["status"] == PRIMARY:
                    deployment["desiredCount"] = 0
            tx.put(service_record(body))
            return {"service": view_of(tx, body, tags=False)}


def _missing_arn(scope: Scope, cluster: Record, ref: str) -> str:
    parsed = parse_service_ref(ref)
    if parsed is None:
        return ref
    return service_arn(scope, parsed.cluster or cluster.name, parsed.name)
