"""Cloud Map's rules for services and instances, as pure functions that name what is wrong.

Each check returns None when the input is acceptable, else the message of the InvalidInput error
(the service layer raises it). Sources: the CreateService, DnsRecord, DnsConfig,
HealthCheckConfig and RegisterInstance documentation in botocore's servicediscovery 2017-03-14
model (also the Cloud Map API Reference). Wording is Meshway's where AWS's is unknown.

Health, decided here once (`initial_health`):
- HealthCheckCustomConfig: the instance starts as its `AWS_INIT_HEALTH_STATUS` attribute says,
  else HEALTHY ("If you don't specify a value for AWS_INIT_HEALTH_STATUS, the initial status is
  HEALTHY", RegisterInstance > Attributes); only UpdateInstanceCustomHealthStatus changes it.
- HealthCheckConfig: Route 53's checkers probe the endpoint from the internet; nothing here can
  run them, so Meshway reports such an instance HEALTHY from registration on (as a passing Route
  53 check would) and says so in GetInstancesHealthStatus.
- Neither: UNKNOWN, and the instance receives traffic ("If you didn't specify a health check
  configuration: returns all the records", RegisterInstance; records.py's contract).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from meshway.model.servicediscovery.records import (
    ALIAS,
    CNAME,
    HEALTHY,
    HTTP,
    IPV4,
    IPV6,
    PORT,
    UNHEALTHY,
    UNKNOWN,
)

INIT_HEALTH = "AWS_INIT_HEALTH_STATUS"
EC2_INSTANCE = "AWS_EC2_INSTANCE_ID"
RESERVED = frozenset({ALIAS, CNAME, IPV4, IPV6, PORT, INIT_HEALTH, EC2_INSTANCE})
MAX_CUSTOM_ATTRIBUTES = 30
MAX_ATTRIBUTES_SIZE = 5000
MULTIVALUE, WEIGHTED = "MULTIVALUE", "WEIGHTED"

# DnsRecord > Type: "A, AAAA, A and AAAA, SRV, CNAME". SRV also combines with A and/or AAAA:
# ECS's service registries document A and SRV together for awsvpc tasks, and Cloud Map makes the
# A/AAAA records of an SRV target itself.
_RECORD_SETS = frozenset(
    {
        frozenset({"A"}),
        frozenset({"AAAA"}),
        frozenset({"A", "AAAA"}),
        frozenset({"SRV"}),
        frozenset({"SRV", "A"}),
        frozenset({"SRV", "AAAA"}),
        frozenset({"SRV", "A", "AAAA"}),
        frozenset({"CNAME"}),
    }
)


def record_types(service: Mapping[str, Any]) -> frozenset[str]:
    records = (service.get("DnsConfig") or {}).get("DnsRecords") or []
    return frozenset(str(r["Type"]) for r in records)


def check_dns_config(dns: Mapping[str, Any]) -> str | None:
    """DnsRecords combine as AWS allows; CNAME needs the WEIGHTED routing policy."""
    types = [str(r["Type"]) for r in dns.get("DnsRecords") or []]
    if not types:
        return "DnsConfig must contain at least one DnsRecord."
    if len(set(types)) != len(types) or frozenset(types) not in _RECORD_SETS:
        return f"DnsRecords of types {', '.join(types)} can't be combined."
    if "CNAME" in types and dns.get("RoutingPolicy", MULTIVALUE) != WEIGHTED:
        return "RoutingPolicy must be WEIGHTED for a CNAME record."
    return None


def check_health_config(
    *,
    namespace_type: str,
    dns: Mapping[str, Any] | None,
    health: Mapping[str, Any] | None,
    custom: Mapping[str, Any] | None,
) -> str | None:
    """HealthCheckConfig: public DNS and HTTP namespaces only, never with a custom check or a
    CNAME record; TCP checks take no ResourcePath."""
    if health is None:
        return None
    if custom is not None:
        return "You can specify either HealthCheckCustomConfig or HealthCheckConfig, not both."
    if namespace_type == "DNS_PRIVATE":
        return "HealthCheckConfig is supported only for public DNS and HTTP namespaces."
    if dns is not None and "CNAME" in record_types({"DnsConfig": dns}):
        return "HealthCheckConfig can't be specified for a service with a CNAME record."
    if health.get("Type") == "TCP" and health.get("ResourcePath"):
        return "ResourcePath can't be specified for a TCP health check."
    return None


def service_type(namespace_type: str, dns: Mapping[str, Any] | None, option: str | None) -> str:
    """HTTP for HTTP namespaces and `Type: HTTP`; DNS_HTTP for a DNS namespace's DNS service."""
    if HTTP in (namespace_type, option) or dns is None:
        return HTTP
    return "DNS_HTTP"


def check_service_shape(
    namespace_type: str, dns: Mapping[str, Any] | None, option: str | None
) -> str | None:
    """DNS records only in DNS namespaces, and never with `Type: HTTP`; a DNS namespace's
    service without records must say `Type: HTTP`."""
    if dns is not None and namespace_type == HTTP:
        return "DnsConfig can't be specified for a service in an HTTP namespace."
    if dns is not None and option == HTTP:
        return "DnsConfig can't be specified for a service of type HTTP."
    if dns is None and HTTP not in (namespace_type, option):
        return "DnsConfig is required for a service in a DNS namespace unless Type is HTTP."
    if dns is not None:
        return check_dns_config(dns)
    return None


