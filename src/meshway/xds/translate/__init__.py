"""Pure translation: a mesh view and one proxy → that proxy's Envoy resources.

`build_snapshot(view, proxy)` is the only entry point: it plans the node's egress once
(`backends.plan_egress`) and builds listeners, clusters, routes and endpoints from that plan, so
every name one resource refers to is made by the same code that makes the resource. An Envoy
Meshway knows nothing about (another mesh, a deleted node) gets a valid empty snapshot. No I/O,
no store, no grpc: the same view always gives the same bytes.
"""

from __future__ import annotations

from meshway.model.appmesh.kinds import KindName
from meshway.xds.snapshot import Snapshot
from meshway.xds.translate.backends import plan_egress
from meshway.xds.translate.clusters import build_clusters
from meshway.xds.translate.endpoints import build_endpoints
from meshway.xds.translate.gateways import build_gateway
from meshway.xds.translate.listeners import build_listeners
from meshway.xds.translate.routes import build_routes
from meshway.xds.view import MeshView, ProxyId

__all__ = ["build_snapshot"]


def build_snapshot(view: MeshView, proxy: ProxyId) -> Snapshot:
    if proxy.mesh != view.mesh:
        return Snapshot.empty()
    if proxy.kind is KindName.VIRTUAL_GATEWAY:
        gateway = view.virtual_gateways.get(proxy.name)
        return Snapshot.empty() if gateway is None else build_gateway(view, proxy.name, gateway)
    node_spec = view.node(proxy.name)
    if node_spec is None:
        return Snapshot.empty()
    backends = [
        backend["virtualService"]["virtualServiceName"]
        for backend in node_spec.get("backends") or ()
        if backend.get("virtualService")
    ]
    plan = plan_egress(view, backends)
    return Snapshot.of(
        [
            *build_clusters(view, proxy.name, node_spec, plan),
            *build_endpoints(view, plan),
            *build_listeners(view, proxy.name, node_spec, plan),
            *build_routes(view.mesh, proxy.name, node_spec, plan),
        ]
    )
