"""Pure translation: a mesh view and one proxy → that proxy's Envoy resources.

`build_snapshot(view, proxy, shared)` is the only entry point: it plans the node's egress once
(`backends.plan_egress`) and builds listeners, clusters, routes and endpoints from that plan, so
every name one resource refers to is made by the same code that makes the resource. The pieces that
do not depend on who the caller is (egress clusters, load assignments, the egress listener and
route configurations, the passthrough clusters) come from `shared` (`translate.shared.Shared`, one
per view), so a rebuild of many callers builds each once. An Envoy Meshway knows nothing about
(another mesh, a deleted node) gets a valid empty snapshot. No I/O, no store, no grpc: the same
view always gives the same bytes, shared or not.
"""

from __future__ import annotations

from functools import partial

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from google.protobuf.message import Message

from meshway.model.appmesh.kinds import KindName
from meshway.xds.snapshot import Snapshot
from meshway.xds.translate.backends import EgressPlan, plan_egress
from meshway.xds.translate.clusters import (
    egress_cluster,
    local_app_clusters,
    passthrough_clusters,
    uses_eds,
)
from meshway.xds.translate.endpoints import load_assignment
from meshway.xds.translate.gateways import build_gateway
from meshway.xds.translate.listeners import egress_listener, ingress_listeners
from meshway.xds.translate.routes import egress_configs, ingress_configs
from meshway.xds.translate.shared import Shared, spec_key
from meshway.xds.translate.tls import client_policy_for
from meshway.xds.view import MeshView, ProxyId, Spec

__all__ = ["Shared", "build_snapshot"]


def build_snapshot(view: MeshView, proxy: ProxyId, shared: Shared | None = None) -> Snapshot:
    if shared is None or shared.view is not view:
        shared = Shared(view)
    if proxy.mesh != view.mesh:
        return Snapshot.empty()
    if proxy.kind is KindName.VIRTUAL_GATEWAY:
        gateway = view.virtual_gateways.get(proxy.name)
        return Snapshot.empty() if gateway is None else build_gateway(view, proxy.name, gateway)
    node_spec = view.node(proxy.name)
    if node_spec is None:
        return Snapshot.empty()
    backends = tuple(
        sorted(
            {
                backend["virtualService"]["virtualServiceName"]
                for backend in node_spec.get("backends") or ()
                if backend.get("virtualService")
            }
        )
    )
    plan = shared.get(("plan", backends), partial(plan_egress, view, list(backends)))
    logs = spec_key(node_spec.get("logging"))
    clusters, listeners, configs = shared.lasting(
        ("own", view.mesh, proxy.name, spec_key(node_spec)),
        partial(_own_pieces, view.mesh, proxy.name, node_spec),
    )
    return Snapshot.of(
        [
            *clusters,
            *_egress_clusters(shared, node_spec, plan),
            *shared.get(("passthrough",), lambda: tuple(passthrough_clusters(view))),
            *_load_assignments(shared, plan),
            *listeners,
            shared.get(
                ("egress-listener", backends, logs),
                partial(egress_listener, view, node_spec, plan),
            ),
            *configs,
            *shared.get(("egress-routes", backends), lambda: tuple(egress_configs(plan))),
        ],
        shared.hash_of,
    )


def _own_pieces(
    mesh: str, node: str, node_spec: Spec
) -> tuple[tuple[Message, ...], tuple[Message, ...], tuple[Message, ...]]:
    """What a node builds for itself, from its mesh name, name and spec alone (a lasting piece):
    its local app clusters, ingress listener and ingress route configurations."""
    return (
        tuple(local_app_clusters(mesh, node, node_spec)),
        tuple(ingress_listeners(mesh, node, node_spec)),
        tuple(ingress_configs(mesh, node, node_spec)),
    )


def _egress_clusters(
    shared: Shared, node_spec: Spec, plan: EgressPlan
) -> list[cluster_pb2.Cluster]:
    """A target's cluster depends on the caller only through the client policy that covers it."""
    view = shared.view
    return [
        shared.get(
            (
                "cluster",
                target,
                spec_key(client_policy_for(node_spec, target.service, target.port)),
            ),
            partial(egress_cluster, view, node_spec, target),
        )
        for target in plan.targets.values()
    ]


def _load_assignments(shared: Shared, plan: EgressPlan) -> list[endpoint_pb2.ClusterLoadAssignment]:
    view = shared.view
    return [
        shared.get(
            ("load-assignment", target),
            partial(load_assignment, target, view.endpoints.get(target.node, ())),
        )
        for target in plan.targets.values()
        if uses_eds(view, target.node)
    ]
