"""Every Envoy name Meshway gives a resource, spelled as App Mesh spells it.

Sources (reference/envoy.md §3, reference/translation.md): listeners `lds_<direction>_<ip>_<port>`,
clusters `cds_<direction>_<mesh>_<node>_<protocol>_<port>` (egress clusters are named after the
*target* node), the passthrough clusters `cds_egress_<mesh>_amazonaws` and `..._mesh-allow-all`,
route configurations `rds_<direction>_<protocol>_<port>`, egress virtual hosts named after the
virtual service, stat prefixes `ingress.<protocol>.<port>` (images >= 1.22.2.1) and `egress`.
Stat greps and dashboards written for App Mesh keep working because of these names.

Where no App Mesh source shows the name, the choice is marked "Meshway's choice".
"""

from __future__ import annotations

ANY_ADDRESS = "0.0.0.0"
INGRESS_PORT = 15000  # the task's ProxyIngressPort
EGRESS_PORT = 15001  # the task's ProxyEgressPort
LOCAL_APP_ADDRESS = "127.0.0.1"

INGRESS = "ingress"
EGRESS = "egress"

# Egress virtual hosts of a virtual gateway (reference/translation.md rows 6.4, 6.10).
SELF_REDIRECT = "self_redirect"
DEFAULT_BACKEND = "default_backend"
# Meshway's choice: no App Mesh dump shows a virtual node's ingress route configuration
# (translation.md §11); the one virtual host is named after the direction, like the stat prefix.
INGRESS_VIRTUAL_HOST = "ingress"
# Meshway's choice: the route a virtual-node-provided service gets has no App Mesh name.
NODE_PROVIDER_ROUTE = "default"

# The gateway passes the chosen virtual service to its own egress listener in this header when
# hostname rewriting is disabled (translation.md row 6.10).
VIRTUAL_SERVICE_HEADER = "x-app-mesh-virtual-service"

SDS_CLUSTER = "static_cluster_sds_unix_socket"  # the bootstrap's local SDS cluster
AGGREGATE_STATS = "aws.appmesh.aggregate_stats"  # metadata namespace of the metrics extension


def listener(direction: str, port: int) -> str:
    return f"lds_{direction}_{ANY_ADDRESS}_{port}"


def ingress_listener() -> str:
    return listener(INGRESS, INGRESS_PORT)


def egress_listener() -> str:
    return listener(EGRESS, EGRESS_PORT)


def ingress_cluster(mesh: str, node: str, protocol: str, port: int) -> str:
    return f"cds_ingress_{mesh}_{node}_{protocol}_{port}"


def egress_cluster(mesh: str, target_node: str, protocol: str, port: int) -> str:
    return f"cds_egress_{mesh}_{target_node}_{protocol}_{port}"


def amazonaws_cluster(mesh: str) -> str:
    return f"cds_egress_{mesh}_amazonaws"


def allow_all_cluster(mesh: str) -> str:
    return f"cds_egress_{mesh}_mesh-allow-all"


def self_redirect_cluster(
    mesh: str, gateway: str, protocol: str, listener_port: int | None = None
) -> str:
    """`..._self_redirect_<proto>_15001`, or `..._self_redirect_<listenerPort>_<proto>_15001`
    when the gateway has several listeners (UG metrics.md)."""
    middle = f"{listener_port}_" if listener_port is not None else ""
    return f"cds_ingress_{mesh}_{gateway}_self_redirect_{middle}{protocol}_{EGRESS_PORT}"


def ingress_routes(protocol: str, port: int) -> str:
    return f"rds_ingress_{protocol}_{port}"


def egress_routes(protocol: str, port: int) -> str:
    return f"rds_egress_{protocol}_{port}"


def ingress_stat_prefix(protocol: str, port: int) -> str:
    return f"{INGRESS}.{protocol}.{port}"


def egress_virtual_host(virtual_service: str) -> str:
    return virtual_service


def virtual_host_domains(virtual_service: str, port: int) -> list[str]:
    """Routing is by Host/:authority: the bare name and `name:port` (translation.md row 2.3)."""
    return [virtual_service, f"{virtual_service}:{port}"]
