"""App Mesh discovery from Cloud Map: which instances a virtual node has besides its tasks. Pure.

A virtual node's `serviceDiscovery` names where its instances are (reference/translation.md
§3, §8.2; issue 8 part 4):
- `awsCloudMap {namespaceName, serviceName, attributes, ipPreference}`: the INSTANCE records of
  that service (found by namespace and service Name in the mesh owner's account and region) whose
  Attributes hold every given key=value. Meshway always knows these, so the node always has an
  EDS cluster, empty while the service or its instances do not exist.
- `dns {hostname, responseType, ipPreference}` whose hostname is a Cloud Map DNS name
  `<service>.<namespace>` of a DNS namespace there: every instance of that service. App Mesh
  maps responseType LOADBALANCER to LOGICAL_DNS (one resolved address per new connection) and
  ENDPOINTS to STRICT_DNS (every resolved address a host, at most 8 from Route 53's MULTIVALUE
  answer). Meshway answers that name itself, so it knows every instance: both become an EDS
  cluster listing every routable instance as a host. That is ENDPOINTS without the 8-answer
  cap, and for LOADBALANCER it replaces "one address at a time" (no real balancing, outlier
  detection seeing one host: RM#70, RM#238) with the same instances balanced per request.
- any other DNS hostname: Meshway cannot know the instances (None here); the caller falls back
  to tasks whose Envoy names the node, else to a DNS cluster.

An instance's address is AWS_INSTANCE_IPV4, or AWS_INSTANCE_IPV6 as the node's (else the mesh's)
ipPreference picks (row 8.2: default and IPv4_* prefer IPv4, IPv6_PREFERRED prefers IPv6, *_ONLY
take nothing from the other family). Its port is the node's listener port the cluster is for, as
App Mesh does (row 3.4): AWS_INSTANCE_PORT is not used. An UNHEALTHY instance stays in the list
as unhealthy, so the load assignment leaves it out (`records.routable`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from meshway.model.servicediscovery import records as sd
from meshway.xds.view import Endpoint, Spec

_FAMILIES = {
    "IPv4_PREFERRED": (sd.IPV4, sd.IPV6),
    "IPv6_PREFERRED": (sd.IPV6, sd.IPV4),
    "IPv4_ONLY": (sd.IPV4,),
    "IPv6_ONLY": (sd.IPV6,),
}
_DEFAULT_FAMILIES = (sd.IPV4, sd.IPV6)


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudMapService:
    namespace: str  # the namespace's Name
    name: str
    dns: bool  # in a DNS namespace, so `<name>.<namespace>` resolves
    instances: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class CloudMap:
    """The Cloud Map services of one account and region, by (namespace Name, service Name)."""

    services: Mapping[tuple[str, str], CloudMapService] = field(
        default_factory=lambda: MappingProxyType({})
    )
    dns_names: Mapping[str, CloudMapService] = field(
        default_factory=lambda: MappingProxyType({})
    )  # `<service>.<namespace>`, lower case, of the services in DNS namespaces

    @staticmethod
    def of(
        namespaces: Iterable[Mapping[str, Any]],
        services: Iterable[Mapping[str, Any]],
        instances: Iterable[Mapping[str, Any]],
    ) -> CloudMap:
        """From the stored documents (records.py) of one scope."""
        by_id = {str(ns["Id"]): ns for ns in namespaces}
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for instance in instances:
            grouped.setdefault(str(instance.get("ServiceId")), []).append(instance)
        found: dict[tuple[str, str], CloudMapService] = {}
        for service in services:
            namespace = by_id.get(str(service.get("NamespaceId")))
            if namespace is None:
                continue
            entry = CloudMapService(
                namespace=str(namespace["Name"]),
                name=str(service["Name"]),
                dns=namespace.get("Type") in sd.DNS_TYPES,
                instances=tuple(sorted(grouped.get(str(service["Id"]), ()), key=_instance_id)),
            )
            found[_key(entry.namespace, entry.name)] = entry
        names = {f"{svc}.{ns}": e for (ns, svc), e in sorted(found.items()) if e.dns}
        return CloudMap(MappingProxyType(dict(sorted(found.items()))), MappingProxyType(names))

    def lookup(self, namespace: str, service: str) -> CloudMapService | None:
        return self.services.get(_key(namespace, service))

    def by_dns_name(self, hostname: str) -> CloudMapService | None:
        """The service a DNS name `<service>.<namespace>` is, if a DNS namespace holds it."""
        return self.dns_names.get(hostname.rstrip(".").lower())


def _key(namespace: str, service: str) -> tuple[str, str]:
    # DNS names compare without case; Cloud Map refuses two namespaces differing only in case.
    return namespace.rstrip(".").lower(), service.lower()


def _instance_id(instance: Mapping[str, Any]) -> str:
    return str(instance.get("Id", ""))


def ip_preference(node_spec: Spec, mesh_spec: Spec) -> str | None:
    discovery = node_spec.get("serviceDiscovery") or {}
    for source in (discovery.get("awsCloudMap"), discovery.get("dns")):
        if source and source.get("ipPreference"):
            return str(source["ipPreference"])
    mesh = (mesh_spec.get("serviceDiscovery") or {}).get("ipPreference")
    return str(mesh) if mesh else None


def instance_address(attributes: Mapping[str, Any], preference: str | None) -> str | None:
    """The address an instance is reached at under an IP preference (row 8.2), if any."""
    for attribute in _FAMILIES.get(preference or "", _DEFAULT_FAMILIES):
        if attributes.get(attribute):
            return str(attributes[attribute])
    return None


def matches(attributes: Mapping[str, Any], wanted: Iterable[Mapping[str, Any]]) -> bool:
    """Whether an instance's Attributes hold every wanted {key, value}."""
    return all(attributes.get(str(w["key"])) == str(w["value"]) for w in wanted)


