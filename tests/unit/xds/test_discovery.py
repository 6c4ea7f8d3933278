"""App Mesh discovery from Cloud Map (pure): attribute filters, DNS names, IP preference,
health."""

from __future__ import annotations

from typing import Any

import pytest

from meshway.xds.discovery import (
    CloudMap,
    cloud_map_endpoints,
    instance_address,
    ip_preference,
    merge,
)
from meshway.xds.view import Endpoint

NAMESPACES = [
    {"Id": "ns-1", "Name": "apps.local", "Type": "DNS_PRIVATE"},
    {"Id": "ns-2", "Name": "api", "Type": "HTTP"},
]
SERVICES = [
    {"Id": "srv-1", "Name": "colors", "NamespaceId": "ns-1"},
    {"Id": "srv-2", "Name": "colors", "NamespaceId": "ns-2"},
]


def instance(ip: str, family: str, health: str = "UNKNOWN", service: str = "srv-1") -> Any:
    return {
        "Id": f"i-{ip}",
        "ServiceId": service,
        "HealthStatus": health,
        "Attributes": {"AWS_INSTANCE_IPV4": ip, "ECS_TASK_DEFINITION_FAMILY": family},
    }


CLOUD_MAP = CloudMap.of(
    NAMESPACES,
    SERVICES,
    [
        instance("10.0.0.1", "blue"),
        instance("10.0.0.2", "green"),
        instance("10.0.0.3", "blue", "UNHEALTHY"),
        instance("10.0.0.9", "blue", service="srv-2"),
    ],
)


def cloud_map_node(namespace: str = "apps.local", **extra: Any) -> dict[str, Any]:
    selector = {"namespaceName": namespace, "serviceName": "colors", **extra}
    return {"serviceDiscovery": {"awsCloudMap": selector}}


def test_an_attribute_filter_keeps_only_the_instances_holding_every_pair() -> None:
    spec = cloud_map_node(attributes=[{"key": "ECS_TASK_DEFINITION_FAMILY", "value": "blue"}])
    assert cloud_map_endpoints(spec, {}, CLOUD_MAP) == (
        Endpoint(address="10.0.0.1"),
        Endpoint(address="10.0.0.3", healthy=False),
    )
    both = [
        {"key": "ECS_TASK_DEFINITION_FAMILY", "value": "blue"},
        {"key": "AWS_INSTANCE_IPV4", "value": "10.0.0.1"},
    ]
    assert cloud_map_endpoints(cloud_map_node(attributes=both), {}, CLOUD_MAP) == (
        Endpoint(address="10.0.0.1"),
    )


def test_no_attributes_select_every_instance_of_the_named_service_and_namespace() -> None:
    found = cloud_map_endpoints(cloud_map_node(), {}, CLOUD_MAP)
    assert [e.address for e in found or ()] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    http = cloud_map_endpoints(cloud_map_node("api"), {}, CLOUD_MAP)
    assert [e.address for e in http or ()] == ["10.0.0.9"]


def test_a_missing_service_means_known_but_no_instances() -> None:
    assert cloud_map_endpoints(cloud_map_node("nowhere.local"), {}, CLOUD_MAP) == ()


def test_a_dns_hostname_that_is_a_cloud_map_dns_name_resolves_to_its_instances() -> None:
    for hostname in ("colors.apps.local", "Colors.Apps.Local."):
        for response in ("LOADBALANCER", "ENDPOINTS"):
            spec = {"serviceDiscovery": {"dns": {"hostname": hostname, "responseType": response}}}
            found = cloud_map_endpoints(spec, {}, CLOUD_MAP)
            assert [e.address for e in found or ()] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_other_dns_hostnames_and_http_namespaces_are_not_cloud_maps_to_answer() -> None:
    for hostname in ("colors.elsewhere.local", "colors.api", "apps.local"):
        spec = {"serviceDiscovery": {"dns": {"hostname": hostname}}}
        assert cloud_map_endpoints(spec, {}, CLOUD_MAP) is None
    assert cloud_map_endpoints({}, {}, CLOUD_MAP) is None


@pytest.mark.parametrize(
    ("preference", "both", "v4_only", "v6_only"),
    [
        (None, "10.0.0.1", "10.0.0.1", "fd00::1"),
        ("IPv4_PREFERRED", "10.0.0.1", "10.0.0.1", "fd00::1"),
        ("IPv6_PREFERRED", "fd00::1", "10.0.0.1", "fd00::1"),
        ("IPv4_ONLY", "10.0.0.1", "10.0.0.1", None),
        ("IPv6_ONLY", "fd00::1", None, "fd00::1"),
    ],
)
def test_the_ip_preference_picks_the_address_family(
    preference: str | None, both: str, v4_only: str | None, v6_only: str | None
) -> None:
    v4, v6 = {"AWS_INSTANCE_IPV4": "10.0.0.1"}, {"AWS_INSTANCE_IPV6": "fd00::1"}
    assert instance_address({**v4, **v6}, preference) == both
    assert instance_address(v4, preference) == v4_only
    assert instance_address(v6, preference) == v6_only


def test_the_node_preference_overrides_the_mesh_preference() -> None:
    mesh = {"serviceDiscovery": {"ipPreference": "IPv6_ONLY"}}
    assert ip_preference(cloud_map_node(), mesh) == "IPv6_ONLY"
    assert ip_preference(cloud_map_node(ipPreference="IPv4_ONLY"), mesh) == "IPv4_ONLY"
    assert ip_preference(cloud_map_node(), {}) is None


def test_merging_keeps_one_endpoint_per_address_unhealthy_if_any_source_says_so() -> None:
    a, b = Endpoint(address="10.0.0.1"), Endpoint(address="10.0.0.2")
    sick = Endpoint(address="10.0.0.2", healthy=False)
    assert merge([b, a], [sick, a]) == (a, sick)
    assert merge([sick], [b]) == (sick,)
