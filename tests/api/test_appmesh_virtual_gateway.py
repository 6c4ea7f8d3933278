"""Virtual gateways through boto3: the common contract, gateway routes as children, quota."""

from __future__ import annotations

from tests.api.appmesh_kinds import (
    GATEWAY_ROUTE_SPECS,
    NODE_SPECS,
    VIRTUAL_GATEWAY,
    KindContract,
    Scene,
    assert_subset,
    aws_error,
)


class TestVirtualGateway(KindContract):
    kind = VIRTUAL_GATEWAY
    # The quota is 3 per mesh, below what the contract's paging tests create: gateway paging is
    # checked by the quota test and the "while a gateway is added" test below instead.
    test_list_pages_cover_everything_once_in_a_stable_order = None
    test_pages_stay_complete_while_resources_are_added = None


def test_a_gateway_with_gateway_routes_cannot_be_deleted(scene_gateway: Scene) -> None:
    client, mesh = scene_gateway.client, scene_gateway.mesh
    scene_gateway.create("vg")
    client.create_virtual_node(meshName=mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    client.create_virtual_service(
        meshName=mesh,
        virtualServiceName="svc.local",
        spec={"provider": {"virtualNode": {"virtualNodeName": "target"}}},
    )
    client.create_gateway_route(
        meshName=mesh, virtualGatewayName="vg", gatewayRouteName="gr", spec=GATEWAY_ROUTE_SPECS[0]
    )
    with aws_error("ResourceInUseException", 409):
        scene_gateway.delete("vg")
    client.delete_gateway_route(meshName=mesh, virtualGatewayName="vg", gatewayRouteName="gr")
    assert scene_gateway.delete("vg")["status"]["status"] == "DELETED"


def test_the_fourth_gateway_of_a_mesh_exceeds_the_quota_and_pages_stay_whole(
    scene_gateway: Scene,
) -> None:
    for index in range(3):
        scene_gateway.create(f"vg{index}")
    with aws_error("LimitExceededException", 400):
        scene_gateway.create("vg3")
    first = scene_gateway.list(limit=2)
    second = scene_gateway.list(limit=2, nextToken=first["nextToken"])
    names = [g["virtualGatewayName"] for g in first["virtualGateways"] + second["virtualGateways"]]
    assert names == ["vg0", "vg1", "vg2"]
    assert "nextToken" not in second


def test_a_gateway_with_tls_pool_and_logging_round_trips(scene_gateway: Scene) -> None:
    spec = {
        "listeners": [
            {
                "portMapping": {"port": 8443, "protocol": "http2"},
                "connectionPool": {"http2": {"maxRequests": 100}},
                "tls": {"mode": "STRICT", "certificate": {"sds": {"secretName": "gw-cert"}}},
            }
        ],
        "backendDefaults": {
            "clientPolicy": {
                "tls": {
                    "validation": {
                        "trust": {
                            "acm": {
                                "certificateAuthorityArns": [
                                    "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/abc"
                                ]
                            }
                        }
                    }
                }
            }
        },
        "logging": {
            "accessLog": {
                "file": {"path": "/dev/stdout", "format": {"text": "%START_TIME% %PROTOCOL%"}}
            }
        },
    }
    assert_subset(spec, scene_gateway.create("full", spec=spec)["spec"])


def test_gateway_pages_stay_complete_while_a_gateway_is_added(scene_gateway: Scene) -> None:
    scene_gateway.create("vg0")
    scene_gateway.create("vg1")
    first = scene_gateway.list(limit=1)
    scene_gateway.create("vg2")
    seen = [g["virtualGatewayName"] for g in first["virtualGateways"]]
    token = first.get("nextToken")
    while token:
        page = scene_gateway.list(limit=1, nextToken=token)
        seen += [g["virtualGatewayName"] for g in page["virtualGateways"]]
        token = page.get("nextToken")
    assert seen == ["vg0", "vg1", "vg2"]
