"""Gateway routes through boto3: the common contract, their gateway as parent, types and quota."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.appmesh_kinds import GATEWAY_ROUTE, KindContract, Scene, assert_subset, aws_error

TARGET = {"virtualService": {"virtualServiceName": "svc.local"}}


class TestGatewayRoute(KindContract):
    kind = GATEWAY_ROUTE

    # The quota is 10 per gateway; the contract's paging tests stay below it (7 and 9 routes).


def test_a_missing_gateway_is_not_found(scene_gateway_route: Scene) -> None:
    scene = scene_gateway_route
    scene.extra["virtualGatewayName"] = "absent"
    with aws_error("NotFoundException", 404):
        scene.create("gr")
    with aws_error("NotFoundException", 404):
        scene.describe("gr")
    with aws_error("NotFoundException", 404):
        scene.update("gr")
    with aws_error("NotFoundException", 404):
        scene.delete("gr")
    with aws_error("NotFoundException", 404):
        scene.list()


def test_a_gateway_route_to_a_missing_service_is_not_found(scene_gateway_route: Scene) -> None:
    spec = {
        "httpRoute": {
            "match": {"prefix": "/"},
            "action": {"target": {"virtualService": {"virtualServiceName": "ghost.local"}}},
        }
    }
    with aws_error("NotFoundException", 404):
        scene_gateway_route.create("gr", spec=spec)
    assert scene_gateway_route.listed_names() == []


def test_the_eleventh_gateway_route_of_a_gateway_exceeds_the_quota(
    scene_gateway_route: Scene,
) -> None:
    for index in range(10):
        scene_gateway_route.create(
            f"gr{index}",
            spec={"httpRoute": {"match": {"prefix": f"/p{index}"}, "action": {"target": TARGET}}},
        )
    with aws_error("LimitExceededException", 400):
        scene_gateway_route.create("gr10")
    assert len(scene_gateway_route.listed_names()) == 10


def _gateway(scene: Scene, protocol: str) -> None:
    scene.client.create_virtual_gateway(
        meshName=scene.mesh,
        virtualGatewayName=protocol,
        spec={"listeners": [{"portMapping": {"port": 8080, "protocol": protocol}}]},
    )
    scene.extra["virtualGatewayName"] = protocol


GATEWAY_ROUTE_TYPES: dict[str, dict[str, Any]] = {
    "http": {
        "httpRoute": {
            "match": {
                "prefix": "/color/",
                "hostname": {"suffix": "example.com"},
                "headers": [{"name": "x-color", "match": {"suffix": "blue"}}],
            },
            "action": {
                "target": TARGET,
                "rewrite": {
                    "prefix": {"value": "/"},
                    "hostname": {"defaultTargetHostname": "ENABLED"},
                },
            },
        },
        "priority": 5,
    },
    "http2": {
        "http2Route": {
            "match": {"path": {"exact": "/color"}, "method": "GET"},
            "action": {"target": TARGET, "rewrite": {"path": {"exact": "/"}}},
        }
    },
    "grpc": {
        "grpcRoute": {"match": {"serviceName": "color.ColorService"}, "action": {"target": TARGET}}
    },
}


@pytest.mark.parametrize("protocol", sorted(GATEWAY_ROUTE_TYPES))
def test_a_gateway_route_of_each_type_round_trips(
    scene_gateway_route: Scene, protocol: str
) -> None:
    _gateway(scene_gateway_route, protocol)
    spec = GATEWAY_ROUTE_TYPES[protocol]
    data = scene_gateway_route.create("gr", spec=spec)
    assert_subset(spec, data["spec"])
    assert scene_gateway_route.describe("gr") == data
