"""UpdateVirtualRouter keeps its routes reachable: a second listener needs port matches."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_a_router_gains_a_second_listener_only_when_every_route_names_its_port(appmesh, unique):
    m = unique
    appmesh.create_mesh(meshName=m)
    appmesh.create_virtual_node(
        meshName=m,
        virtualNodeName="n",
        spec={
            "listeners": [{"portMapping": {"port": 80, "protocol": "http"}}],
            "serviceDiscovery": {"dns": {"hostname": "n.local"}},
        },
    )
    one = {"listeners": [{"portMapping": {"port": 80, "protocol": "http"}}]}
    two = {
        "listeners": [
            {"portMapping": {"port": 80, "protocol": "http"}},
            {"portMapping": {"port": 81, "protocol": "http"}},
        ]
    }
    appmesh.create_virtual_router(meshName=m, virtualRouterName="r", spec=one)
    appmesh.create_route(
        meshName=m,
        virtualRouterName="r",
        routeName="rt",
        spec={
            "httpRoute": {
                "match": {"prefix": "/"},
                "action": {"weightedTargets": [{"virtualNode": "n", "weight": 1}]},
            }
        },
    )
    with pytest.raises(ClientError) as caught:
        appmesh.update_virtual_router(meshName=m, virtualRouterName="r", spec=two)
    assert caught.value.response["Error"]["Code"] == "BadRequestException"
    assert "[rt]" in caught.value.response["Error"]["Message"]
    assert (
        appmesh.describe_virtual_router(meshName=m, virtualRouterName="r")["virtualRouter"][
            "metadata"
        ]["version"]
        == 1
    )
    appmesh.update_route(
        meshName=m,
        virtualRouterName="r",
        routeName="rt",
        spec={
            "httpRoute": {
                "match": {"prefix": "/", "port": 80},
                "action": {"weightedTargets": [{"virtualNode": "n", "weight": 1, "port": 80}]},
            }
        },
    )
    assert (
        appmesh.update_virtual_router(meshName=m, virtualRouterName="r", spec=two)["virtualRouter"][
            "metadata"
        ]["version"]
        == 2
    )
