"""Virtual gateways: a listener per gateway listener port, and an egress side on 15001.

A gateway has no iptables: each `lds_ingress_0.0.0.0_<port>` binds its own port, and its gateway
routes send to `self_redirect` (127.0.0.1:15001), where `lds_egress_0.0.0.0_15001` routes by Host
to the target virtual services exactly as a node's egress would, through `cds_egress_*` clusters
that carry `backendDefaults` client TLS. Field mapping: reference/translation.md §6.
"""

from __future__ import annotations

from collections.abc import Iterator

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from google.protobuf.message import Message

from meshway.xds import names
from meshway.xds.snapshot import Snapshot
from meshway.xds.translate.backends import EgressPlan, Exposure, listeners_of, plan_egress
from meshway.xds.translate.clusters import (
    HTTP2_PROTOCOLS,
    INGRESS_CONNECT_TIMEOUT,
    connection_pool_limits,
    egress_cluster,
)
from meshway.xds.translate.endpoints import build_endpoints
from meshway.xds.translate.gateway_routes import (
    GatewayRoute,
    routes_for_listener,
    translate_gateway_route,
    virtual_host,
    virtual_host_key,
)
from meshway.xds.translate.listeners import http_connection_manager, listener_body
from meshway.xds.translate.messages import (
    TLS_INSPECTOR,
    Json,
    circuit_breakers,
    file_access_logs,
    http2_options,
    message,
    socket_address,
)
from meshway.xds.translate.routes import egress_route
from meshway.xds.translate.routes import virtual_host as service_host
from meshway.xds.translate.tls import downstream_socket, listener_tls_mode
from meshway.xds.view import MeshView, Spec

# Meshway's choice: D1 shows `rds_egress_http_15001`; the gateway's egress side is always named
# for http (its HCM accepts HTTP/1.1 and HTTP/2 alike).
EGRESS_ROUTES = names.egress_routes("http", names.EGRESS_PORT)


def build_gateway(view: MeshView, gateway: str, spec: Spec) -> Snapshot:
    listeners = [_with_spec(spec, port, protocol) for port, protocol in listeners_of(spec)]
    routes = dict(view.gateway_routes_of(gateway))
    services = sorted({r.service for item in listeners for r in _routes(routes, item)})
    plan = plan_egress(view, services)
    chosen = _exposure_per_service(plan, routes)
    logs = file_access_logs(spec.get("logging"))
    several = len(listeners) > 1
    messages: list[Message] = []
    for listener in listeners:
        port, protocol = _port_protocol(listener)
        cluster = names.self_redirect_cluster(
            view.mesh, gateway, protocol, port if several else None
        )
        messages.append(_self_redirect(cluster, listener, protocol))
        messages.append(_ingress_listener(listener, logs))
        gateway_routes = _routes(routes, listener)
        messages.append(_ingress_routes(port, protocol, gateway_routes, cluster, chosen))
    messages.extend(egress_cluster(view, spec, target) for target in plan.targets.values())
    messages.extend(build_endpoints(view, plan))
    if listeners:
        messages.append(_egress_listener(logs))
        messages.append(_egress_routes(chosen, routes))
    return Snapshot.of(messages)


def _with_spec(spec: Spec, port: int, protocol: str) -> Spec:
    for listener in spec.get("listeners") or ():
        if (listener.get("portMapping") or {}).get("port") == port:
            return listener  # type: ignore[no-any-return]
    return {"portMapping": {"port": port, "protocol": protocol}}


def _port_protocol(listener: Spec) -> tuple[int, str]:
    mapping = listener["portMapping"]
    return int(mapping["port"]), str(mapping["protocol"])


def _routes(routes: dict[str, Spec], listener: Spec) -> list[GatewayRoute]:
    return routes_for_listener(routes, *_port_protocol(listener))


def _exposure_per_service(plan: EgressPlan, routes: dict[str, Spec]) -> dict[str, Exposure]:
    """One port per service on the gateway's egress side: the port a gateway route's target
    names, else the service's lowest port (Meshway's choice: Host carries 15001, not the port)."""
    wanted: dict[str, int] = {}
    for spec in routes.values():
        for body in (spec.get(kind) for kind in ("httpRoute", "http2Route", "grpcRoute")):
            target = ((body or {}).get("action") or {}).get("target") or {}
            service = (target.get("virtualService") or {}).get("virtualServiceName")
            if service and target.get("port") is not None:
                wanted.setdefault(service, int(target["port"]))
    chosen: dict[str, Exposure] = {}
    for exposure in plan.exposures:
        if exposure.protocol == "tcp":
            continue
        current = chosen.get(exposure.service)
        if current is None or exposure.port == wanted.get(exposure.service):
            chosen[exposure.service] = exposure
    return dict(sorted(chosen.items()))