def instance_endpoints(
    instances: Iterable[Mapping[str, Any]], preference: str | None
) -> tuple[Endpoint, ...]:
    found = []
    for instance in instances:
        address = instance_address(instance.get("Attributes") or {}, preference)
        if address is not None:
            found.append(Endpoint(address=address, healthy=sd.routable(instance)))
    return tuple(found)


def cloud_map_endpoints(
    node_spec: Spec, mesh_spec: Spec, cloud_map: CloudMap
) -> tuple[Endpoint, ...] | None:
    """A node's instances from Cloud Map; None when its discovery is not Cloud Map's to answer
    (a DNS hostname that is no Cloud Map DNS name, or no discovery at all)."""
    discovery = node_spec.get("serviceDiscovery") or {}
    preference = ip_preference(node_spec, mesh_spec)
    selector = discovery.get("awsCloudMap")
    if selector:
        service = cloud_map.lookup(
            str(selector.get("namespaceName", "")), str(selector.get("serviceName", ""))
        )
        if service is None:
            return ()
        wanted = selector.get("attributes") or ()
        chosen = [i for i in service.instances if matches(i.get("Attributes") or {}, wanted)]
        return instance_endpoints(chosen, preference)
    dns = discovery.get("dns")
    if dns and dns.get("hostname"):
        service = cloud_map.by_dns_name(str(dns["hostname"]))
        if service is not None:
            return instance_endpoints(service.instances, preference)
    return None


def merge(*sources: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    """Endpoints of one node from several sources, one per (address, port): unhealthy when any
    source says so (a task ECS reports unhealthy, or its Cloud Map instance)."""
    merged: dict[tuple[str, int | None], Endpoint] = {}
    for source in sources:
        for endpoint in source:
            key = (endpoint.address, endpoint.port)
            seen = merged.get(key)
            if seen is None or (seen.healthy and not endpoint.healthy):
                merged[key] = endpoint
    return tuple(merged[key] for key in sorted(merged, key=lambda k: (k[0], k[1] or 0)))
