"""A small mesh for the console tests: a gateway in front of a virtual service whose router
splits traffic between three versions of a node by weight."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

HTTP = {"port": 8080, "protocol": "http"}


def node_spec(host: str, backends: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "listeners": [{"portMapping": HTTP}],
        "serviceDiscovery": {"dns": {"hostname": host}},
    }
    if backends:
        spec["backends"] = [{"virtualService": {"virtualServiceName": b}} for b in backends]
    return spec


def route_spec(weights: dict[str, int]) -> dict[str, Any]:
    targets = [{"virtualNode": node, "weight": w} for node, w in weights.items()]
    return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": targets}}}


def make_mesh(appmesh: Any, mesh: str, weights: dict[str, int]) -> str:
    """Creates the mesh; returns its ARN."""
    arn = str(appmesh.create_mesh(meshName=mesh)["mesh"]["metadata"]["arn"])
    for node in weights:
        appmesh.create_virtual_node(
            meshName=mesh, virtualNodeName=node, spec=node_spec(f"{node}.local")
        )
    appmesh.create_virtual_router(
        meshName=mesh, virtualRouterName="colors", spec={"listeners": [{"portMapping": HTTP}]}
    )
    appmesh.create_route(
        meshName=mesh, virtualRouterName="colors", routeName="split", spec=route_spec(weights)
    )
    appmesh.create_virtual_service(
        meshName=mesh,
        virtualServiceName="colors.local",
        spec={"provider": {"virtualRouter": {"virtualRouterName": "colors"}}},
    )
    appmesh.create_virtual_gateway(
        meshName=mesh, virtualGatewayName="edge", spec={"listeners": [{"portMapping": HTTP}]}
    )
    appmesh.create_gateway_route(
        meshName=mesh,
        virtualGatewayName="edge",
        gatewayRouteName="to-colors",
        spec={
            "httpRoute": {
                "match": {"prefix": "/"},
                "action": {"target": {"virtualService": {"virtualServiceName": "colors.local"}}},
            }
        },
    )
    return arn


def view(base: str, name: str, **params: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{base}/#/{name}" + (f"?{query}" if query else "")
