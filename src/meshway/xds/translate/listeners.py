"""Listeners: `lds_ingress_0.0.0.0_15000` (a filter chain per node listener port) and
`lds_egress_0.0.0.0_15001` (a chain per backend port, the AWS API chain, the egress filter).

Both sit behind the task's iptables redirect, so both restore the original destination first
(`original_dst`) and match chains on `destination_port`: the app's port on ingress, the called
service's port on egress. Field mapping: reference/translation.md §1, §2, §7.
"""

from __future__ import annotations

from collections.abc import Iterator

from envoy.config.listener.v3 import listener_pb2

from meshway.xds import names
from meshway.xds.translate.backends import HTTP_FAMILY, EgressPlan, Exposure
from meshway.xds.translate.clusters import egress_filter
from meshway.xds.translate.messages import (
    HCM,
    ORIGINAL_DST,
    ROUTER,
    TCP_PROXY,
    TLS_INSPECTOR,
    Json,
    aggregate_stats,
    duration,
    file_access_logs,
    message,
    socket_address,
    typed,
)
from meshway.xds.translate.routes import egress_ports, egress_route_name
from meshway.xds.translate.tls import downstream_socket, listener_tls_mode
from meshway.xds.view import MeshView, Spec

# UG routes.md: TCP idle default 300 s; Envoy's tcp_proxy default is 1 h, so it is written out
# (rows 1.12, 5.5.4).
DEFAULT_TCP_IDLE = "300s"
AWS_API_PORT = 443
EVERYWHERE = [{"address_prefix": "0.0.0.0", "prefix_len": 0}]


def build_listeners(
    view: MeshView, node: str, node_spec: Spec, plan: EgressPlan
) -> list[listener_pb2.Listener]:
    return [*ingress_listeners(view.mesh, node, node_spec), egress_listener(view, node_spec, plan)]


def ingress_listeners(mesh: str, node: str, node_spec: Spec) -> list[listener_pb2.Listener]:
    if not node_spec.get("listeners"):  # no listeners, no ingress listener (row 1.1)
        return []
    return [_ingress(mesh, node, node_spec, file_access_logs(node_spec.get("logging")))]


def egress_listener(view: MeshView, node_spec: Spec, plan: EgressPlan) -> listener_pb2.Listener:
    """Depends on the node only through its plan and its access log."""
    return _egress(view, plan, file_access_logs(node_spec.get("logging")))


def listener_body(
    name: str, port: int, direction: str, filters: list[str], chains: list[Json]
) -> Json:
    return {
        "name": name,
        "address": socket_address(names.ANY_ADDRESS, port),
        "traffic_direction": direction,
        "listener_filters": [{"name": _FILTER_NAMES[f], "typed_config": typed(f)} for f in filters],
        # tls_inspector waits for the client's first bytes; a server-first protocol (MySQL,
        # SMTP) must still get through when it gives up (RM#62, row 2.11).
        "continue_on_listener_filters_timeout": True,
        "filter_chains": chains,
        "metadata": aggregate_stats([]),
    }


_FILTER_NAMES = {
    ORIGINAL_DST: "envoy.filters.listener.original_dst",
    TLS_INSPECTOR: "envoy.filters.listener.tls_inspector",
}


# --- ingress -------------------------------------------------------------------------------------


def _ingress(mesh: str, node: str, node_spec: Spec, logs: list[Json]) -> listener_pb2.Listener:
    chains: list[Json] = []
    any_tls = False
    for listener in node_spec.get("listeners") or ():
        chains.extend(_ingress_chains(mesh, node, listener, logs))
        any_tls = any_tls or listener_tls_mode(listener) != "DISABLED"
    filters = [ORIGINAL_DST, TLS_INSPECTOR] if any_tls else [ORIGINAL_DST]
    body = listener_body(names.ingress_listener(), names.INGRESS_PORT, "INBOUND", filters, chains)
    return message(listener_pb2.Listener, body)


def _ingress_chains(mesh: str, node: str, listener: Spec, logs: list[Json]) -> Iterator[Json]:
    """STRICT: a TLS chain; PERMISSIVE: a TLS chain for TLS clients and a plain one for the
    rest; DISABLED: a plain chain (row 1.15)."""
    mapping = listener["portMapping"]
    port, protocol = int(mapping["port"]), str(mapping["protocol"])
    network_filter = _ingress_filter(
        names.ingress_cluster(mesh, node, protocol, port), listener, port, protocol, logs
    )
    match = {"destination_port": port}
    name = f"{names.INGRESS}_{protocol}_{port}"
    mode = listener_tls_mode(listener)
    if mode in ("STRICT", "PERMISSIVE"):
        yield {
            "name": f"{name}_tls",
            "filter_chain_match": {**match, "transport_protocol": "tls"}
            if mode == "PERMISSIVE"
            else match,
            "filters": [network_filter],
            "transport_socket": downstream_socket(listener),
        }
    if mode in ("DISABLED", "PERMISSIVE"):
        yield {"name": name, "filter_chain_match": match, "filters": [network_filter]}


def _ingress_filter(
    cluster: str, listener: Spec, port: int, protocol: str, logs: list[Json]
) -> Json:
    stat_prefix = names.ingress_stat_prefix(protocol, port)
    if protocol in HTTP_FAMILY:
        return http_connection_manager(stat_prefix, names.ingress_routes(protocol, port), logs)
    idle = duration(((listener.get("timeout") or {}).get("tcp") or {}).get("idle"))
    return tcp_proxy(stat_prefix, {"cluster": cluster}, idle or DEFAULT_TCP_IDLE, logs)