def _self_redirect(cluster: str, listener: Spec, protocol: str) -> cluster_pb2.Cluster:
    """STATIC 127.0.0.1:15001; the listener's connection pool limits it (rows 6.3, 4.3.5)."""
    endpoint = {"endpoint": {"address": socket_address(names.LOCAL_APP_ADDRESS, names.EGRESS_PORT)}}
    body: Json = {
        "name": cluster,
        "type": "STATIC",
        "connect_timeout": INGRESS_CONNECT_TIMEOUT,
        "load_assignment": {"cluster_name": cluster, "endpoints": [{"lb_endpoints": [endpoint]}]},
        "circuit_breakers": circuit_breakers(connection_pool_limits(listener)),
    }
    if protocol in HTTP2_PROTOCOLS:
        body["typed_extension_protocol_options"] = http2_options()
    return message(cluster_pb2.Cluster, body)


def _ingress_listener(listener: Spec, logs: list[Json]) -> listener_pb2.Listener:
    port, protocol = _port_protocol(listener)
    hcm = http_connection_manager(names.INGRESS, names.ingress_routes(protocol, port), logs)
    chain: Json = {"filter_chain_match": {"destination_port": port}, "filters": [hcm]}
    mode = listener_tls_mode(listener)
    chains = []
    if mode in ("STRICT", "PERMISSIVE"):
        tls_chain = {**chain, "transport_socket": downstream_socket(listener)}
        if mode == "PERMISSIVE":
            match = {"destination_port": port, "transport_protocol": "tls"}
            tls_chain["filter_chain_match"] = match
        chains.append(tls_chain)
    if mode in ("DISABLED", "PERMISSIVE"):
        chains.append(chain)
    name = names.listener(names.INGRESS, port)
    body = listener_body(name, port, "INBOUND", [TLS_INSPECTOR], chains)
    return message(listener_pb2.Listener, body)


def _ingress_routes(
    port: int,
    protocol: str,
    routes: list[GatewayRoute],
    cluster: str,
    chosen: dict[str, Exposure],
) -> route_pb2.RouteConfiguration:
    hosts: dict[tuple[str, str], list[Json]] = {}
    for route in routes:
        envoy_routes = translate_gateway_route(route, cluster, chosen.get(route.service))
        hosts.setdefault(virtual_host_key(route), []).extend(envoy_routes)
    virtual_hosts = [virtual_host(key, items) for key, items in sorted(hosts.items())]
    body = {"name": names.ingress_routes(protocol, port), "virtual_hosts": virtual_hosts}
    return message(route_pb2.RouteConfiguration, body)


def _egress_listener(logs: list[Json]) -> listener_pb2.Listener:
    hcm = http_connection_manager(names.EGRESS, EGRESS_ROUTES, logs)
    chain = {"filter_chain_match": {"destination_port": names.EGRESS_PORT}, "filters": [hcm]}
    name = names.egress_listener()
    body = listener_body(name, names.EGRESS_PORT, "OUTBOUND", [TLS_INSPECTOR], [chain])
    return message(listener_pb2.Listener, body)


def _egress_routes(
    chosen: dict[str, Exposure], routes: dict[str, Spec]
) -> route_pb2.RouteConfiguration:
    hosts = [service_host(exposure, names.EGRESS_PORT) for exposure in chosen.values()]
    untouched = sorted(_services_without_host_rewrite(routes))
    default_routes = list(_default_backend_routes(chosen, untouched))
    if default_routes:
        hosts.append({"name": names.DEFAULT_BACKEND, "domains": ["*"], "routes": default_routes})
    return message(route_pb2.RouteConfiguration, {"name": EGRESS_ROUTES, "virtual_hosts": hosts})


def _services_without_host_rewrite(routes: dict[str, Spec]) -> set[str]:
    found = set()
    for spec in routes.values():
        for kind in ("httpRoute", "http2Route", "grpcRoute"):
            if spec.get(kind) is not None:
                route = GatewayRoute(name="", priority=None, route_type=kind, spec=spec[kind])
                if not route.hostname_rewrite:
                    found.add(route.service)
    return found


def _default_backend_routes(chosen: dict[str, Exposure], services: list[str]) -> Iterator[Json]:
    """Row 6.10: the service named in the header, routed as its own virtual host would; the
    header is stripped from the response only."""
    for service in services:
        exposure = chosen.get(service)
        for planned in exposure.routes if exposure else ():
            route = egress_route(planned, service)
            header = {"name": names.VIRTUAL_SERVICE_HEADER, "string_match": {"exact": service}}
            route["match"] = {
                **route["match"],
                "headers": [*route["match"].get("headers", []), header],
            }
            route["response_headers_to_remove"] = [names.VIRTUAL_SERVICE_HEADER]
            yield route