def check_attributes(
    service: Mapping[str, Any], namespace_type: str, attributes: Mapping[str, str]
) -> str | None:
    """RegisterInstance > Attributes, against the service's records and health check."""
    for check in (_check_sizes, _check_values, _check_alias, _check_ec2):
        message = check(service, namespace_type, attributes)
        if message is not None:
            return message
    return _check_required(service, attributes)


def _check_sizes(_: Mapping[str, Any], __: str, attributes: Mapping[str, str]) -> str | None:
    custom = [key for key in attributes if key not in RESERVED]
    if len(custom) > MAX_CUSTOM_ATTRIBUTES:
        return f"An instance can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes."
    if sum(len(k) + len(v) for k, v in attributes.items()) > MAX_ATTRIBUTES_SIZE:
        return f"The total size of the attributes can't exceed {MAX_ATTRIBUTES_SIZE} characters."
    return None


def _check_values(_: Mapping[str, Any], __: str, attributes: Mapping[str, str]) -> str | None:
    if IPV4 in attributes and not _is_ip(attributes[IPV4], 4):
        return f"{IPV4} must be a valid IPv4 address: {attributes[IPV4]}"
    if IPV6 in attributes and not _is_ip(attributes[IPV6], 6):
        return f"{IPV6} must be a valid IPv6 address: {attributes[IPV6]}"
    if PORT in attributes and not _is_port(attributes[PORT]):
        return f"{PORT} must be a port number between 1 and 65535: {attributes[PORT]}"
    if attributes.get(INIT_HEALTH, HEALTHY) not in (HEALTHY, UNHEALTHY):
        return f"{INIT_HEALTH} must be HEALTHY or UNHEALTHY."
    return None


def _check_alias(service: Mapping[str, Any], _: str, attributes: Mapping[str, str]) -> str | None:
    if ALIAS not in attributes:
        return None
    if not record_types(service) & {"A", "AAAA"}:
        return f"{ALIAS} requires a service with an A or AAAA record."
    if (service.get("DnsConfig") or {}).get("RoutingPolicy") != WEIGHTED:
        return f"{ALIAS} requires a service whose RoutingPolicy is WEIGHTED."
    if any(key.startswith("AWS_INSTANCE_") for key in attributes):
        return f"{ALIAS} can't be combined with AWS_INSTANCE attributes."
    return None


def _check_ec2(
    _: Mapping[str, Any], namespace_type: str, attributes: Mapping[str, str]
) -> str | None:
    if EC2_INSTANCE not in attributes:
        return None
    if namespace_type != HTTP:
        return f"{EC2_INSTANCE} is supported only for HTTP namespaces."
    if set(attributes) - {EC2_INSTANCE, INIT_HEALTH}:
        return f"{EC2_INSTANCE} can only be combined with {INIT_HEALTH}."
    return None


def _check_required(service: Mapping[str, Any], attributes: Mapping[str, str]) -> str | None:
    if ALIAS in attributes:
        return None
    types = record_types(service)
    needed = [
        (IPV4, "A" in types),
        (IPV6, "AAAA" in types),
        (CNAME, "CNAME" in types),
        (PORT, "SRV" in types or bool(service.get("HealthCheckConfig"))),
    ]
    for key, required in needed:
        if required and key not in attributes:
            return f"{key} is required for this service."
    if "SRV" in types and IPV4 not in attributes and IPV6 not in attributes:
        return f"{IPV4} or {IPV6} is required for a service with an SRV record."
    return None


def initial_health(service: Mapping[str, Any], attributes: Mapping[str, str]) -> str:
    """The health an instance starts with (see the module docstring)."""
    if service.get("HealthCheckCustomConfig") is not None:
        return attributes.get(INIT_HEALTH, HEALTHY)
    if service.get("HealthCheckConfig") is not None:
        return HEALTHY
    return UNKNOWN


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_port(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 65535


def select_instances(
    instances: Sequence[Mapping[str, Any]],
    query: Mapping[str, str],
    optional: Mapping[str, str],
) -> list[Mapping[str, Any]]:
    """DiscoverInstances' attribute filters: every QueryParameter must match; OptionalParameters
    narrow the answer only when some instance matches them too (DiscoverInstances docs)."""
    matched = [i for i in instances if _matches(i, query)]
    if not optional:
        return matched
    preferred = [i for i in matched if _matches(i, optional)]
    return preferred or matched


def _matches(instance: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    attributes = instance.get("Attributes") or {}
    return all(attributes.get(key) == value for key, value in wanted.items())


def filter_health(
    instances: Sequence[Mapping[str, Any]], wanted: str, *, checked: bool
) -> list[Mapping[str, Any]]:
    """DiscoverInstances' HealthStatus: ignored for a service without health checks; with them
    HEALTHY, UNHEALTHY, ALL, or HEALTHY_OR_ELSE_ALL (fail open when none is healthy)."""
    if not checked or wanted == "ALL":
        return list(instances)
    if wanted == UNHEALTHY:
        return [i for i in instances if i.get("HealthStatus") == UNHEALTHY]
    healthy = [i for i in instances if i.get("HealthStatus") == HEALTHY]
    if wanted == "HEALTHY_OR_ELSE_ALL" and not healthy:
        return list(instances)
    return healthy
