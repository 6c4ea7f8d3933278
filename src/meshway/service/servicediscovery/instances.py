"""Instances through the API: RegisterInstance (an upsert, as AWS's: an existing InstanceId is
updated), DeregisterInstance, GetInstance, ListInstances, GetInstancesHealthStatus and
UpdateInstanceCustomHealthStatus. The records themselves change only in `registry`, which ECS's
service registries use too.

GetInstancesHealthStatus reports what each instance's record holds (see rules.initial_health):
HEALTHY or UNHEALTHY under a custom health check, HEALTHY under a Route 53 health check (which
cannot run here), and UNKNOWN for a service with no health check at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import CustomHealthNotFound, InstanceNotFound
from meshway.model.servicediscovery.records import INSTANCE, CloudMapScope, instance_key
from meshway.service.servicediscovery import registry
from meshway.service.servicediscovery.base import (
    CloudMapBase,
    page,
    scope_of,
    service_or_raise,
    token_after,
    token_for,
)
from meshway.service.servicediscovery.operations import (
    fingerprint,
    new_operation_id,
    record_operation,
    replay,
)
from meshway.store.base import Record, Transaction, iter_all


def instance_or_raise(tx: Transaction, service: Record, instance_id: str) -> Record:
    record = tx.get(INSTANCE, instance_key(service.key, instance_id))
    if record is None:
        raise InstanceNotFound(  # unverified wording
            f"Instance {instance_id} not found in service {service.body['Id']}."
        )
    return record


def _public(body: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("Id", "CreatorRequestId", "Attributes", "CreatedByAccount")
    return {k: body[k] for k in keys if k in body}


class InstanceOps(CloudMapBase):
    def register_instance(
        self,
        ctx: RequestContext,
        service_id: str,
        instance_id: str,
        attributes: Mapping[str, str],
        creator_request_id: str | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        request = {"ServiceId": service_id, "InstanceId": instance_id, "Attributes": attributes}
        token_scope = f"servicediscovery:{scope.key}:RegisterInstance:{creator_request_id}"
        with self._store.transaction() as tx:
            if creator_request_id and (earlier := replay(tx, token_scope, request)):
                return {"OperationId": earlier}
            service = service_or_raise(tx, scope, service_id)
            extra = {"CreatorRequestId": creator_request_id} if creator_request_id else {}
            registry.upsert_instance(
                tx, service, instance_id=instance_id, attributes=attributes, extra=extra
            )
            operation_id = self._instance_operation(
                tx, scope, "REGISTER_INSTANCE", service, instance_id
            )
            if creator_request_id:
                tx.remember(token_scope, fingerprint(request), {"OperationId": operation_id})
        return {"OperationId": operation_id}

    def _instance_operation(
        self, tx: Transaction, scope: CloudMapScope, kind: str, service: Record, instance: str
    ) -> str:
        targets = {
            "NAMESPACE": str(service.body["NamespaceId"]),
            "SERVICE": str(service.body["Id"]),
            "INSTANCE": instance,
        }
        return record_operation(
            tx,
            scope,
            operation_id=new_operation_id(self._ids),
            kind=kind,
            targets=targets,
            now=self._clock.now(),
        )

    def deregister_instance(
        self, ctx: RequestContext, service_id: str, instance_id: str
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            service = service_or_raise(tx, scope, service_id)
            instance_or_raise(tx, service, instance_id)
            registry.deregister_instance(tx, service.key, instance_id)
            operation_id = self._instance_operation(
                tx, scope, "DEREGISTER_INSTANCE", service, instance_id
            )
        return {"OperationId": operation_id}

    def get_instance(
        self, ctx: RequestContext, service_id: str, instance_id: str
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.read() as tx:
            service = service_or_raise(tx, scope, service_id)
            instance = instance_or_raise(tx, service, instance_id)
        return {"ResourceOwner": scope.account, "Instance": _public(instance.body)}

    def list_instances(
        self,
        ctx: RequestContext,
        service_id: str,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        after = token_after(next_token)
        with self._store.read() as tx:
            service = service_or_raise(tx, scope, service_id)
            found = tx.list(INSTANCE, service.key, after_seq=after, limit=max_results or 100)
        summaries = [
            {k: v for k, v in _public(r.body).items() if k != "CreatorRequestId"}
            for r in found.records
        ]
        return {
            "ResourceOwner": scope.account,
            "Instances": summaries,
            "NextToken": token_for(found.next_seq),
        }

    def get_instances_health_status(
        self,
        ctx: RequestContext,
        service_id: str,
        instances: Sequence[str] | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        with self._store.read() as tx:
            service = service_or_raise(tx, scope_of(ctx), service_id)
            if instances is not None:
                records = [instance_or_raise(tx, service, i) for i in dict.fromkeys(instances)]
            else:
                records = list(iter_all(tx, INSTANCE, service.key))
        chosen, token = page(records, [r.seq for r in records], next_token, max_results)
        status = {str(r.body["Id"]): str(r.body["HealthStatus"]) for r in chosen}
        return {"Status": status, "NextToken": token}

    def update_instance_custom_health_status(
        self, ctx: RequestContext, service_id: str, instance_id: str, status: str
    ) -> dict[str, Any] | None:
        with self._store.transaction() as tx:
            service = service_or_raise(tx, scope_of(ctx), service_id)
            instance_or_raise(tx, service, instance_id)
            if not service.body.get("HealthCheckCustomConfig"):
                raise CustomHealthNotFound(  # unverified wording
                    f"Service {service.body['Id']} has no custom health check configuration."
                )
            registry.set_instance_health(tx, service.key, instance_id, status)
        return None
