"""Routes through boto3: the common contract, their router as parent, route types and quota."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.appmesh_kinds import ROUTE, KindContract, Scene, assert_subset, aws_error

TARGETS = {"weightedTargets": [{"virtualNode": "target", "weight": 100}]}


class TestRoute(KindContract):
    kind = ROUTE


def test_a_missing_router_is_not_found(scene_route: Scene) -> None:
    scene_route.extra["virtualRouterName"] = "absent"
    with aws_error("NotFoundException", 404):
        scene_route.create("r")
    with aws_error("NotFoundException", 404):
        scene_route.describe("r")
    with aws_error("NotFoundException", 404):
        scene_route.update("r")
    with aws_error("NotFoundException", 404):
        scene_route.delete("r")
    with aws_error("NotFoundException", 404):
        scene_route.list()


def test_a_route_to_a_missing_node_is_not_found_and_not_stored(scene_route: Scene) -> None:
    spec = {
        "httpRoute": {
            "match": {"prefix": "/"},
            "action": {"weightedTargets": [{"virtualNode": "ghost", "weight": 100}]},
        }
    }
    with aws_error("NotFoundException", 404):
        scene_route.create("r", spec=spec)
    assert scene_route.listed_names() == []


def test_the_fifty_first_route_of_a_router_exceeds_the_quota(scene_route: Scene) -> None:
    for index in range(50):
        scene_route.create(f"r{index}")
    with aws_error("LimitExceededException", 400):
        scene_route.create("r50")
    assert len(scene_route.listed_names()) == 50
    scene_route.delete("r0")
    assert scene_route.create("r50")["metadata"]["version"] == 1


def _router(scene: Scene, protocol: str) -> None:
    scene.client.create_virtual_router(
        meshName=scene.mesh,
        virtualRouterName=protocol,
        spec={"listeners": [{"portMapping": {"port": 8080, "protocol": protocol}}]},
    )
    scene.extra["virtualRouterName"] = protocol


ROUTE_TYPES: dict[str, dict[str, Any]] = {
    "http2": {
        "http2Route": {
            "match": {
                "prefix": "/",
                "method": "POST",
                "scheme": "https",
                "headers": [{"name": "x-canary", "match": {"exact": "1"}}],
            },
            "action": TARGETS,
            "retryPolicy": {
                "maxRetries": 2,
                "perRetryTimeout": {"unit": "ms", "value": 500},
                "httpRetryEvents": ["server-error"],
            },
            "timeout": {"perRequest": {"unit": "s", "value": 5}},
        },
        "priority": 10,
    },
    "grpc": {
        "grpcRoute": {
            "match": {
                "serviceName": "color.ColorService",
                "methodName": "GetColor",
                "metadata": [{"name": "x-version", "match": {"prefix": "v2"}}],
            },
            "action": TARGETS,
            "retryPolicy": {
                "maxRetries": 1,
                "perRetryTimeout": {"unit": "s", "value": 1},
                "grpcRetryEvents": ["unavailable"],
            },
        }
    },
    "tcp": {"tcpRoute": {"action": TARGETS, "timeout": {"idle": {"unit": "s", "value": 60}}}},
    "http": {
        "httpRoute": {
            "match": {
                "path": {"exact": "/color"},
                "queryParameters": [{"name": "debug", "match": {"exact": "1"}}],
            },
            "action": TARGETS,
        },
        "priority": 0,
    },
}


@pytest.mark.parametrize("protocol", sorted(ROUTE_TYPES))
def test_a_route_of_each_type_round_trips_on_a_router_of_its_protocol(
    scene_route: Scene, protocol: str
) -> None:
    _router(scene_route, protocol)
    spec = ROUTE_TYPES[protocol]
    data = scene_route.create("r", spec=spec)
    assert_subset(spec, data["spec"])
    assert scene_route.describe("r") == data
