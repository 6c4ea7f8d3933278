"""Virtual routers through boto3: the common contract, protocols, and what keeps a router alive."""

from __future__ import annotations

import pytest

from tests.api.appmesh_kinds import (
    NODE_SPECS,
    ROUTE_SPECS,
    VIRTUAL_ROUTER,
    KindContract,
    Scene,
    assert_subset,
    aws_error,
)


class TestVirtualRouter(KindContract):
    kind = VIRTUAL_ROUTER


@pytest.mark.parametrize("protocol", ["http", "http2", "grpc", "tcp"])
def test_a_router_listener_of_each_protocol_round_trips(scene_router: Scene, protocol: str) -> None:
    spec = {"listeners": [{"portMapping": {"port": 9090, "protocol": protocol}}]}
    assert_subset(spec, scene_router.create(protocol, spec=spec)["spec"])


def test_a_router_with_routes_cannot_be_deleted(scene_router: Scene) -> None:
    client, mesh = scene_router.client, scene_router.mesh
    scene_router.create("vr")
    client.create_virtual_node(meshName=mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    client.create_route(meshName=mesh, virtualRouterName="vr", routeName="r", spec=ROUTE_SPECS[0])
    with aws_error("ResourceInUseException", 409):
        scene_router.delete("vr")
    assert scene_router.describe("vr")["status"]["status"] == "ACTIVE"
    client.delete_route(meshName=mesh, virtualRouterName="vr", routeName="r")
    assert scene_router.delete("vr")["status"]["status"] == "DELETED"


def test_a_router_that_provides_a_virtual_service_cannot_be_deleted(scene_router: Scene) -> None:
    client, mesh = scene_router.client, scene_router.mesh
    scene_router.create("vr")
    client.create_virtual_service(
        meshName=mesh,
        virtualServiceName="svc.local",
        spec={"provider": {"virtualRouter": {"virtualRouterName": "vr"}}},
    )
    with aws_error("ResourceInUseException", 409):
        scene_router.delete("vr")
    client.delete_virtual_service(meshName=mesh, virtualServiceName="svc.local")
    assert scene_router.delete("vr")["status"]["status"] == "DELETED"
