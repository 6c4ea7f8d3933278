"""Cluster operations: CreateCluster, DescribeClusters (unknown names in `failures` as MISSING),
ListClusters and DeleteCluster (refused while tasks or services are active).

Task and service counts are computed from the records that hang under the cluster, so they can
never drift from what ListTasks shows. Deleted clusters stay INACTIVE: Describe still shows them,
List does not, and CreateCluster with the same name makes them ACTIVE again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import (
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    ClusterNotFoundException,
    InvalidParameterException,
    UnsupportedFeatureException,
)
from meshway.model.ecs.arns import cluster_arn, is_name
from meshway.model.ecs.tasks import TaskStatus
from meshway.service.ecs.base import (
    CLUSTER,
    CLUSTER_PATTERN,
    DEFAULT_CLUSTER,
    LIVE_PHASES,
    SERVICE,
    EcsBase,
    active_cluster,
    cluster_key,
    find_cluster,
    host_instance_arn,
    implicit_default,
    new_cluster_body,
    paginate,
    scope_of,
    tasks_in,
)
from meshway.store.base import Record, Transaction, iter_all

MAX_DESCRIBE = 100
_PENDING = frozenset({TaskStatus.PROVISIONING, TaskStatus.PENDING, TaskStatus.ACTIVATING})
_ACTIVE_SERVICE = frozenset({"ACTIVE", "DRAINING"})


def cluster_view(tx: Transaction, record: Record, include: Sequence[str]) -> dict[str, Any]:
    """The cluster as Describe shows it, with live counts; tags only when asked for."""
    body = dict(record.body)
    running = pending = 0
    for task in tasks_in(tx, LIVE_PHASES, record.key):
        status = task.body["lastStatus"]
        running += status == TaskStatus.RUNNING
        pending += status in _PENDING
    services = sum(s.body.get("status") == "ACTIVE" for s in iter_all(tx, SERVICE, record.key))
    body.update(
        registeredContainerInstancesCount=1 if body["status"] == "ACTIVE" else 0,
        runningTasksCount=running,
        pendingTasksCount=pending,
        activeServicesCount=services,
        statistics=[],
    )
    if "TAGS" not in include:
        body.pop("tags", None)
    return body


def _stored_options(options: dict[str, Any]) -> dict[str, Any]:
    """CreateCluster's other members, kept as given and shown back by Describe."""
    wire = {
        "configuration": "configuration",
        "capacity_providers": "capacityProviders",
        "default_capacity_provider_strategy": "defaultCapacityProviderStrategy",
        "service_connect_defaults": "serviceConnectDefaults",
    }
    return {wire[k]: v for k, v in options.items() if k in wire and v is not None}


class ClusterOps(EcsBase):
    def create_cluster(
        self,
        ctx: RequestContext,
        cluster_name: str = DEFAULT_CLUSTER,
        tags: Sequence[dict[str, str]] = (),
        settings: Sequence[dict[str, str]] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        if not is_name(cluster_name):  # unverified for CreateCluster; ECS's cluster wording
            raise InvalidParameterException(
                f"Cluster must match {CLUSTER_PATTERN}, but was {cluster_name}"
            )
        scope = scope_of(ctx)
        arn = cluster_arn(scope, cluster_name)
        with self._store.transaction() as tx:
            existing = tx.get(CLUSTER, arn)
            if existing is not None and existing.body["status"] == "ACTIVE":
                record = existing  # CreateCluster is idempotent for an ACTIVE cluster
            else:
                body = new_cluster_body(arn, cluster_name, tags=tags, settings=settings)
                body.update(_stored_options(options))
                record = tx.put(
                    Record(kind=CLUSTER, key=arn, parent=scope.key, name=cluster_name, body=body)
                )
            return {"cluster": cluster_view(tx, record, ("TAGS",))}

    def describe_clusters(
        self,
        ctx: RequestContext,
        clusters: Sequence[str] | None = None,
        include: Sequence[str] = (),
    ) -> dict[str, Any]:
        if clusters is not None and len(clusters) > MAX_DESCRIBE:
            raise InvalidParameterException(  # unverified wording; the limit is the model doc's
                f"Clusters cannot contain more than {MAX_DESCRIBE} elements."
            )
        scope = scope_of(ctx)
        found: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        with self._store.read() as tx:
            for ref in clusters or [DEFAULT_CLUSTER]:
                record = find_cluster(tx, scope, ref)
                if record is None:
                    failures.append({"arn": cluster_key(scope, ref), "reason": "MISSING"})
                else:
                    found.append(cluster_view(tx, record, include))
        return {"clusters": found, "failures": failures}

    def list_clusters(
        self, ctx: RequestContext, next_token: str | None = None, max_results: int | None = None
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.read() as tx:
            records = list(iter_all(tx, CLUSTER, scope.key))
            if tx.get(CLUSTER, cluster_arn(scope, DEFAULT_CLUSTER)) is None:
                records.insert(0, implicit_default(scope))
        active = [r for r in records if r.body["status"] == "ACTIVE"]
        page, token = paginate(active, lambda r: r.seq, next_token, max_results)
        return {"clusterArns": [r.key for r in page], "nextToken": token}

    def delete_cluster(self, ctx: RequestContext, cluster: str) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            record = find_cluster(tx, scope, cluster)
            if record is None or record.body["status"] != "ACTIVE":
                raise ClusterNotFoundException("Cluster not found.")
            if any(
                s.body.get("status") in _ACTIVE_SERVICE for s in iter_all(tx, SERVICE, record.key)
            ):
                raise ClusterContainsServicesException(
                    "The Cluster cannot be deleted while Services are active."
                )
            if tasks_in(tx, LIVE_PHASES, record.key):
                raise ClusterContainsTasksException(
                    "The Cluster cannot be deleted while Tasks are active."
                )
            body = {**record.body, "status": "INACTIVE"}
            tx.put(
                Record(
                    kind=CLUSTER, key=record.key, parent=record.parent, name=record.name, body=body
                )
            )
            return {
                "cluster": cluster_view(
                    tx, Record(kind=CLUSTER, key=record.key, body=body), ("TAGS",)
                )
            }

    def list_container_instances(
        self,
        ctx: RequestContext,
        *,
        cluster: str | None = None,
        status: str | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
        filter: str | None = None,  # the member's wire name
    ) -> dict[str, Any]:
        """This host is each cluster's one container instance (the target StartTask takes)."""
        if filter:
            raise UnsupportedFeatureException(
                "Cluster query language filters are not supported by Meshway."
            )
        scope = scope_of(ctx)
        with self._store.read() as tx:
            record = active_cluster(tx, scope, cluster, store=False)
        arns = [host_instance_arn(scope, record.key)] if status in (None, "ACTIVE") else []
        page, token = paginate(arns, str, next_token, max_results)
        return {"containerInstanceArns": page, "nextToken": token}
