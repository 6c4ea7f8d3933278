"""Services: CreateService, GetService, ListServices, UpdateService, DeleteService, and the
service attributes (Get/Update/DeleteServiceAttributes).

CreateService applies Cloud Map's rules (model/servicediscovery/rules.py): record combinations,
WEIGHTED for CNAME, HealthCheckConfig only in public DNS and HTTP namespaces and never beside
HealthCheckCustomConfig. UpdateService changes what AWS lets it change (UpdateService docs): the
description, the TTLs of the existing record types, and HealthCheckConfig (omitted: removed);
never a service of an HTTP namespace, never HealthCheckCustomConfig. Instances' health follows a
HealthCheckConfig that comes or goes (rules.initial_health).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import (
    InvalidInput,
    ResourceInUse,
    ServiceAlreadyExists,
    ServiceAttributesLimitExceededException,
)
from meshway.model.servicediscovery import rules
from meshway.model.servicediscovery.filters import (
    SERVICE_CONDITIONS,
    Filter,
    matching,
    parse_filters,
)
from meshway.model.servicediscovery.records import (
    DNS_TYPES,
    HTTP,
    INSTANCE,
    NAMESPACE,
    SERVICE,
    CloudMapScope,
)
from meshway.service.servicediscovery.base import (
    CloudMapBase,
    check_tags,
    find_namespace,
    namespace_or_raise,
    page,
    resource_id,
    scope_of,
    service_or_raise,
    with_body,
)
from meshway.service.servicediscovery.operations import new_operation_id, record_operation
from meshway.store.base import Record, Transaction, iter_all

MAX_SERVICE_ATTRIBUTES = 30


def service_view(tx: Transaction, record: Record) -> dict[str, Any]:
    """The `Service` shape: the stored document with InstanceCount counted now."""
    view = {k: v for k, v in record.body.items() if not k.startswith("_") and k != "Tags"}
    view["InstanceCount"] = tx.count(INSTANCE, record.key)
    return view


def _same_name(a: str, b: str, namespace_type: str) -> bool:
    """DNS names differ only by more than case (CreateService > Name); HTTP names by any."""
    return a.lower() == b.lower() if namespace_type in DNS_TYPES else a == b


def _stored_dns(dns: Mapping[str, Any], namespace_id: str) -> dict[str, Any]:
    return {
        "NamespaceId": namespace_id,
        "RoutingPolicy": dns.get("RoutingPolicy") or rules.MULTIVALUE,
        "DnsRecords": [dict(r) for r in dns["DnsRecords"]],
    }


def _namespace_ref(namespace_id: str | None, dns: Mapping[str, Any] | None) -> str:
    ref = namespace_id or (dns or {}).get("NamespaceId")
    if not ref:
        raise InvalidInput("NamespaceId is required.")  # unverified wording
    return str(ref)


class ServiceOps(CloudMapBase):
    def create_service(
        self,
        ctx: RequestContext,
        *,
        name: str,
        namespace_id: str | None = None,
        creator_request_id: str | None = None,
        description: str | None = None,
        dns_config: Mapping[str, Any] | None = None,
        health_check_config: Mapping[str, Any] | None = None,
        health_check_custom_config: Mapping[str, Any] | None = None,
        tags: Sequence[Mapping[str, str]] = (),
        type: str | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        check_tags(tags, name)
        with self._store.transaction() as tx:
            namespace = namespace_or_raise(tx, scope, _namespace_ref(namespace_id, dns_config))
            kind = str(namespace.body["Type"])
            message = rules.check_service_shape(kind, dns_config, type) or (
                rules.check_health_config(
                    namespace_type=kind,
                    dns=dns_config,
                    health=health_check_config,
                    custom=health_check_custom_config,
                )
            )
            if message is not None:
                raise InvalidInput(message)
            existing = self._existing(tx, namespace, name, creator_request_id)
            if existing is not None:
                return {"Service": service_view(tx, existing)}
            body = self._service_body(scope, namespace, name, creator_request_id, description)
            body.update(
                Type=rules.service_type(kind, dns_config, type), Tags=[dict(t) for t in tags]
            )
            if dns_config is not None:
                body["DnsConfig"] = _stored_dns(dns_config, str(namespace.body["Id"]))
            if health_check_config is not None:
                body["HealthCheckConfig"] = dict(health_check_config)
            if health_check_custom_config is not None:
                body["HealthCheckCustomConfig"] = {"FailureThreshold": 1}  # always 1 (model doc)
            record = tx.put(
                Record(kind=SERVICE, key=body["Arn"], parent=namespace.key, name=name, body=body)
            )
            return {"Service": service_view(tx, record)}

    def _existing(
        self, tx: Transaction, namespace: Record, name: str, token: str | None
    ) -> Record | None:
        """The service a retry (same CreatorRequestId) already made; ServiceAlreadyExists for
        a name that is taken."""
        kind = str(namespace.body["Type"])
        for other in iter_all(tx, SERVICE, namespace.key):
            if not _same_name(str(other.body["Name"]), name, kind):
                continue
            if token and other.body.get("CreatorRequestId") == token:
                return other
            raise ServiceAlreadyExists(
                f"Service {name} already exists.",  # unverified wording
                fields={
                    "CreatorRequestId": other.body.get("CreatorRequestId", ""),
                    "ServiceId": other.body["Id"],
                    "ServiceArn": other.body["Arn"],
                },
            )
        return None

    def _service_body(
        self,
        scope: CloudMapScope,
        namespace: Record,
        name: str,
        token: str | None,
        description: str | None,
    ) -> dict[str, Any]:
        service_id = self._new_id("srv")
        body: dict[str, Any] = {
            "Id": service_id,
            "Arn": scope.service_arn(service_id),
            "ResourceOwner": scope.account,
            "Name": name,
            "NamespaceId": namespace.body["Id"],
            "CreateDate": self._clock.now(),
            "CreatedByAccount": scope.account,
            "_attributes": {},
            "_instancesRevision": 0,
        }
        if description is not None:
            body["Description"] = description
        if token:
            body["CreatorRequestId"] = token
        return body

    def get_service(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        with self._store.read() as tx:
            record = service_or_raise(tx, scope_of(ctx), id)
            return {"Service": service_view(tx, record)}

    def list_services(
        self,
        ctx: RequestContext,
        next_token: str | None = None,
        max_results: int | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        parsed = parse_filters(filters, SERVICE_CONDITIONS)
        if isinstance(parsed, str):
            raise InvalidInput(parsed)
        scope = scope_of(ctx)
        with self._store.read() as tx:
            records = [
                service
                for namespace in iter_all(tx, NAMESPACE, scope.key)
                for service in iter_all(tx, SERVICE, namespace.key)
            ]
            records.sort(key=lambda r: r.seq)
            chosen = matching(records, [_by_id(f) for f in parsed], _service_field)
            found, token = page(chosen, [r.seq for r in chosen], next_token, max_results)
            return {"Services": [service_view(tx, r) for r in found], "NextToken": token}

    def delete_service(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = service_or_raise(tx, scope_of(ctx), id)
            if tx.count(INSTANCE, record.key):
                raise ResourceInUse(  # unverified wording
                    f"Service {resource_id(record.key)} has registered instances and can't be "
                    "deleted."
                )
            tx.delete(SERVICE, record.key)
        return {}

    def update_service(
        self,
        ctx: RequestContext,
        id: str,
        service: Mapping[str, Any],
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            record = service_or_raise(tx, scope, id)
            namespace = find_namespace(tx, scope, record.parent)
            kind = str(namespace.body["Type"]) if namespace is not None else HTTP
            updated = _updated_service(record.body, service, kind)
            tx.put(with_body(record, updated))
            if ("HealthCheckConfig" in updated) != ("HealthCheckConfig" in record.body):
                _reset_health(tx, record.key, updated)
            operation_id = record_operation(
                tx,
                scope,
                operation_id=new_operation_id(self._ids),
                kind="UPDATE_SERVICE",
                targets={"SERVICE": str(record.body["Id"])},
                now=self._clock.now(),
            )
        return {"OperationId": operation_id}

    def get_service_attributes(self, ctx: RequestContext, service_id: str) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.read() as tx:
            record = service_or_raise(tx, scope, service_id)
        attributes = {
            "ServiceArn": record.key,
            "ResourceOwner": scope.account,
            "Attributes": dict(record.body.get("_attributes") or {}),
        }
        return {"ServiceAttributes": attributes}

    def update_service_attributes(
        self, ctx: RequestContext, service_id: str, attributes: Mapping[str, str]
    ) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = service_or_raise(tx, scope_of(ctx), service_id)
            merged = {**(record.body.get("_attributes") or {}), **attributes}
            if len(merged) > MAX_SERVICE_ATTRIBUTES:
                raise ServiceAttributesLimitExceededException(  # unverified wording
                    f"A service can have at most {MAX_SERVICE_ATTRIBUTES} attributes."
                )
            tx.put(with_body(record, {**record.body, "_attributes": merged}))
        return {}

    def delete_service_attributes(
        self, ctx: RequestContext, service_id: str, attributes: Sequence[str]
    ) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = service_or_raise(tx, scope_of(ctx), service_id)
            kept = {
                k: v
                for k, v in (record.body.get("_attributes") or {}).items()
                if k not in attributes
            }
            tx.put(with_body(record, {**record.body, "_attributes": kept}))
        return {}


def _by_id(given: Filter) -> Filter:
    """NAMESPACE_ID takes an id or an ARN; services store the id."""
    values = tuple(resource_id(v) if v.startswith("arn:") else v for v in given.values)
    return Filter(name=given.name, condition=given.condition, values=values)


def _service_field(record: Record, name: str) -> str | None:
    if name == "RESOURCE_OWNER":
        return "SELF"  # nothing is shared with an account here
    return str(record.body["NamespaceId"])


def _updated_service(
    body: Mapping[str, Any], change: Mapping[str, Any], namespace_type: str
) -> dict[str, Any]:
    if namespace_type == HTTP:
        raise InvalidInput(  # unverified wording
            "UpdateService is not supported for a service in an HTTP namespace."
        )
    updated = dict(body)
    if change.get("Description") is not None:
        updated["Description"] = change["Description"]
    dns = change.get("DnsConfig")
    if dns is not None:
        updated["DnsConfig"] = _retimed(body, dns)
    health = change.get("HealthCheckConfig")
    message = rules.check_health_config(
        namespace_type=namespace_type,
        dns=updated.get("DnsConfig"),
        health=health,
        custom=body.get("HealthCheckCustomConfig"),
    )
    if message is not None:
        raise InvalidInput(message)
    updated.pop("HealthCheckConfig", None)  # omitted: deleted (UpdateService docs)
    if health is not None:
        updated["HealthCheckConfig"] = dict(health)
    return updated


def _retimed(body: Mapping[str, Any], dns: Mapping[str, Any]) -> dict[str, Any]:
    """The service's records with the new TTLs; their types can't change."""
    current = body.get("DnsConfig")
    new_types = [str(r["Type"]) for r in dns["DnsRecords"]]
    if current is None or sorted(new_types) != sorted(rules.record_types(body)):
        raise InvalidInput(  # unverified wording
            "The record types of a service can't be changed; only their TTLs can be updated."
        )
    return {**current, "DnsRecords": [dict(r) for r in dns["DnsRecords"]]}


def _reset_health(tx: Transaction, service_arn: str, service: Mapping[str, Any]) -> None:
    """A Route 53 health check that comes or goes changes what every instance reports."""
    for instance in iter_all(tx, INSTANCE, service_arn):
        health = rules.initial_health(service, instance.body.get("Attributes") or {})
        tx.put(with_body(instance, {**instance.body, "HealthStatus": health}))
