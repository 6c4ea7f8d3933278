"""Cloud Map's pure rules: record combinations, attribute requirements, initial health,
DiscoverInstances' filters and the list filters."""

from __future__ import annotations

from typing import Any

import pytest

from meshway.model.servicediscovery import rules
from meshway.model.servicediscovery.filters import (
    NAMESPACE_CONDITIONS,
    OPERATION_CONDITIONS,
    Filter,
    parse_filters,
)


def _service(*types: str, **extra: Any) -> dict[str, Any]:
    return {"DnsConfig": {"DnsRecords": [{"Type": t, "TTL": 5} for t in types]}, **extra}


@pytest.mark.parametrize(
    ("types", "ok"),
    [
        (["A"], True),
        (["AAAA", "A"], True),
        (["SRV", "A"], True),
        (["CNAME"], False),  # MULTIVALUE by default: CNAME needs WEIGHTED
        (["CNAME", "A"], False),
        (["A", "A"], False),
        ([], False),
    ],
)
def test_record_combinations_follow_the_dnsrecord_documentation(types: list[str], ok: bool) -> None:
    message = rules.check_dns_config(_service(*types)["DnsConfig"])
    assert (message is None) is ok


def test_an_srv_service_needs_a_port_and_an_address() -> None:
    service = _service("SRV")
    assert rules.check_attributes(service, "DNS_PRIVATE", {"AWS_INSTANCE_PORT": "80"})
    assert rules.check_attributes(service, "DNS_PRIVATE", {"AWS_INSTANCE_IPV4": "10.0.0.1"})
    both = {"AWS_INSTANCE_PORT": "80", "AWS_INSTANCE_IPV6": "2001:db8::1"}
    assert rules.check_attributes(service, "DNS_PRIVATE", both) is None


def test_an_alias_needs_weighted_routing_and_no_instance_attributes() -> None:
    weighted = {"DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 5}], "RoutingPolicy": "WEIGHTED"}}
    alias = {"AWS_ALIAS_DNS_NAME": "lb.example.com"}
    assert rules.check_attributes(weighted, "DNS_PUBLIC", alias) is None
    mixed = {**alias, "AWS_INSTANCE_IPV4": "10.0.0.1"}
    assert rules.check_attributes(weighted, "DNS_PUBLIC", mixed)
    assert rules.check_attributes(_service("A"), "DNS_PUBLIC", alias)


def test_initial_health_by_kind_of_health_check() -> None:
    ip = {"AWS_INSTANCE_IPV4": "10.0.0.1"}
    assert rules.initial_health(_service("A"), ip) == "UNKNOWN"
    assert rules.initial_health(_service("A", HealthCheckConfig={"Type": "TCP"}), ip) == "HEALTHY"
    custom = _service("A", HealthCheckCustomConfig={"FailureThreshold": 1})
    assert rules.initial_health(custom, ip) == "HEALTHY"
    down = {**ip, "AWS_INIT_HEALTH_STATUS": "UNHEALTHY"}
    assert rules.initial_health(custom, down) == "UNHEALTHY"


def test_optional_parameters_fall_back_when_nothing_matches() -> None:
    instances = [{"Attributes": {"c": "blue"}}, {"Attributes": {"c": "green"}}]
    assert rules.select_instances(instances, {}, {"c": "green"}) == [instances[1]]
    assert rules.select_instances(instances, {}, {"c": "red"}) == instances
    assert rules.select_instances(instances, {"c": "red"}, {}) == []


def test_healthy_or_else_all_fails_open() -> None:
    down = [{"HealthStatus": "UNHEALTHY"}, {"HealthStatus": "UNHEALTHY"}]
    assert rules.filter_health(down, "HEALTHY", checked=True) == []
    assert rules.filter_health(down, "HEALTHY_OR_ELSE_ALL", checked=True) == down
    assert rules.filter_health(down, "HEALTHY", checked=False) == down


def test_filters_check_conditions_and_value_counts() -> None:
    assert isinstance(
        parse_filters([{"Name": "NAME", "Values": ["a"], "Condition": "IN"}], NAMESPACE_CONDITIONS),
        str,
    )
    assert isinstance(
        parse_filters([{"Name": "TYPE", "Values": ["A", "B"]}], NAMESPACE_CONDITIONS), str
    )
    between = {"Name": "UPDATE_DATE", "Values": ["1", "2"], "Condition": "BETWEEN"}
    assert parse_filters([between], OPERATION_CONDITIONS) == [
        Filter(name="UPDATE_DATE", condition="BETWEEN", values=("1", "2"))
    ]
    assert Filter(name="UPDATE_DATE", condition="BETWEEN", values=("1", "2")).accepts(1.5)
    assert not Filter(name="NAME", condition="BEGINS_WITH", values=("ab",)).accepts("ba")
