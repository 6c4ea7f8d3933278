"""DiscoverInstances and DiscoverInstancesRevision: instances found by namespace and service
name, as applications and App Mesh's `awsCloudMap` service discovery ask for them.

NamespaceName is the namespace's HttpName (equal to its Name here). QueryParameters must all
match, OptionalParameters narrow the answer only when something matches them, HealthStatus
(default HEALTHY: "When you configure health checks, by default Cloud Map returns healthy
resources", Developer Guide, services-health-checks) is ignored for a service without health
checks ("all instances are returned", DiscoverInstances > HealthStatus), and the answer is shuffled,
as AWS's ("returns a randomized list of instances"), then cut to MaxResults (default 100).
OwnerAccount names the caller's own account or nothing: no namespace is shared here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import NamespaceNotFound, ServiceNotFound
from meshway.model.servicediscovery import rules
from meshway.model.servicediscovery.records import (
    DNS_TYPES,
    INSTANCE,
    NAMESPACE,
    SERVICE,
    CloudMapScope,
    has_health_checks,
)
from meshway.service.servicediscovery.base import CloudMapBase, scope_of
from meshway.store.base import Record, Transaction, iter_all

DEFAULT_DISCOVER = 100


def _namespace_named(tx: Transaction, scope: CloudMapScope, name: str) -> Record:
    for record in tx.find(NAMESPACE, parent=scope.key, name=name):
        return record
    raise NamespaceNotFound(f"Namespace {name} not found.")  # unverified wording


def _service_named(tx: Transaction, namespace: Record, name: str) -> Record:
    dns = namespace.body["Type"] in DNS_TYPES
    for record in iter_all(tx, SERVICE, namespace.key):
        stored = str(record.body["Name"])
        if stored == name or (dns and stored.lower() == name.lower()):
            return record
    raise ServiceNotFound(f"Service {name} not found.")  # unverified wording


def _summary(namespace: Record, service: Record, instance: Mapping[str, Any]) -> dict[str, Any]:
    http_name = namespace.body["Properties"]["HttpProperties"]["HttpName"]
    return {
        "InstanceId": instance["Id"],
        "NamespaceName": http_name,
        "ServiceName": service.body["Name"],
        "HealthStatus": instance["HealthStatus"],
        "Attributes": dict(instance.get("Attributes") or {}),
    }


class DiscoveryOps(CloudMapBase):
    def _found(
        self, tx: Transaction, ctx: RequestContext, names: tuple[str, str], owner: str | None
    ) -> tuple[Record, Record]:
        scope = scope_of(ctx)
        if owner not in (None, scope.account):
            raise NamespaceNotFound(f"Namespace {names[0]} not found.")  # unverified wording
        namespace = _namespace_named(tx, scope, names[0])
        return namespace, _service_named(tx, namespace, names[1])

    def discover_instances(
        self,
        ctx: RequestContext,
        *,
        namespace_name: str,
        service_name: str,
        max_results: int | None = None,
        query_parameters: Mapping[str, str] | None = None,
        optional_parameters: Mapping[str, str] | None = None,
        health_status: str = "HEALTHY",
        owner_account: str | None = None,
    ) -> dict[str, Any]:
        with self._store.read() as tx:
            names = (namespace_name, service_name)
            namespace, service = self._found(tx, ctx, names, owner_account)
            instances = [r.body for r in iter_all(tx, INSTANCE, service.key)]
        chosen = rules.select_instances(
            instances, query_parameters or {}, optional_parameters or {}
        )
        chosen = rules.filter_health(chosen, health_status, checked=has_health_checks(service.body))
        self._rng.shuffle(chosen)
        limited = chosen[: max_results or DEFAULT_DISCOVER]
        return {
            "Instances": [_summary(namespace, service, i) for i in limited],
            "InstancesRevision": int(service.body.get("_instancesRevision", 0)),
        }

    def discover_instances_revision(
        self,
        ctx: RequestContext,
        namespace_name: str,
        service_name: str,
        owner_account: str | None = None,
    ) -> dict[str, Any]:
        with self._store.read() as tx:
            names = (namespace_name, service_name)
            _, service = self._found(tx, ctx, names, owner_account)
        return {"InstancesRevision": int(service.body.get("_instancesRevision", 0))}
