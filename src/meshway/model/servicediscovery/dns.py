"""The DNS records Cloud Map keeps in Route 53 for its DNS namespaces (pure).

From the stored NAMESPACE, SERVICE and INSTANCE documents (records.py) to the record sets a
resolver answers, as the Cloud Map API reference describes them (DnsRecord, DnsConfig,
RegisterInstance):

- only DNS_PRIVATE and DNS_PUBLIC namespaces have a zone; HTTP namespaces, services of Type HTTP
  and services without DnsConfig create no records;
- `<service>.<namespace>`: A from AWS_INSTANCE_IPV4, AAAA from AWS_INSTANCE_IPV6, CNAME from
  AWS_INSTANCE_CNAME, SRV `1 1 <AWS_INSTANCE_PORT> <instance-id>.<service>.<namespace>`, each only
  when the service's DnsConfig lists that type, with that DnsRecord's TTL;
- for SRV, Cloud Map also creates A/AAAA records named after the SRV target (DnsRecord: "Cloud Map
  automatically creates A and/or AAAA records that have the same name as the value of
  service-hostname"); the reference gives them no TTL of their own, so they take the SRV's;
- instances registered with AWS_ALIAS_DNS_NAME make alias records to an ELB, which cannot resolve
  on a Meshway host: they contribute nothing.

Health (Route 53 routing): MULTIVALUE answers up to eight healthy values chosen at random, WEIGHTED
one at random (all Cloud Map records have the same weight). When no value of a set is healthy,
Route 53 fails open: "When all records are unhealthy, Route 53 responds to DNS queries with up to
eight unhealthy records" (Route 53 API, ResourceRecordSet.MultiValueAnswer), and for WEIGHTED "If
no instances are healthy, Route 53 responds to DNS queries as if all of the instances were
healthy" (Cloud Map DnsConfig.RoutingPolicy). A set therefore keeps its unhealthy values apart and
answers with them only when it has no healthy one. The SRV target's own A record is a group of one
and so always answers.

Zones: each DNS namespace is a hosted zone; its apex and every name between a record and the apex
exist (NOERROR with no data, RFC 8020), other names under it do not (NXDOMAIN). The negative TTL is
the namespace's SOA TTL (`Properties.DnsProperties.SOA.TTL`). Two namespaces with the same name
(one network here, where Route 53 would refuse a second private zone of that name for a VPC): the
oldest wins. Nested zones: a name belongs to the most specific zone, as with Route 53 Resolver.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from meshway.model.servicediscovery import records

A = "A"
AAAA = "AAAA"
SRV = "SRV"
CNAME = "CNAME"
RECORD_TYPES = (A, AAAA, SRV, CNAME)

MULTIVALUE = "MULTIVALUE"
WEIGHTED = "WEIGHTED"
MAX_MULTIVALUE = 8  # Route 53: "up to eight healthy records"
DEFAULT_NEGATIVE_TTL = 15  # when a namespace document carries no SOA TTL
HTTP_SERVICE = "HTTP"  # Service.Type: discoverable only through DiscoverInstances


@dataclass(frozen=True, slots=True, kw_only=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


Value = str | Srv  # an address, a CNAME target, or an SRV


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSet:
    """The values of one name and type. `limit` is how many one answer carries."""

    ttl: int
    healthy: tuple[Value, ...]
    unhealthy: tuple[Value, ...] = ()
    limit: int = MAX_MULTIVALUE

    @property
    def has_healthy(self) -> bool:
        return bool(self.healthy)

    def choose(self, rng: random.Random) -> tuple[Value, ...]:
        """Up to `limit` values at random, healthy ones only unless none is (fail open)."""
        pool = self.healthy or self.unhealthy
        return tuple(rng.sample(pool, min(self.limit, len(pool))))


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    name: str
    negative_ttl: int = DEFAULT_NEGATIVE_TTL


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneRecords:
    """Every Cloud Map zone and record set: name → type → set; names are normalized."""

    zones: Mapping[str, Zone] = field(default_factory=dict)
    records: Mapping[str, Mapping[str, RecordSet]] = field(default_factory=dict)

    def exists(self, name: str) -> bool:
        return name in self.records or name in self.zones


class Stored(Protocol):
    """What this module needs of a stored record (store.base.Record has it)."""

    @property
    def key(self) -> str: ...

    @property
    def parent(self) -> str: ...

    @property
    def body(self) -> Mapping[str, Any]: ...


def normalize(name: str) -> str:
    """DNS names compare case-insensitively; the root label's dot is not part of the name."""
    return name.rstrip(".").lower()


def zone_of(name: str, zones: Mapping[str, Zone]) -> Zone | None:
    """The most specific zone that `name` is in (or is the apex of)."""
    labels = normalize(name).split(".")
    for start in range(len(labels)):
        zone = zones.get(".".join(labels[start:]))
        if zone is not None:
            return zone
    return None


def build_zone_records(
    namespaces: Iterable[Stored], services: Iterable[Stored], instances: Iterable[Stored]
) -> ZoneRecords:
    """The records of every DNS namespace, joined by the storage contract's parent keys."""
    zone_names = _dns_namespaces(namespaces)
    zones = {name: zone for name, (_, zone) in zone_names.items()}
    owner = {key: name for name, (key, _) in zone_names.items()}
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for instance in instances:
        by_service.setdefault(instance.parent, []).append(instance.body)
    builder = _Builder(zones)
    for service in services:
        namespace = owner.get(service.parent)
        if namespace is not None and _has_dns(service.body):
            _add_service(builder, service.body, namespace, by_service.get(service.key, ()))
    return ZoneRecords(zones=zones, records=builder.finish())


