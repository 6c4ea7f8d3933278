"""The DNS records Cloud Map would create, from stored NAMESPACE/SERVICE/INSTANCE documents."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from meshway.model.servicediscovery import records
from meshway.model.servicediscovery.dns import (
    DEFAULT_NEGATIVE_TTL,
    RecordSet,
    Srv,
    ZoneRecords,
    build_zone_records,
    zone_of,
)
from meshway.store.base import Record

SCOPE = records.CloudMapScope(region="us-west-2", account="111122223333")


def namespace(ns_id: str, name: str, kind: str = records.DNS_PRIVATE, **extra: Any) -> Record:
    body = {"Id": ns_id, "Name": name, "Type": kind, "CreateDate": 1.0, **extra}
    return Record(
        kind=records.NAMESPACE, key=SCOPE.namespace_arn(ns_id), parent=SCOPE.key, body=body
    )


def service(
    srv_id: str,
    name: str,
    ns_id: str,
    dns: list[tuple[str, int]] | None,
    policy: str = "MULTIVALUE",
    **extra: Any,
) -> Record:
    body: dict[str, Any] = {"Id": srv_id, "Name": name, "NamespaceId": ns_id, **extra}
    if dns is not None:
        body["DnsConfig"] = {
            "RoutingPolicy": policy,
            "DnsRecords": [{"Type": t, "TTL": ttl} for t, ttl in dns],
        }
    return Record(
        kind=records.SERVICE,
        key=SCOPE.service_arn(srv_id),
        parent=SCOPE.namespace_arn(ns_id),
        body=body,
    )


def instance(srv_id: str, inst_id: str, health: str = records.UNKNOWN, **attrs: str) -> Record:
    service_arn = SCOPE.service_arn(srv_id)
    body = {"Id": inst_id, "ServiceId": srv_id, "Attributes": attrs, "HealthStatus": health}
    return Record(
        kind=records.INSTANCE,
        key=records.instance_key(service_arn, inst_id),
        parent=service_arn,
        body=body,
    )


def ips(count: int, start: int = 2) -> list[str]:
    return [f"10.0.0.{i}" for i in range(start, start + count)]


def build(*stored: Record) -> ZoneRecords:
    return build_zone_records(
        [r for r in stored if r.kind == records.NAMESPACE],
        [r for r in stored if r.kind == records.SERVICE],
        [r for r in stored if r.kind == records.INSTANCE],
    )


def test_a_service_with_a_records_answers_each_instance_address_with_the_a_ttl() -> None:
    zone = build(
        namespace("ns-1", "Demo.Local"),
        service("srv-1", "colorteller", "ns-1", [("A", 60)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.2"),
        instance("srv-1", "i-2", AWS_INSTANCE_IPV4="10.0.0.3", AWS_INSTANCE_PORT="9080"),
    )
    assert set(zone.zones) == {"demo.local"}
    assert zone.records["colorteller.demo.local"] == {
        "A": RecordSet(ttl=60, healthy=("10.0.0.2", "10.0.0.3"))
    }


def test_a_and_aaaa_records_each_keep_their_own_ttl() -> None:
    zone = build(
        namespace("ns-1", "demo.local"),
        service("srv-1", "api", "ns-1", [("A", 10), ("AAAA", 20)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.2", AWS_INSTANCE_IPV6="fd00::2"),
    )
    sets = zone.records["api.demo.local"]
    assert (sets["A"].ttl, sets["A"].healthy) == (10, ("10.0.0.2",))
    assert (sets["AAAA"].ttl, sets["AAAA"].healthy) == (20, ("fd00::2",))


def test_srv_targets_are_instance_service_namespace_and_have_their_own_addresses() -> None:
    zone = build(
        namespace("ns-1", "example.com"),
        service("srv-1", "backend", "ns-1", [("SRV", 30)]),
        instance("srv-1", "test", AWS_INSTANCE_IPV4="10.0.0.2", AWS_INSTANCE_PORT="8080"),
    )
    srv = zone.records["backend.example.com"]["SRV"]
    assert srv == RecordSet(
        ttl=30, healthy=(Srv(priority=1, weight=1, port=8080, target="test.backend.example.com"),)
    )
    assert "A" not in zone.records["backend.example.com"]  # only the types DnsConfig lists
    assert zone.records["test.backend.example.com"]["A"].healthy == ("10.0.0.2",)
    assert zone.records["test.backend.example.com"]["A"].ttl == 30


def test_a_cname_service_answers_the_instance_cname() -> None:
    zone = build(
        namespace("ns-1", "demo.local"),
        service("srv-1", "www", "ns-1", [("CNAME", 300)], policy="WEIGHTED"),
        instance("srv-1", "i-1", AWS_INSTANCE_CNAME="Web.Example.com"),
    )
    assert zone.records["www.demo.local"]["CNAME"] == RecordSet(
        ttl=300, healthy=("web.example.com",), limit=1
    )


def test_http_namespaces_http_services_and_services_without_dns_config_create_nothing() -> None:
    zone = build(
        namespace("ns-1", "http.local", records.HTTP),
        service("srv-1", "a", "ns-1", [("A", 60)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.2"),
        namespace("ns-2", "demo.local"),
        service("srv-2", "b", "ns-2", [("A", 60)], Type="HTTP"),
        instance("srv-2", "i-1", AWS_INSTANCE_IPV4="10.0.0.3"),
        service("srv-3", "c", "ns-2", None),
        instance("srv-3", "i-1", AWS_INSTANCE_IPV4="10.0.0.4"),
    )
    assert set(zone.zones) == {"demo.local"}
    assert zone.records == {}


def test_a_public_namespace_is_served_like_a_private_one() -> None:
    zone = build(
        namespace("ns-1", "example.org", records.DNS_PUBLIC),
        service("srv-1", "www", "ns-1", [("A", 60)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.2"),
    )
    assert zone.records["www.example.org"]["A"].healthy == ("10.0.0.2",)


def test_a_service_without_instances_has_no_name_but_its_zone_exists() -> None:
    zone = build(namespace("ns-1", "demo.local"), service("srv-1", "api", "ns-1", [("A", 60)]))
    assert zone.records == {}
    assert zone.exists("demo.local")
    assert not zone.exists("api.demo.local")


def test_unhealthy_instances_are_kept_apart_for_failing_open() -> None:
    zone = build(
        namespace("ns-1", "demo.local"),
        service("srv-1", "api", "ns-1", [("A", 60)], HealthCheckCustomConfig={}),
        instance("srv-1", "i-1", records.HEALTHY, AWS_INSTANCE_IPV4="10.0.0.2"),
        instance("srv-1", "i-2", records.UNHEALTHY, AWS_INSTANCE_IPV4="10.0.0.3"),
        instance("srv-1", "i-3", records.UNKNOWN, AWS_INSTANCE_IPV4="10.0.0.4"),
    )
    sets = zone.records["api.demo.local"]["A"]
    assert sets.healthy == ("10.0.0.2", "10.0.0.4")
    assert sets.unhealthy == ("10.0.0.3",)
    rng = random.Random(1)
    assert all("10.0.0.3" not in sets.choose(rng) for _ in range(50))


def test_when_every_instance_is_unhealthy_route_53_answers_with_the_unhealthy_ones() -> None:
    sets = RecordSet(ttl=5, healthy=(), unhealthy=tuple(ips(10)))
    chosen = sets.choose(random.Random(2))
    assert len(chosen) == 8
    assert set(chosen) <= set(ips(10))


def test_multivalue_answers_at_most_eight_distinct_values_chosen_at_random() -> None:
    sets = RecordSet(ttl=5, healthy=tuple(ips(20)))
    rng = random.Random(3)
    answers = [sets.choose(rng) for _ in range(200)]
    assert all(len(a) == 8 and len(set(a)) == 8 for a in answers)
    seen = Counter(v for a in answers for v in a)
    assert set(seen) == set(ips(20))  # every instance gets its turn
    small = RecordSet(ttl=5, healthy=tuple(ips(3)))
    assert all(sorted(map(str, small.choose(rng))) == ips(3) for _ in range(20))


def test_weighted_answers_one_value_chosen_at_random() -> None:
    zone = build(
        namespace("ns-1", "demo.local"),
        service("srv-1", "api", "ns-1", [("A", 60)], policy="WEIGHTED"),
        *(instance("srv-1", f"i-{n}", AWS_INSTANCE_IPV4=ip) for n, ip in enumerate(ips(4))),
    )
    sets = zone.records["api.demo.local"]["A"]
    rng = random.Random(4)
    answers = [sets.choose(rng) for _ in range(200)]
    assert all(len(a) == 1 for a in answers)
    assert {a[0] for a in answers} == set(ips(4))


def test_alias_instances_and_srv_instances_without_a_usable_port_contribute_nothing() -> None:
    zone = build(
        namespace("ns-1", "demo.local"),
        service("srv-1", "api", "ns-1", [("A", 60), ("SRV", 60)]),
        instance("srv-1", "i-1", AWS_ALIAS_DNS_NAME="lb.elb.amazonaws.com"),
        instance("srv-1", "i-2", AWS_INSTANCE_IPV4="10.0.0.2", AWS_INSTANCE_PORT="http"),
    )
    assert set(zone.records["api.demo.local"]) == {"A"}
    assert zone.records["api.demo.local"]["A"].healthy == ("10.0.0.2",)


def test_names_between_a_record_and_its_zone_apex_exist_without_data() -> None:
    zone = build(
        namespace("ns-1", "demo.local"),
        service("srv-1", "_api._tcp", "ns-1", [("SRV", 60)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.2", AWS_INSTANCE_PORT="80"),
    )
    assert zone.records["_tcp.demo.local"] == {}
    assert zone.records["_api._tcp.demo.local"]["SRV"].healthy[0] == Srv(
        priority=1, weight=1, port=80, target="i-1._api._tcp.demo.local"
    )
    assert "demo.local" not in zone.records  # the apex is a zone, not a record name


def test_the_negative_ttl_is_the_namespace_soa_ttl() -> None:
    soa = {"DnsProperties": {"SOA": {"TTL": 42}}}
    zone = build(namespace("ns-1", "a.local", Properties=soa), namespace("ns-2", "b.local"))
    assert zone.zones["a.local"].negative_ttl == 42
    assert zone.zones["b.local"].negative_ttl == DEFAULT_NEGATIVE_TTL


def test_of_two_namespaces_with_one_name_the_oldest_wins() -> None:
    older = namespace("ns-2", "demo.local")
    newer = namespace("ns-1", "demo.local", CreateDate=5.0)
    zone = build(
        newer,
        older,
        service("srv-1", "api", "ns-1", [("A", 60)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.9"),
        service("srv-2", "api", "ns-2", [("A", 60)]),
        instance("srv-2", "i-1", AWS_INSTANCE_IPV4="10.0.0.2"),
    )
    assert zone.records["api.demo.local"]["A"].healthy == ("10.0.0.2",)


def test_a_name_belongs_to_the_most_specific_zone() -> None:
    zone = build(
        namespace("ns-1", "local"),
        namespace("ns-2", "demo.local"),
        service("srv-1", "api.demo", "ns-1", [("A", 60)]),
        instance("srv-1", "i-1", AWS_INSTANCE_IPV4="10.0.0.9"),
        service("srv-2", "web", "ns-1", [("A", 60)]),
        instance("srv-2", "i-1", AWS_INSTANCE_IPV4="10.0.0.3"),
    )
    assert "api.demo.local" not in zone.records  # hidden by the demo.local zone
    assert zone.records["web.local"]["A"].healthy == ("10.0.0.3",)
    found = zone_of("x.api.demo.local", zone.zones)
    assert found is not None
    assert found.name == "demo.local"
    assert zone_of("example.com", zone.zones) is None
