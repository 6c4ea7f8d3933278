"""Which proxies a change reaches: what each proxy's translation reads, and what changed.

A proxy's resources are built from its own spec, the mesh spec, and for every virtual service it
calls (a node's backends, a gateway's gateway-route targets): that service, its provider (a router
and its routes, or a node), and every node the provider can send to (its spec and its live
endpoints). `reverse_index(view)` maps each of those inputs (`Ref`) to the proxies that read it;
`changed_refs(old, new)` lists the inputs that differ between two views of one mesh; a proxy is
affected when an input it reads in either view changed (or it is itself the node or gateway that
changed, so a proxy Meshway knew nothing about gets its snapshot when its node is created). Names
a view does not hold yet count as read too: a backend may name a service that does not exist yet,
a route a node not yet created. Over-approximating is safe (the content hashes then push
nothing); missing a reader is not, and the tests check it against full rebuilds. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from meshway.model.appmesh.kinds import KindName
from meshway.xds.view import MeshView, Spec

Ref = tuple[str, ...]  # ("mesh",), ("virtualNode", name), ("routes", router), ...
Proxy = tuple[KindName, str]  # (VIRTUAL_NODE or VIRTUAL_GATEWAY, name)

MESH: Ref = ("mesh",)
_MISSING = object()


def node_ref(name: str) -> Ref:
    return ("virtualNode", name)


def gateway_ref(name: str) -> Ref:
    return ("virtualGateway", name)


# -- what a proxy reads ---------------------------------------------------------------------


def node_backends(spec: Spec | None) -> list[str]:
    """The virtual services a node names as backends (existing or not)."""
    return sorted(
        {
            str(backend["virtualService"]["virtualServiceName"])
            for backend in (spec or {}).get("backends") or ()
            if backend.get("virtualService")
        }
    )


def gateway_services(view: MeshView, gateway: str) -> list[str]:
    """The virtual services a gateway's routes target."""
    found = set()
    for spec in view.gateway_routes_of(gateway).values():
        for kind in ("httpRoute", "http2Route", "grpcRoute"):
            target = ((spec.get(kind) or {}).get("action") or {}).get("target") or {}
            service = (target.get("virtualService") or {}).get("virtualServiceName")
            if service:
                found.add(str(service))
    return sorted(found)


def service_refs(view: MeshView, service: str) -> Iterator[Ref]:
    """A service, its provider, and every node (and its endpoints) the provider sends to."""
    yield ("virtualService", service)
    provider = (view.virtual_services.get(service) or {}).get("provider") or {}
    router = (provider.get("virtualRouter") or {}).get("virtualRouterName")
    node = (provider.get("virtualNode") or {}).get("virtualNodeName")
    if router:
        yield ("virtualRouter", str(router))
        yield ("routes", str(router))
        for target in _route_targets(view.routes_of(str(router)).values()):
            yield from _target_refs(target)
    if node:
        yield from _target_refs(str(node))


def _route_targets(routes: Iterable[Spec]) -> Iterator[str]:
    for spec in routes:
        for kind in ("httpRoute", "http2Route", "grpcRoute", "tcpRoute"):
            action = (spec.get(kind) or {}).get("action") or {}
            for target in action.get("weightedTargets") or ():
                yield str(target.get("virtualNode"))


def _target_refs(node: str) -> Iterator[Ref]:
    yield node_ref(node)
    yield ("endpoints", node)


def proxy_refs(view: MeshView, proxy: Proxy) -> set[Ref]:
    """Every input the proxy's translation reads in this view."""
    kind, name = proxy
    if kind is KindName.VIRTUAL_GATEWAY:
        refs = {MESH, gateway_ref(name), ("gatewayRoutes", name)}
        services = gateway_services(view, name)
    else:
        refs = {MESH, node_ref(name)}
        services = node_backends(view.node(name))
    for service in services:
        refs.update(service_refs(view, service))
    return refs


def reverse_index(view: MeshView) -> dict[Ref, frozenset[Proxy]]:
    """Input → the proxies (every node and gateway of the view) whose translation reads it."""
    readers: dict[Ref, set[Proxy]] = {}
    proxies: list[Proxy] = [(KindName.VIRTUAL_NODE, name) for name in view.virtual_nodes]
    proxies += [(KindName.VIRTUAL_GATEWAY, name) for name in view.virtual_gateways]
    for proxy in proxies:
        for ref in proxy_refs(view, proxy):
            readers.setdefault(ref, set()).add(proxy)
    return {ref: frozenset(found) for ref, found in readers.items()}


# -- what changed ---------------------------------------------------------------------------


def changed_refs(old: MeshView, new: MeshView) -> set[Ref]:
    """The inputs that differ between two views of the same mesh."""
    changed: set[Ref] = set()
    if old.mesh_spec != new.mesh_spec:
        changed.add(MESH)
    for label, before, after in (
        ("virtualNode", old.virtual_nodes, new.virtual_nodes),
        ("virtualRouter", old.virtual_routers, new.virtual_routers),
        ("routes", old.routes, new.routes),
        ("virtualService", old.virtual_services, new.virtual_services),
        ("virtualGateway", old.virtual_gateways, new.virtual_gateways),
        ("gatewayRoutes", old.gateway_routes, new.gateway_routes),
        ("endpoints", old.endpoints, new.endpoints),
    ):
        changed.update((label, name) for name in _differing(before, after))
    return changed


def _differing(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterator[str]:
    for name in before.keys() | after.keys():
        if before.get(name, _MISSING) != after.get(name, _MISSING):
            yield name


def affected_proxies(
    changed: Iterable[Ref],
    old_index: Mapping[Ref, frozenset[Proxy]],
    new_index: Mapping[Ref, frozenset[Proxy]],
) -> set[Proxy]:
    """The proxies a set of changed inputs reaches, from the indexes of the views before and
    after; a changed node or gateway always reaches its own proxy."""
    found: set[Proxy] = set()
    for ref in changed:
        found.update(old_index.get(ref, ()))
        found.update(new_index.get(ref, ()))
        if ref[0] == "virtualNode":
            found.add((KindName.VIRTUAL_NODE, ref[1]))
        elif ref[0] == "virtualGateway":
            found.add((KindName.VIRTUAL_GATEWAY, ref[1]))
    return found