def http_connection_manager(stat_prefix: str, route_config: str, logs: list[Json]) -> Json:
    """The HCM App Mesh writes on every chain (row 1.6); unset fields keep Envoy's defaults
    (codec AUTO, stream idle 5 min, XFCC sanitized)."""
    config: Json = {
        "stat_prefix": stat_prefix,
        "rds": {
            "config_source": {"ads": {}, "resource_api_version": "V3"},
            "route_config_name": route_config,
        },
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": typed(ROUTER)}],
        "tracing": {},
        "upgrade_configs": [{"upgrade_type": "websocket", "enabled": True}],
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
    }
    if logs:
        config["access_log"] = logs
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": typed(HCM, config),
    }


def tcp_proxy(stat_prefix: str, destination: Json, idle: str, logs: list[Json]) -> Json:
    config: Json = {"stat_prefix": stat_prefix, **destination, "idle_timeout": idle}
    if logs:
        config["access_log"] = logs
    return {"name": "envoy.filters.network.tcp_proxy", "typed_config": typed(TCP_PROXY, config)}


# --- egress --------------------------------------------------------------------------------------


def _egress(view: MeshView, plan: EgressPlan, logs: list[Json]) -> listener_pb2.Listener:
    chains = [*_http_chains(plan, logs), *_tcp_chains(plan, logs)]
    used_ports = {chain["filter_chain_match"]["destination_port"] for chain in chains}
    chains.extend(_passthrough_chains(view, AWS_API_PORT in used_ports, logs))
    filters = [ORIGINAL_DST, TLS_INSPECTOR]
    body = listener_body(names.egress_listener(), names.EGRESS_PORT, "OUTBOUND", filters, chains)
    return message(listener_pb2.Listener, body)


def _http_chains(plan: EgressPlan, logs: list[Json]) -> Iterator[Json]:
    for port, exposures in sorted(egress_ports(plan).items()):
        route_config = egress_route_name(port, exposures)
        yield {
            "name": route_config.replace("rds_", "", 1),
            "filter_chain_match": {"destination_port": port},
            "filters": [http_connection_manager(names.EGRESS, route_config, logs)],
        }


def _tcp_chains(plan: EgressPlan, logs: list[Json]) -> Iterator[Json]:
    """One TCP destination per port: L4 has no Host to tell services apart (RM#195); a port
    an HTTP service already uses stays HTTP, and the first TCP service by name wins the rest."""
    http_ports = set(egress_ports(plan))
    taken: dict[int, Exposure] = {}
    for exposure in plan.exposures:
        if exposure.protocol == "tcp" and exposure.port not in http_ports:
            taken.setdefault(exposure.port, exposure)
    for port, exposure in sorted(taken.items()):
        destination = _tcp_destination(exposure)
        if destination is None:
            continue
        yield {
            "name": f"{names.EGRESS}_tcp_{port}",
            "filter_chain_match": {"destination_port": port},
            "filters": [tcp_proxy(names.EGRESS, destination, _tcp_idle(exposure), logs)],
        }


def _tcp_destination(exposure: Exposure) -> Json | None:
    """The first route's targets (a TCP route has no match to choose between routes)."""
    if not exposure.routes:
        return None
    targets = [w for w in exposure.routes[0].clusters if w.weight > 0]
    if not targets:
        return None
    if len(targets) == 1:
        return {"cluster": targets[0].cluster}
    clusters = [{"name": w.cluster, "weight": w.weight} for w in targets]
    return {"weighted_clusters": {"clusters": clusters}}


def _tcp_idle(exposure: Exposure) -> str:
    spec = exposure.routes[0].spec if exposure.routes else {}
    return duration((spec.get("timeout") or {}).get("idle")) or DEFAULT_TCP_IDLE


def _passthrough_chains(view: MeshView, port_443_used: bool, logs: list[Json]) -> Iterator[Json]:
    """AWS APIs pass even with DROP_ALL (row 2.7); ALLOW_ALL adds a catch-all and a plain 443
    chain so other TLS on 443 is not taken for AWS (rows 2.8, RM#79). Meshway's choice: a
    backend on port 443 takes the port, since a chain with `prefix_ranges` would outrank its
    chain and capture its traffic."""
    mesh = view.mesh
    allow_all = egress_filter(view) == "ALLOW_ALL"
    if not port_443_used:
        yield _passthrough(
            "amazonaws",
            {
                "prefix_ranges": EVERYWHERE,
                "destination_port": AWS_API_PORT,
                "server_names": ["*.amazonaws.com"],
            },
            names.amazonaws_cluster(mesh),
            logs,
        )
        if allow_all:
            match = {"prefix_ranges": EVERYWHERE, "destination_port": AWS_API_PORT}
            yield _passthrough("mesh-allow-all_443", match, names.allow_all_cluster(mesh), logs)
    if allow_all:
        match = {"prefix_ranges": EVERYWHERE}
        yield _passthrough("mesh-allow-all", match, names.allow_all_cluster(mesh), logs)


def _passthrough(name: str, match: Json, cluster: str, logs: list[Json]) -> Json:
    return {
        "name": name,
        "filter_chain_match": match,
        "filters": [tcp_proxy(names.EGRESS, {"cluster": cluster}, DEFAULT_TCP_IDLE, logs)],
    }
