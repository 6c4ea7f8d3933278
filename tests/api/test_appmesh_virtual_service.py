"""Virtual services through boto3: the common contract, providers, and gateway-route targets."""

from __future__ import annotations

from tests.api.appmesh_kinds import (
    GATEWAY_SPECS,
    VIRTUAL_SERVICE,
    KindContract,
    Scene,
    assert_subset,
    aws_error,
)


class TestVirtualService(KindContract):
    kind = VIRTUAL_SERVICE


def test_a_service_without_a_provider_is_accepted(scene_service: Scene) -> None:
    data = scene_service.create("bare.local", spec={})
    assert data["spec"].get("provider") is None
    assert scene_service.describe("bare.local") == data


def test_a_missing_provider_is_not_found_and_not_stored(scene_service: Scene) -> None:
    with aws_error("NotFoundException", 404):
        scene_service.create("s", spec={"provider": {"virtualNode": {"virtualNodeName": "x"}}})
    with aws_error("NotFoundException", 404):
        scene_service.create("s", spec={"provider": {"virtualRouter": {"virtualRouterName": "x"}}})
    assert scene_service.listed_names() == []


def test_switching_provider_releases_the_old_one(scene_service: Scene) -> None:
    client, mesh = scene_service.client, scene_service.mesh
    scene_service.create("s")  # provided by router vr
    scene_service.update("s", 1)  # now by node target
    assert client.delete_virtual_router(meshName=mesh, virtualRouterName="vr")
    with aws_error("ResourceInUseException", 409):
        client.delete_virtual_node(meshName=mesh, virtualNodeName="target")


def test_a_service_targeted_by_a_gateway_route_cannot_be_deleted(scene_service: Scene) -> None:
    client, mesh = scene_service.client, scene_service.mesh
    scene_service.create("svc.local")
    client.create_virtual_gateway(meshName=mesh, virtualGatewayName="vg", spec=GATEWAY_SPECS[0])
    spec = {
        "httpRoute": {
            "match": {"prefix": "/"},
            "action": {"target": {"virtualService": {"virtualServiceName": "svc.local"}}},
        }
    }
    client.create_gateway_route(
        meshName=mesh, virtualGatewayName="vg", gatewayRouteName="gr", spec=spec
    )
    with aws_error("ResourceInUseException", 409):
        scene_service.delete("svc.local")
    client.delete_gateway_route(meshName=mesh, virtualGatewayName="vg", gatewayRouteName="gr")
    deleted = scene_service.delete("svc.local")
    assert deleted["status"]["status"] == "DELETED"
    assert_subset({"provider": {"virtualRouter": {"virtualRouterName": "vr"}}}, deleted["spec"])
