"""How Cloud Map resources are stored: kinds, keys, and the documents under them.

This is the contract between the writers (the Cloud Map API in `service/servicediscovery`, and
the ECS service registries that register tasks) and the readers (the task resolver's DNS
records, App Mesh discovery in the control plane). Every document is in wire form (AWS's member
names and casing, timestamps as epoch seconds); members starting with `_` are Meshway's own and
never leave the server (output shapes filter them).

| kind      | key                                | parent        | name           |
|-----------|------------------------------------|---------------|----------------|
| NAMESPACE | namespace ARN (`…:namespace/ns-…`) | scope key     | namespace Name |
| SERVICE   | service ARN (`…:service/srv-…`)    | namespace ARN | service Name   |
| INSTANCE  | `<service ARN>/<instance id>`      | service ARN   | instance Id    |
| OPERATION | `<scope key>/<operation id>`       | scope key     | operation Id   |

Documents:
- NAMESPACE: the `Namespace` shape without `ServiceCount` (counted when read), plus `Tags`
  (list of {Key, Value}).
- SERVICE: the `Service` shape without `InstanceCount` (counted when read), plus `Tags`.
- INSTANCE: {Id, ServiceId, NamespaceId, Attributes: {str: str}, CreatorRequestId?,
  HealthStatus: HEALTHY | UNHEALTHY | UNKNOWN, CreatedByAccount, _ecsTask?: task ARN when ECS
  registered it}. `HealthStatus` is what GetInstancesHealthStatus reports; for a service with no
  health check configuration it is UNKNOWN and the instance counts as healthy for routing.
- OPERATION: the `Operation` shape.

Ids and ARNs are derivable from a request's scope and the id a caller passes, so every lookup
by id is one `get`.

Meshway's own members (added with the Cloud Map API): NAMESPACE `_vpc` (the Vpc a private DNS
namespace was created for); SERVICE `_attributes` ({str: str}, Get/Update/DeleteServiceAttributes)
and `_instancesRevision` (int, DiscoverInstancesRevision: grows with every registration and
deregistration, not with health); INSTANCE `_updatedAt` (when ECS last registered it). Instances
are only ever written through `meshway.service.servicediscovery.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshway.core import arns

ARN_SERVICE = "servicediscovery"
NAMESPACE = "servicediscovery.namespace"
SERVICE = "servicediscovery.service"
INSTANCE = "servicediscovery.instance"
OPERATION = "servicediscovery.operation"

DNS_PRIVATE = "DNS_PRIVATE"
DNS_PUBLIC = "DNS_PUBLIC"
HTTP = "HTTP"
DNS_TYPES = frozenset({DNS_PRIVATE, DNS_PUBLIC})

HEALTHY = "HEALTHY"
UNHEALTHY = "UNHEALTHY"
UNKNOWN = "UNKNOWN"

# Attributes with a meaning to Cloud Map (RegisterInstance documentation).
IPV4 = "AWS_INSTANCE_IPV4"
IPV6 = "AWS_INSTANCE_IPV6"
PORT = "AWS_INSTANCE_PORT"
CNAME = "AWS_INSTANCE_CNAME"
ALIAS = "AWS_ALIAS_DNS_NAME"


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudMapScope:
    """One account in one region: where namespaces, services and operations live."""

    region: str
    account: str

    @property
    def key(self) -> str:
        return f"{self.region}:{self.account}"

    def namespace_arn(self, namespace_id: str) -> str:
        return arns.build(ARN_SERVICE, self.region, self.account, f"namespace/{namespace_id}")

    def service_arn(self, service_id: str) -> str:
        return arns.build(ARN_SERVICE, self.region, self.account, f"service/{service_id}")

    def operation_key(self, operation_id: str) -> str:
        return f"{self.key}/{operation_id}"


def instance_key(service_arn: str, instance_id: str) -> str:
    return f"{service_arn}/{instance_id}"


def scope_of_arn(arn: str) -> CloudMapScope | None:
    parsed = arns.parse(arn)
    if parsed is None or parsed.service != ARN_SERVICE:
        return None
    return CloudMapScope(region=parsed.region, account=parsed.account)


def has_health_checks(service: Mapping[str, Any]) -> bool:
    return bool(service.get("HealthCheckConfig") or service.get("HealthCheckCustomConfig"))


def routable(instance: Mapping[str, Any]) -> bool:
    """Whether an instance receives traffic: not UNHEALTHY (UNKNOWN means no health checks)."""
    return bool(instance.get("HealthStatus", UNKNOWN) != UNHEALTHY)
