"""ClusterLoadAssignments for the EDS egress clusters, from the runtime's live endpoints.

Only healthy instances are listed, so Envoy's panic routing (below 50 % healthy) can never send
traffic to one the runtime knows is unhealthy. Endpoints are grouped by zone (a locality each)
and sorted, so equal endpoint sets give equal bytes.
"""

from __future__ import annotations

from envoy.config.endpoint.v3 import endpoint_pb2

from meshway.xds.translate.backends import EgressPlan, Target
from meshway.xds.translate.clusters import uses_eds
from meshway.xds.translate.messages import Json, message, socket_address
from meshway.xds.view import Endpoint, MeshView


def build_endpoints(view: MeshView, plan: EgressPlan) -> list[endpoint_pb2.ClusterLoadAssignment]:
    return [
        load_assignment(target, view.endpoints.get(target.node, ()))
        for target in plan.targets.values()
        if uses_eds(view, target.node)
    ]


def load_assignment(
    target: Target, endpoints: tuple[Endpoint, ...]
) -> endpoint_pb2.ClusterLoadAssignment:
    zones: dict[str, list[tuple[str, int]]] = {}
    for endpoint in endpoints:
        if not endpoint.healthy or endpoint.port not in (None, target.port):
            continue
        zones.setdefault(endpoint.zone or "", []).append((endpoint.address, target.port))
    localities = [_locality(zone, sorted(set(hosts))) for zone, hosts in sorted(zones.items())]
    body: Json = {"cluster_name": target.cluster, "endpoints": localities}
    return message(endpoint_pb2.ClusterLoadAssignment, body)


def _locality(zone: str, hosts: list[tuple[str, int]]) -> Json:
    out: Json = {
        "lb_endpoints": [
            {"endpoint": {"address": socket_address(address, port)}, "health_status": "HEALTHY"}
            for address, port in hosts
        ]
    }
    if zone:
        out["locality"] = {"zone": zone}
    return out
