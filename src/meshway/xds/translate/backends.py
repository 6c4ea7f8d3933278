"""Who a virtual node can call, and through which clusters: the egress plan.

For each backend virtual service that exists, its provider decides where it listens: a virtual
router's listener ports (the router's routes, filtered by route type and `match.port`, become the
virtual host's routes), or a virtual node's listener ports (one route to that node, translation.md
row 5.1.2). A weighted target names a node and optionally its listener port; without a port it
takes the node's listener of the route's protocol (the lowest such port), else the node's first
listener. Every target becomes one egress cluster, named after the target node and its listener.
Listeners, routes and clusters are all built from this one plan, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshway.xds import names
from meshway.xds.view import MeshView, Spec

HTTP_FAMILY = ("http", "http2", "grpc")
ROUTE_PROTOCOL = {
    "httpRoute": "http",
    "http2Route": "http2",
    "grpcRoute": "grpc",
    "tcpRoute": "tcp",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """An egress cluster: one listener of a target virtual node, as one caller sees it."""

    cluster: str
    node: str
    port: int
    protocol: str
    service: str  # the first backend (by name) that reaches it: its client policy applies


@dataclass(frozen=True, slots=True, kw_only=True)
class Weighted:
    """A route target that resolved to a listener of an existing node."""

    cluster: str
    node: str
    port: int
    protocol: str
    weight: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedRoute:
    name: str
    priority: int | None
    route_type: str  # httpRoute, http2Route, grpcRoute, tcpRoute; "" for a node provider's route
    spec: Spec  # the route type's body (match, action, retryPolicy, timeout); empty if synthetic
    clusters: tuple[Weighted, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exposure:
    """A virtual service reachable on one port, with the routes its virtual host gets."""

    service: str
    port: int
    protocol: str
    routes: tuple[PlannedRoute, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EgressPlan:
    exposures: tuple[Exposure, ...]  # sorted by port, then service
    targets: Mapping[str, Target]  # by cluster name, sorted


def plan_egress(view: MeshView, backends: list[str]) -> EgressPlan:
    exposures: list[Exposure] = []
    targets: dict[str, Target] = {}
    for service in sorted(set(backends)):
        spec = view.virtual_services.get(service)
        if spec is None:
            continue  # App Mesh lets a backend name a service that does not exist yet
        for exposure in _exposures(view, service, spec):
            exposures.append(exposure)
            for route in exposure.routes:
                for weighted in route.clusters:
                    targets.setdefault(weighted.cluster, _target_of(weighted, service))
    exposures.sort(key=lambda e: (e.port, e.service))
    return EgressPlan(exposures=tuple(exposures), targets=dict(sorted(targets.items())))


def listeners_of(spec: Spec | None) -> list[tuple[int, str]]:
    """(port, protocol) of each listener, by port."""
    found = []
    for listener in (spec or {}).get("listeners") or ():
        mapping = listener.get("portMapping") or {}
        if mapping.get("port") is not None and mapping.get("protocol"):
            found.append((int(mapping["port"]), str(mapping["protocol"])))
    return sorted(found)


def route_type_of(spec: Spec) -> str | None:
    return next((kind for kind in ROUTE_PROTOCOL if spec.get(kind) is not None), None)


def _exposures(view: MeshView, service: str, spec: Spec) -> Iterator[Exposure]:
    provider = spec.get("provider") or {}
    router = (provider.get("virtualRouter") or {}).get("virtualRouterName")
    node = (provider.get("virtualNode") or {}).get("virtualNodeName")
    if router:
        for port, protocol in listeners_of(view.virtual_routers.get(router)):
            routes = _router_routes(view, router, port, protocol)
            yield Exposure(service=service, port=port, protocol=protocol, routes=routes)
    elif node:
        for port, protocol in listeners_of(view.node(node)):
            weighted = _weighted(view, node, port, protocol, 100)
            route = PlannedRoute(
                name=names.NODE_PROVIDER_ROUTE,
                priority=None,
                route_type="",
                spec={},
                clusters=(weighted,),
            )
            yield Exposure(service=service, port=port, protocol=protocol, routes=(route,))


def _router_routes(
    view: MeshView, router: str, port: int, protocol: str
) -> tuple[PlannedRoute, ...]:
    planned = []
    for name, spec in view.routes_of(router).items():
        route_type = route_type_of(spec)
        if route_type is None or ROUTE_PROTOCOL[route_type] != protocol:
            continue
        body = spec[route_type]
        match_port = (body.get("match") or {}).get("port")
        if match_port is not None and match_port != port:
            continue
        clusters = tuple(_weighted_clusters(view, body, protocol))
        priority = spec.get("priority")
        planned.append(
            PlannedRoute(
                name=name, priority=priority, route_type=route_type, spec=body, clusters=clusters
            )
        )
    planned.sort(key=_route_order)
    return tuple(planned)


def _route_order(route: PlannedRoute) -> tuple[Any, ...]:
    """Ascending priority (0 first), unprioritised last, then the most specific match first
    (longest prefix or path), then name (translation.md row 5.4.1)."""
    return (route.priority is None, route.priority or 0, -_specificity(route), route.name)


def _specificity(route: PlannedRoute) -> int:
    match = route.spec.get("match") or {}
    if route.route_type == "grpcRoute":
        return len(f"/{match.get('serviceName', '')}/{match.get('methodName', '')}")
    path = match.get("path") or {}
    return len(match.get("prefix") or path.get("exact") or path.get("regex") or "")


def _weighted_clusters(view: MeshView, body: Spec, protocol: str) -> Iterator[Weighted]:
    for target in (body.get("action") or {}).get("weightedTargets") or ():
        node = str(target.get("virtualNode"))
        listener = _target_listener(view.node(node), target.get("port"), protocol)
        if listener is not None:
            port, target_protocol = listener
            yield _weighted(view, node, port, target_protocol, int(target.get("weight") or 0))


def _weighted(view: MeshView, node: str, port: int, protocol: str, weight: int) -> Weighted:
    cluster = names.egress_cluster(view.mesh, node, protocol, port)
    return Weighted(cluster=cluster, node=node, port=port, protocol=protocol, weight=weight)


def _target_listener(spec: Spec | None, port: int | None, protocol: str) -> tuple[int, str] | None:
    listeners = listeners_of(spec)
    if port is not None:
        return next((item for item in listeners if item[0] == port), None)
    same = [item for item in listeners if item[1] == protocol]
    candidates = same or listeners
    return candidates[0] if candidates else None


def _target_of(weighted: Weighted, service: str) -> Target:
    return Target(
        cluster=weighted.cluster,
        node=weighted.node,
        port=weighted.port,
        protocol=weighted.protocol,
        service=service,
    )