def _dns_namespaces(namespaces: Iterable[Stored]) -> dict[str, tuple[str, Zone]]:
    """name → (namespace key, zone) for DNS namespaces; the oldest of a name wins."""
    ordered = sorted(
        (n for n in namespaces if n.body.get("Type") in records.DNS_TYPES and n.body.get("Name")),
        key=lambda n: (float(n.body.get("CreateDate") or 0), n.key),
    )
    found: dict[str, tuple[str, Zone]] = {}
    for namespace in ordered:
        name = normalize(str(namespace.body["Name"]))
        if name not in found:
            found[name] = (namespace.key, Zone(name=name, negative_ttl=_soa_ttl(namespace.body)))
    return found


def _soa_ttl(namespace: Mapping[str, Any]) -> int:
    soa = ((namespace.get("Properties") or {}).get("DnsProperties") or {}).get("SOA") or {}
    ttl = soa.get("TTL")
    return int(ttl) if ttl is not None else DEFAULT_NEGATIVE_TTL


def _has_dns(service: Mapping[str, Any]) -> bool:
    config = service.get("DnsConfig") or {}
    return service.get("Type") != HTTP_SERVICE and bool(config.get("DnsRecords"))


@dataclass(slots=True)
class _Values:
    ttl: int
    limit: int
    healthy: list[Value] = field(default_factory=list)
    unhealthy: list[Value] = field(default_factory=list)


class _Builder:
    """Collects values per (name, type), dropping names that belong to a more specific zone."""

    def __init__(self, zones: Mapping[str, Zone]) -> None:
        self._zones = zones
        self._sets: dict[str, dict[str, _Values]] = {}

    def add(self, zone: str, name: str, rtype: str, ttl: int, limit: int) -> _Values | None:
        owner = zone_of(name, self._zones)
        if owner is None or owner.name != zone:
            return None
        return self._sets.setdefault(name, {}).setdefault(rtype, _Values(ttl=ttl, limit=limit))

    def finish(self) -> dict[str, Mapping[str, RecordSet]]:
        built: dict[str, Mapping[str, RecordSet]] = {}
        for name, sets in self._sets.items():
            built[name] = {
                rtype: RecordSet(
                    ttl=v.ttl,
                    healthy=tuple(v.healthy),
                    unhealthy=tuple(v.unhealthy),
                    limit=v.limit,
                )
                for rtype, v in sets.items()
                if v.healthy or v.unhealthy
            }
            for ancestor in _ancestors(name, zone_of(name, self._zones)):
                built.setdefault(ancestor, {})  # empty non-terminals exist (RFC 8020)
        return built


def _ancestors(name: str, zone: Zone | None) -> list[str]:
    """Names strictly between `name` and its zone's apex."""
    if zone is None:
        return []
    labels = name.split(".")
    depth = len(zone.name.split("."))
    return [".".join(labels[i:]) for i in range(1, len(labels) - depth)]


def _add_service(
    builder: _Builder,
    service: Mapping[str, Any],
    namespace: str,
    instances: Iterable[Mapping[str, Any]],
) -> None:
    config = service["DnsConfig"]
    ttls = {str(r.get("Type")): int(r.get("TTL") or 0) for r in config.get("DnsRecords") or ()}
    limit = 1 if config.get("RoutingPolicy") == WEIGHTED else MAX_MULTIVALUE
    name = normalize(f"{service.get('Name', '')}.{namespace}")
    for instance in sorted(instances, key=lambda i: str(i.get("Id"))):
        attributes: Mapping[str, str] = instance.get("Attributes") or {}
        if records.ALIAS in attributes:
            continue
        healthy = records.routable(instance)
        for rtype, value in _instance_values(ttls, attributes, str(instance.get("Id")), name):
            values = builder.add(namespace, name, rtype, ttls[rtype], limit)
            if values is not None:
                (values.healthy if healthy else values.unhealthy).append(value)
        if SRV in ttls and records.PORT in attributes:
            target = srv_target(str(instance.get("Id")), name)
            _add_srv_target(builder, namespace, ttls[SRV], attributes, target)


def _instance_values(
    ttls: Mapping[str, int], attributes: Mapping[str, str], instance_id: str, name: str
) -> list[tuple[str, Value]]:
    found: list[tuple[str, Value]] = []
    if A in ttls and records.IPV4 in attributes:
        found.append((A, attributes[records.IPV4]))
    if AAAA in ttls and records.IPV6 in attributes:
        found.append((AAAA, attributes[records.IPV6]))
    if CNAME in ttls and records.CNAME in attributes:
        found.append((CNAME, normalize(attributes[records.CNAME])))
    port = _port(attributes.get(records.PORT))
    if SRV in ttls and port is not None:
        target = srv_target(instance_id, name)
        found.append((SRV, Srv(priority=1, weight=1, port=port, target=target)))
    return found


def srv_target(instance_id: str, service_name: str) -> str:
    """DnsRecord: service-hostname is InstanceId, service name and namespace name joined."""
    return normalize(f"{instance_id}.{service_name}")


def _add_srv_target(
    builder: _Builder,
    namespace: str,
    ttl: int,
    attributes: Mapping[str, str],
    target: str,
) -> None:
    for rtype, attribute in ((A, records.IPV4), (AAAA, records.IPV6)):
        if attribute in attributes:
            values = builder.add(namespace, target, rtype, ttl, 1)
            if values is not None:
                values.healthy.append(attributes[attribute])  # a group of one fails open anyway


def _port(value: str | None) -> int | None:
    try:
        port = int(value) if value is not None else None
    except ValueError:
        return None
    return port if port is not None and 0 <= port <= 65535 else None
