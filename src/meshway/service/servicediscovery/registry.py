"""Instance records, written inside a caller's transaction: the one place instances change.

The Cloud Map API (RegisterInstance, DeregisterInstance, UpdateInstanceCustomHealthStatus) and
ECS's service registries (the ECS side registers each task while it is ACTIVATING, pushes its
health, and deregisters it when it stops) both call these, so both keep the same rules and the
same revision. Nothing here knows a request: the ECS side calls them within its own
transaction, with its own clock reading.

    find_service_by_arn(tx, arn) -> Mapping | None        # the SERVICE document
    register_task_instance(tx, *, service_arn, instance_id, attributes, health, ecs_task_arn,
                           now) -> dict            # upsert; ServiceNotFound, InvalidInput
    deregister_instance(tx, service_arn, instance_id) -> bool       # False: nothing to remove
    set_instance_health(tx, service_arn, instance_id, status) -> bool

A service's `_instancesRevision` (DiscoverInstancesRevision) grows with every registration and
deregistration; health changes leave it alone ("The health status updates don't update
InstancesRevision", DiscoverInstancesRevisionResponse, servicediscovery 2017-03-14).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshway.core.errors import InvalidInput, ResourceLimitExceeded, ServiceNotFound
from meshway.model.servicediscovery import rules
from meshway.model.servicediscovery.records import (
    HEALTHY,
    HTTP,
    INSTANCE,
    NAMESPACE,
    SERVICE,
    UNHEALTHY,
    instance_key,
    scope_of_arn,
)
from meshway.store.base import Record, Transaction

MAX_INSTANCES_PER_SERVICE = 1000  # Cloud Map quotas (and ECS's ≤1000 tasks per service)


def find_service_by_arn(tx: Transaction, arn: str) -> Mapping[str, Any] | None:
    """The SERVICE document (records.py) of a Cloud Map service ARN, as ECS's `registryArn`
    gives it; None when there is no such service."""
    record = tx.get(SERVICE, arn)
    return record.body if record is not None else None


def register_task_instance(
    tx: Transaction,
    *,
    service_arn: str,
    instance_id: str,
    attributes: Mapping[str, str],
    health: str | None,
    ecs_task_arn: str,
    now: float,
) -> dict[str, Any]:
    """Register (or update) a task's instance; `health` (HEALTHY | UNHEALTHY) is the initial
    custom health for a service with HealthCheckCustomConfig, else ignored. Raises
    ServiceNotFound when the Cloud Map service is gone, InvalidInput when the attributes do
    not satisfy the service's records (e.g. no AWS_INSTANCE_PORT for an SRV record)."""
    service = tx.get(SERVICE, service_arn)
    if service is None:
        raise ServiceNotFound(f"Service {service_arn} not found.")  # unverified wording
    return upsert_instance(
        tx,
        service,
        instance_id=instance_id,
        attributes=attributes,
        health=health,
        extra={"_ecsTask": ecs_task_arn, "_updatedAt": now},
    )


def upsert_instance(
    tx: Transaction,
    service: Record,
    *,
    instance_id: str,
    attributes: Mapping[str, str],
    health: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Create or replace one instance of `service` after Cloud Map's attribute rules."""
    namespace = tx.get(NAMESPACE, service.parent)
    namespace_type = str(namespace.body["Type"]) if namespace is not None else HTTP
    message = rules.check_attributes(service.body, namespace_type, attributes)
    if message is not None:
        raise InvalidInput(message)
    key = instance_key(service.key, instance_id)
    existing = tx.get(INSTANCE, key)
    if existing is None and tx.count(INSTANCE, service.key) >= MAX_INSTANCES_PER_SERVICE:
        raise ResourceLimitExceeded(  # unverified wording
            f"The number of instances exceeds the quota of {MAX_INSTANCES_PER_SERVICE}."
        )
    body = _instance_body(service, instance_id, attributes, health)
    body.update(extra or {})
    if existing is not None and _same(existing.body, body, ignore=("_updatedAt",)):
        return dict(existing.body)  # ECS re-syncs a task often: no write, no new revision
    tx.put(Record(kind=INSTANCE, key=key, parent=service.key, name=instance_id, body=body))
    if existing is None or not _same(existing.body, body, ignore=("_updatedAt", "HealthStatus")):
        _bump_revision(tx, service)
    return body


def _same(old: Mapping[str, Any], new: Mapping[str, Any], *, ignore: tuple[str, ...]) -> bool:
    def kept(body: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in ignore}

    return kept(old) == kept(new)


def _instance_body(
    service: Record, instance_id: str, attributes: Mapping[str, str], health: str | None
) -> dict[str, Any]:
    scope = scope_of_arn(service.key)
    status = rules.initial_health(service.body, attributes)
    if health in (HEALTHY, UNHEALTHY) and service.body.get("HealthCheckCustomConfig"):
        status = str(health)
    return {
        "Id": instance_id,
        "ServiceId": service.body["Id"],
        "NamespaceId": service.body["NamespaceId"],
        "Attributes": dict(attributes),
        "HealthStatus": status,
        "CreatedByAccount": scope.account if scope is not None else "",
    }


def deregister_instance(tx: Transaction, service_arn: str, instance_id: str) -> bool:
    """Remove an instance; False when there was none (or no service) to remove."""
    service = tx.get(SERVICE, service_arn)
    key = instance_key(service_arn, instance_id)
    if service is None or tx.get(INSTANCE, key) is None:
        return False
    tx.delete(INSTANCE, key)
    _bump_revision(tx, service)
    return True


def set_instance_health(tx: Transaction, service_arn: str, instance_id: str, status: str) -> bool:
    """Set the custom health (HEALTHY | UNHEALTHY) of an instance of a service with
    HealthCheckCustomConfig, at once (AWS waits about 30 s; ECS's own delays come first).
    False, and nothing written, when the instance, its service or its custom check is
    missing."""
    service = tx.get(SERVICE, service_arn)
    instance = tx.get(INSTANCE, instance_key(service_arn, instance_id))
    if service is None or instance is None or not service.body.get("HealthCheckCustomConfig"):
        return False
    if instance.body.get("HealthStatus") != status:
        tx.put(_with(instance, {**instance.body, "HealthStatus": status}))
    return True


def _bump_revision(tx: Transaction, service: Record) -> None:
    current = tx.get(SERVICE, service.key) or service
    revision = int(current.body.get("_instancesRevision", 0)) + 1
    tx.put(_with(current, {**current.body, "_instancesRevision": revision}))


def _with(record: Record, body: Mapping[str, Any]) -> Record:
    return Record(
        kind=record.kind, key=record.key, parent=record.parent, name=record.name, body=body
    )
