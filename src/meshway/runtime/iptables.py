"""APPMESH `proxyConfiguration` → the iptables rules of ECS's aws-appmesh CNI plugin.

Pure: `interception_from_properties` reads the task definition's properties as the ECS agent does
(values split on `,`, 169.254.170.2 and 169.254.169.254 always appended to the ignored IPs) and
`restore_text` renders the plugin's rule sequence (ingress first, then egress; multiport lists cut
to their first 15 ports; TCP only; IPv4 only) as one `iptables-restore` input for the task's nat
table. Facts: reference/ecs.md §3.6 (aws/amazon-vpc-cni-plugins plugins/aws-appmesh).
Applying the text is the runtime's job (`netns.TaskNetwork.apply_iptables`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The ECS agent appends these to EgressIgnoredIPs when absent (ecs-agent/netlib/model/appmesh).
ALWAYS_IGNORED_IPS = ("169.254.170.2", "169.254.169.254")
# `forEachSlice` in the plugin keeps only the first 15 ports of a multiport list.
MULTIPORT_MAX = 15


class InterceptionError(ValueError):
    """A property the CNI plugin would refuse, worded as the plugin words it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Interception:
    ignored_uid: str = ""
    ignored_gid: str = ""
    ingress_port: str = ""
    egress_port: str
    app_ports: tuple[str, ...] = ()
    egress_ignored_ports: tuple[str, ...] = ()
    egress_ignored_ips: tuple[str, ...] = ALWAYS_IGNORED_IPS


def _split(value: str | None) -> tuple[str, ...]:
    """The agent splits on `,` without trimming; a list of one empty string is empty."""
    if value is None or value == "":
        return ()
    return tuple(value.split(","))


def _check_port(port: str) -> None:
    try:
        ok = int(port) > 0
    except ValueError:
        ok = False
    if not ok:
        raise InterceptionError(f"invalid port [{port}] specified")


def interception_from_properties(properties: Mapping[str, str]) -> Interception:
    uid = properties.get("IgnoredUID", "")
    gid = properties.get("IgnoredGID", "")
    if not uid and not gid:
        raise InterceptionError("missing required parameter ignoredGID or ignoredUID")
    egress = properties.get("ProxyEgressPort", "")
    if not egress:
        raise InterceptionError("missing required parameter proxyEgressPort")
    ingress = properties.get("ProxyIngressPort", "")
    app_ports = _split(properties.get("AppPorts"))
    if app_ports and not ingress:
        raise InterceptionError(
            "missing parameter proxyIngressPort (required if appPorts are provided)"
        )
    if ingress and not app_ports:
        raise InterceptionError(
            "missing parameter appPorts (required if proxyIngressPort is provided)"
        )
    ignored_ports = _split(properties.get("EgressIgnoredPorts"))
    for port in (egress, *([ingress] if ingress else []), *app_ports, *ignored_ports):
        _check_port(port)
    ips = [ip.strip() for ip in _split(properties.get("EgressIgnoredIPs"))]
    for ip in ips:
        _check_cidr(ip)
    ips += [ip for ip in ALWAYS_IGNORED_IPS if ip not in ips]
    return Interception(
        ignored_uid=uid,
        ignored_gid=gid,
        ingress_port=ingress,
        egress_port=egress,
        app_ports=app_ports,
        egress_ignored_ports=ignored_ports,
        egress_ignored_ips=tuple(ips),
    )


def _check_cidr(text: str) -> None:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InterceptionError(
            f"invalid IP or CIDR block [{text}] specified in egressIgnoredIPs"
        ) from exc


def _ipv4(ips: Sequence[str]) -> list[str]:
    return [ip for ip in ips if ipaddress.ip_network(ip, strict=False).version == 4]


def _ports(ports: Sequence[str]) -> str:
    return ",".join(ports[:MULTIPORT_MAX])


def rule_lines(spec: Interception) -> list[str]:
    """The plugin's commands, in its order, as `iptables -t nat` arguments."""
    lines: list[str] = []
    if spec.ingress_port and spec.app_ports:
        lines += [
            "-N APPMESH_INGRESS",
            f"-A APPMESH_INGRESS -p tcp -m multiport --dports {_ports(spec.app_ports)} "
            f"-j REDIRECT --to-port {spec.ingress_port}",
            "-A PREROUTING -p tcp -m addrtype ! --src-type LOCAL -j APPMESH_INGRESS",
        ]
    lines.append("-N APPMESH_EGRESS")
    if spec.ignored_uid:
        lines.append(f"-A APPMESH_EGRESS -m owner --uid-owner {spec.ignored_uid} -j RETURN")
    if spec.ignored_gid:
        lines.append(f"-A APPMESH_EGRESS -m owner --gid-owner {spec.ignored_gid} -j RETURN")
    if spec.egress_ignored_ports:
        lines.append(
            f"-A APPMESH_EGRESS -p tcp -m multiport --dports "
            f"{_ports(spec.egress_ignored_ports)} -j RETURN"
        )
    ipv4 = _ipv4(spec.egress_ignored_ips)
    if ipv4:
        lines.append(f"-A APPMESH_EGRESS -p tcp -d {','.join(ipv4)} -j RETURN")
    lines += [
        f"-A APPMESH_EGRESS -p tcp -j REDIRECT --to {spec.egress_port}",
        "-A OUTPUT -p tcp -m addrtype ! --dst-type LOCAL -j APPMESH_EGRESS",
    ]
    return lines


def restore_text(spec: Interception) -> str:
    """One `iptables-restore` input that replaces the task's nat table atomically (no
    `--noflush`: the table is the task's own, and a rerun stays idempotent)."""
    return "*nat\n" + "".join(line + "\n" for line in rule_lines(spec)) + "COMMIT\n"


EMPTY_NAT = "*nat\nCOMMIT\n"  # what CNI DEL leaves: no chains, no jumps
