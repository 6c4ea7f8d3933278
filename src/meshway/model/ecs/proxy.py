"""APPMESH `proxyConfiguration` checks and its typed form, the input of the iptables rules.

ECS's own registration messages where known (reference/ecs.md §2.1); for missing or malformed
values Meshway reports at registration what the aws-appmesh CNI plugin would report when the
task starts (its exact strings, reference/ecs.md §3.6), since a definition that cannot start is
better refused early. Lists are comma-separated, as the ECS agent splits them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshway.core.errors import ClientException
from meshway.model.ecs.containers import Container

PORT_PROPERTIES = frozenset({"ProxyIngressPort", "ProxyEgressPort"})
PORT_LIST_PROPERTIES = frozenset({"AppPorts", "EgressIgnoredPorts"})
ID_PROPERTIES = frozenset({"IgnoredUID", "IgnoredGID"})
KNOWN_PROPERTIES = PORT_PROPERTIES | PORT_LIST_PROPERTIES | ID_PROPERTIES | {"EgressIgnoredIPs"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AppMeshProxy:
    """The parsed properties, as the ECS agent hands them to the CNI plugin."""

    container_name: str
    ignored_uid: str = ""
    ignored_gid: str = ""
    proxy_ingress_port: str = ""
    proxy_egress_port: str = ""
    app_ports: tuple[str, ...] = ()
    egress_ignored_ports: tuple[str, ...] = ()
    egress_ignored_ips: tuple[str, ...] = ()


def check_proxy_configuration(
    proxy: Mapping[str, Any] | None, network_mode: str, containers: Sequence[Container]
) -> None:
    if proxy is None:
        return
    if network_mode != "awsvpc":
        raise ClientException("APPMESH proxy configuration is only supported in networkMode=awsvpc")
    name = proxy.get("containerName")
    if name not in {c["name"] for c in containers}:
        raise ClientException(f"Proxy container [{name}] does not exist")  # 3rd-party wording
    values = _property_values(proxy.get("properties") or ())
    for key, value in values.items():
        _check_value(key, value)
    _check_required(values)


def _property_values(properties: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for prop in properties:
        name, value = prop.get("name"), prop.get("value")
        if value is None:
            raise ClientException("ProxyConfiguration properties value cannot be null.")
        if name is None:
            # unverified wording, by analogy with the verified 'value' message
            raise ClientException("ProxyConfiguration properties name cannot be null.")
        if name not in KNOWN_PROPERTIES:
            raise ClientException(  # unverified wording
                f"ProxyConfiguration property '{name}' is not supported. Supported properties: "
                + ", ".join(sorted(KNOWN_PROPERTIES))
            )
        values[name] = value
    return values


def split_list(value: str) -> list[str]:
    """The agent splits on `,`; the CNI plugin trims and treats one empty item as none."""
    items = [item.strip() for item in value.split(",")]
    return [] if items == [""] else items


def _check_value(name: str, value: str) -> None:
    if name in PORT_PROPERTIES:
        _check_ports([value] if value.strip() else [])
    elif name in PORT_LIST_PROPERTIES:
        _check_ports(split_list(value))
    elif name in ID_PROPERTIES and value.strip() and not value.strip().isdigit():
        raise ClientException(f"invalid {name} [{value}] specified")  # unverified
    elif name == "EgressIgnoredIPs":
        for item in split_list(value):
            if not _is_ip_or_cidr(item):
                raise ClientException(
                    f"invalid IP or CIDR block [{item}] specified in egressIgnoredIPs"
                )


def _check_ports(items: list[str]) -> None:
    for item in items:
        if not item.isdigit() or not 0 < int(item) <= 65535:
            raise ClientException(f"invalid port [{item}] specified")


def _is_ip_or_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _check_required(values: Mapping[str, str]) -> None:
    if not values.get("IgnoredUID", "").strip() and not values.get("IgnoredGID", "").strip():
        raise ClientException("missing required parameter ignoredGID or ignoredUID")
    if not values.get("ProxyEgressPort", "").strip():
        raise ClientException("missing required parameter proxyEgressPort")
    if not split_list(values.get("AppPorts", "")):
        raise ClientException("App ports not found")
    if not values.get("ProxyIngressPort", "").strip():
        raise ClientException(
            "missing parameter proxyIngressPort (required if appPorts are provided)"
        )


def parse_proxy(proxy: Mapping[str, Any]) -> AppMeshProxy:
    """The typed form of a registered (already checked) APPMESH configuration."""
    values = {p["name"]: p["value"] for p in proxy.get("properties") or ()}
    return AppMeshProxy(
        container_name=proxy["containerName"],
        ignored_uid=values.get("IgnoredUID", "").strip(),
        ignored_gid=values.get("IgnoredGID", "").strip(),
        proxy_ingress_port=values.get("ProxyIngressPort", "").strip(),
        proxy_egress_port=values.get("ProxyEgressPort", "").strip(),
        app_ports=tuple(split_list(values.get("AppPorts", ""))),
        egress_ignored_ports=tuple(split_list(values.get("EgressIgnoredPorts", ""))),
        egress_ignored_ips=tuple(split_list(values.get("EgressIgnoredIPs", ""))),
    )
