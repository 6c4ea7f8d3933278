"""Which resources of the same mesh a spec names, and must therefore exist.

These references are what `ResourceInUseException` protects: a virtual node that is a route's
target or a virtual service's provider, a router that provides a service, a virtual service that a
gateway route targets. Backends are not among them: App Mesh lets a node name a virtual service
that does not exist yet (the usual order of creation), so they never block a delete.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshway.model.appmesh.kinds import KindName

Reference = tuple[KindName, str]

_ROUTE_TYPES = ("httpRoute", "http2Route", "grpcRoute", "tcpRoute")


def references(kind: KindName, spec: Mapping[str, Any]) -> list[Reference]:
    """Sorted and without duplicates, so that stored references compare stably."""
    found: Iterator[Reference]
    if kind is KindName.ROUTE:
        found = _route_targets(spec)
    elif kind is KindName.VIRTUAL_SERVICE:
        found = _providers(spec)
    elif kind is KindName.GATEWAY_ROUTE:
        found = _gateway_targets(spec)
    else:
        return []
    return sorted(set(found))


def _route_targets(spec: Mapping[str, Any]) -> Iterator[Reference]:
    for route_type in _ROUTE_TYPES:
        route = spec.get(route_type) or {}
        for target in (route.get("action") or {}).get("weightedTargets") or []:
            if target.get("virtualNode"):
                yield KindName.VIRTUAL_NODE, target["virtualNode"]


def _providers(spec: Mapping[str, Any]) -> Iterator[Reference]:
    provider = spec.get("provider") or {}
    node = (provider.get("virtualNode") or {}).get("virtualNodeName")
    router = (provider.get("virtualRouter") or {}).get("virtualRouterName")
    if node:
        yield KindName.VIRTUAL_NODE, node
    if router:
        yield KindName.VIRTUAL_ROUTER, router


def _gateway_targets(spec: Mapping[str, Any]) -> Iterator[Reference]:
    for route_type in ("httpRoute", "http2Route", "grpcRoute"):
        route = spec.get(route_type) or {}
        target = ((route.get("action") or {}).get("target") or {}).get("virtualService") or {}
        if target.get("virtualServiceName"):
            yield KindName.VIRTUAL_SERVICE, target["virtualServiceName"]
