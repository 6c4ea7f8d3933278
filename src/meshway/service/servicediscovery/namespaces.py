"""Namespaces: CreateHttpNamespace, CreatePrivateDnsNamespace, CreatePublicDnsNamespace,
GetNamespace, ListNamespaces, DeleteNamespace and the three Update…Namespace operations.

A public DNS namespace is served like a private one: by Meshway's resolver, to its tasks and the
host, never to the internet. Every VPC is the one local network, so a DNS namespace whose name
another DNS namespace already has fails as Route 53 fails a second private hosted zone of that
name in one VPC: the operation reports FAIL with CANNOT_CREATE_HOSTED_ZONE and nothing is
created. A name taken by an HTTP namespace (whose HttpName is its Name) is NamespaceAlreadyExists
at once, with the existing namespace's NamespaceId and CreatorRequestId.

CreatorRequestId and UpdaterRequestId make a retry safe: the same id with the same request
answers the first OperationId again; with another request it is DuplicateRequest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import (
    InvalidInput,
    NamespaceAlreadyExists,
    ResourceInUse,
    ResourceLimitExceeded,
)
from meshway.model.servicediscovery.filters import NAMESPACE_CONDITIONS, matching, parse_filters
from meshway.model.servicediscovery.records import (
    DNS_PRIVATE,
    DNS_PUBLIC,
    DNS_TYPES,
    HTTP,
    NAMESPACE,
    SERVICE,
    CloudMapScope,
)
from meshway.service.servicediscovery.base import (
    CloudMapBase,
    check_tags,
    namespace_or_raise,
    page,
    resource_id,
    scope_of,
    with_body,
)
from meshway.service.servicediscovery.operations import (
    Failure,
    fingerprint,
    new_operation_id,
    record_operation,
    replay,
)
from meshway.store.base import Record, Transaction, iter_all

MAX_NAMESPACES = 50  # Cloud Map quotas: namespaces per Region per account (default)
DEFAULT_SOA_TTL = 15  # unverified: the SOA TTL of a namespace created without Properties


def namespace_view(tx: Transaction, record: Record) -> dict[str, Any]:
    """The `Namespace` shape: the stored document with ServiceCount counted now."""
    view = {k: v for k, v in record.body.items() if not k.startswith("_") and k != "Tags"}
    view["ServiceCount"] = tx.count(SERVICE, record.key)
    return view


def _dns_properties(properties: Mapping[str, Any] | None, zone: str) -> dict[str, Any]:
    soa = ((properties or {}).get("DnsProperties") or {}).get("SOA") or {"TTL": DEFAULT_SOA_TTL}
    return {"HostedZoneId": zone, "SOA": dict(soa)}


def _name_conflict(tx: Transaction, scope: CloudMapScope, name: str, kind: str) -> Failure | None:
    """FAIL for a DNS name this network already serves; NamespaceAlreadyExists for the rest."""
    for existing in tx.find(NAMESPACE, parent=scope.key, name=name):
        if kind in DNS_TYPES and existing.body["Type"] in DNS_TYPES:
            return Failure(
                code="CANNOT_CREATE_HOSTED_ZONE",
                message=(
                    f"The VPC that you chose is already associated with another private hosted "
                    f"zone that has an overlapping name space, {name}."
                ),
            )
        raise NamespaceAlreadyExists(
            f"Namespace {name} already exists.",  # unverified wording
            fields={
                "NamespaceId": existing.body["Id"],
                "CreatorRequestId": existing.body.get("CreatorRequestId", ""),
            },
        )
    return None


def _field(body: Mapping[str, Any], name: str) -> str | None:
    fields = {
        "TYPE": body.get("Type"),
        "NAME": body.get("Name"),
        "HTTP_NAME": ((body.get("Properties") or {}).get("HttpProperties") or {}).get("HttpName"),
        "RESOURCE_OWNER": "SELF",  # nothing is shared with an account here
    }
    return fields[name]


class NamespaceOps(CloudMapBase):
    def create_http_namespace(
        self,
        ctx: RequestContext,
        name: str,
        creator_request_id: str | None = None,
        description: str | None = None,
        tags: Sequence[Mapping[str, str]] = (),
    ) -> dict[str, Any]:
        request = {"Name": name, "Description": description, "Tags": list(tags)}
        return self._create(ctx, HTTP, request, creator_request_id, None)

    def create_private_dns_namespace(
        self,
        ctx: RequestContext,
        *,
        name: str,
        vpc: str,
        creator_request_id: str | None = None,
        description: str | None = None,
        tags: Sequence[Mapping[str, str]] = (),
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = {"Name": name, "Description": description, "Tags": list(tags), "Vpc": vpc}
        return self._create(ctx, DNS_PRIVATE, request, creator_request_id, properties)

    def create_public_dns_namespace(
        self,
        ctx: RequestContext,
        *,
        name: str,
        creator_request_id: str | None = None,
        description: str | None = None,
        tags: Sequence[Mapping[str, str]] = (),
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = {"Name": name, "Description": description, "Tags": list(tags)}
        return self._create(ctx, DNS_PUBLIC, request, creator_request_id, properties)

    def _create(
        self,
        ctx: RequestContext,
        kind: str,
        request: dict[str, Any],
        token: str | None,
        properties: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        check_tags(request["Tags"], request["Name"])
        scope = scope_of(ctx)
        request.update(Type=kind, Properties=properties)
        token_scope = f"servicediscovery:{scope.key}:CreateNamespace:{token}"
        with self._store.transaction() as tx:
            if token and (earlier := replay(tx, token_scope, request)) is not None:
                return {"OperationId": earlier}
            operation_id = self._create_in(
                tx, scope=scope, kind=kind, request=request, token=token, properties=properties
            )
            if token:
                tx.remember(token_scope, fingerprint(request), {"OperationId": operation_id})
        return {"OperationId": operation_id}

    def _create_in(
        self,
        tx: Transaction,
        *,
        scope: CloudMapScope,
        kind: str,
        request: Mapping[str, Any],
        token: str | None,
        properties: Mapping[str, Any] | None,
    ) -> str:
        now, namespace_id = self._clock.now(), self._new_id("ns")
        failure = _name_conflict(tx, scope, request["Name"], kind)
        if failure is None and tx.count(NAMESPACE, scope.key) >= MAX_NAMESPACES:
            raise ResourceLimitExceeded(  # unverified wording
                f"The number of namespaces exceeds the quota of {MAX_NAMESPACES}."
            )
        if failure is None:
            body = self._namespace_body(
                scope,
                kind=kind,
                namespace_id=namespace_id,
                request=request,
                token=token,
                properties=properties,
            )
            arn = scope.namespace_arn(namespace_id)
            tx.put(Record(kind=NAMESPACE, key=arn, parent=scope.key, name=body["Name"], body=body))
        return record_operation(
            tx,
            scope,
            operation_id=new_operation_id(self._ids),
            kind="CREATE_NAMESPACE",
            targets={"NAMESPACE": namespace_id},
            now=now,
            failure=failure,
        )

    def _namespace_body(
        self,
        scope: CloudMapScope,
        *,
        kind: str,
        namespace_id: str,
        request: Mapping[str, Any],
        token: str | None,
        properties: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        zone = f"Z{self._ids.hex(20).upper()}"
        dns = _dns_properties(properties, zone) if kind in DNS_TYPES else {}
        body: dict[str, Any] = {
            "Id": namespace_id,
            "Arn": scope.namespace_arn(namespace_id),
            "ResourceOwner": scope.account,
            "Name": request["Name"],
            "Type": kind,
            "Properties": {"DnsProperties": dns, "HttpProperties": {"HttpName": request["Name"]}},
            "CreateDate": self._clock.now(),
            "Tags": [dict(t) for t in request["Tags"]],
        }
        if request.get("Description") is not None:
            body["Description"] = request["Description"]
        if token:
            body["CreatorRequestId"] = token
        if request.get("Vpc"):
            body["_vpc"] = request["Vpc"]
        return body

    def get_namespace(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        with self._store.read() as tx:
            record = namespace_or_raise(tx, scope_of(ctx), id)
            return {"Namespace": namespace_view(tx, record)}

    def list_namespaces(
        self,
        ctx: RequestContext,
        next_token: str | None = None,
        max_results: int | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        parsed = parse_filters(filters, NAMESPACE_CONDITIONS)
        if isinstance(parsed, str):
            raise InvalidInput(parsed)
        with self._store.read() as tx:
            records = list(iter_all(tx, NAMESPACE, scope_of(ctx).key))
            chosen = matching(records, parsed, lambda r, name: _field(r.body, name))
            found, token = page(chosen, [r.seq for r in chosen], next_token, max_results)
            return {"Namespaces": [namespace_view(tx, r) for r in found], "NextToken": token}

    def delete_namespace(self, ctx: RequestContext, id: str) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.transaction() as tx:
            record = namespace_or_raise(tx, scope, id)
            if tx.count(SERVICE, record.key):
                raise ResourceInUse(  # unverified wording
                    f"Namespace {resource_id(record.key)} contains services and can't be deleted."
                )
            tx.delete(NAMESPACE, record.key)
            return {"OperationId": self._namespace_operation(tx, scope, "DELETE_NAMESPACE", record)}

    def _namespace_operation(
        self, tx: Transaction, scope: CloudMapScope, kind: str, record: Record
    ) -> str:
        return record_operation(
            tx,
            scope,
            operation_id=new_operation_id(self._ids),
            kind=kind,
            targets={"NAMESPACE": str(record.body["Id"])},
            now=self._clock.now(),
        )

    def update_http_namespace(
        self,
        ctx: RequestContext,
        id: str,
        namespace: Mapping[str, Any],
        updater_request_id: str | None = None,
    ) -> dict[str, Any]:
        return self._update(ctx, id, HTTP, namespace, updater_request_id)

    def update_private_dns_namespace(
        self,
        ctx: RequestContext,
        id: str,
        namespace: Mapping[str, Any],
        updater_request_id: str | None = None,
    ) -> dict[str, Any]:
        return self._update(ctx, id, DNS_PRIVATE, namespace, updater_request_id)

    def update_public_dns_namespace(
        self,
        ctx: RequestContext,
        id: str,
        namespace: Mapping[str, Any],
        updater_request_id: str | None = None,
    ) -> dict[str, Any]:
        return self._update(ctx, id, DNS_PUBLIC, namespace, updater_request_id)

    def _update(
        self,
        ctx: RequestContext,
        ref: str,
        kind: str,
        change: Mapping[str, Any],
        token: str | None,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        request = {"Id": ref, "Type": kind, "Namespace": dict(change)}
        token_scope = f"servicediscovery:{scope.key}:UpdateNamespace:{token}"
        with self._store.transaction() as tx:
            if token and (earlier := replay(tx, token_scope, request)) is not None:
                return {"OperationId": earlier}
            record = namespace_or_raise(tx, scope, ref)
            if record.body["Type"] != kind:
                raise InvalidInput(  # unverified wording
                    f"Namespace {record.body['Id']} is of type {record.body['Type']}, not {kind}."
                )
            tx.put(with_body(record, _changed(record.body, change)))
            operation_id = self._namespace_operation(tx, scope, "UPDATE_NAMESPACE", record)
            if token:
                tx.remember(token_scope, fingerprint(request), {"OperationId": operation_id})
        return {"OperationId": operation_id}


def _changed(body: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    updated = dict(body)
    if change.get("Description") is not None:
        updated["Description"] = change["Description"]
    soa = ((change.get("Properties") or {}).get("DnsProperties") or {}).get("SOA")
    if soa is not None:
        properties = dict(updated["Properties"])
        properties["DnsProperties"] = {**properties["DnsProperties"], "SOA": dict(soa)}
        updated["Properties"] = properties
    return updated
