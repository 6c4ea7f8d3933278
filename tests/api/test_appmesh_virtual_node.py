"""Virtual nodes through boto3: the common contract, full specs, and what keeps a node alive."""

from __future__ import annotations

from typing import Any

from tests.api.appmesh_kinds import (
    NODE_SPECS,
    ROUTER_SPECS,
    VIRTUAL_NODE,
    KindContract,
    Scene,
    assert_subset,
    aws_error,
)

FULL_SPEC: dict[str, Any] = {
    "listeners": [
        {
            "portMapping": {"port": 8080, "protocol": "http"},
            "healthCheck": {
                "protocol": "http",
                "path": "/ping",
                "port": 8080,
                "healthyThreshold": 2,
                "unhealthyThreshold": 2,
                "timeoutMillis": 2000,
                "intervalMillis": 5000,
            },
            "timeout": {
                "http": {
                    "perRequest": {"unit": "s", "value": 15},
                    "idle": {"unit": "ms", "value": 300000},
                }
            },
            "connectionPool": {"http": {"maxConnections": 10, "maxPendingRequests": 20}},
            "outlierDetection": {
                "maxServerErrors": 5,
                "interval": {"unit": "s", "value": 10},
                "baseEjectionDuration": {"unit": "s", "value": 30},
                "maxEjectionPercent": 50,
            },
            "tls": {
                "mode": "PERMISSIVE",
                "certificate": {
                    "file": {"certificateChain": "/certs/chain.pem", "privateKey": "/certs/key.pem"}
                },
            },
        }
    ],
    "serviceDiscovery": {
        "awsCloudMap": {
            "namespaceName": "colorapp.local",
            "serviceName": "colorteller",
            "attributes": [{"key": "ECS_TASK_DEFINITION_FAMILY", "value": "colorteller-white"}],
        }
    },
    "backends": [{"virtualService": {"virtualServiceName": "colorteller.colorapp.local"}}],
    "backendDefaults": {
        "clientPolicy": {
            "tls": {
                "enforce": True,
                "ports": [8080],
                "validation": {"trust": {"file": {"certificateChain": "/certs/ca.pem"}}},
            }
        }
    },
    "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}},
}


class TestVirtualNode(KindContract):
    kind = VIRTUAL_NODE


def test_a_full_node_spec_round_trips(scene_node: Scene) -> None:
    data = scene_node.create("full", spec=FULL_SPEC)
    assert_subset(FULL_SPEC, data["spec"])
    assert scene_node.describe("full")["spec"] == data["spec"]


def test_a_node_may_name_a_backend_service_that_does_not_exist_yet(scene_node: Scene) -> None:
    spec = {
        **NODE_SPECS[0],
        "backends": [{"virtualService": {"virtualServiceName": "later.local"}}],
    }
    assert_subset(spec, scene_node.create("front", spec=spec)["spec"])
    assert scene_node.delete("front")["status"]["status"] == "DELETED"


def test_a_node_that_provides_a_virtual_service_cannot_be_deleted(scene_node: Scene) -> None:
    client, mesh = scene_node.client, scene_node.mesh
    scene_node.create("provider")
    client.create_virtual_service(
        meshName=mesh,
        virtualServiceName="svc.local",
        spec={"provider": {"virtualNode": {"virtualNodeName": "provider"}}},
    )
    with aws_error("ResourceInUseException", 409):
        scene_node.delete("provider")
    assert scene_node.describe("provider")["status"]["status"] == "ACTIVE"
    client.update_virtual_service(meshName=mesh, virtualServiceName="svc.local", spec={})
    assert scene_node.delete("provider")["status"]["status"] == "DELETED"


def test_a_node_that_is_a_route_target_cannot_be_deleted(scene_node: Scene) -> None:
    client, mesh = scene_node.client, scene_node.mesh
    scene_node.create("blue")
    scene_node.create("white")
    client.create_virtual_router(meshName=mesh, virtualRouterName="vr", spec=ROUTER_SPECS[0])

    def route(*targets: str) -> dict[str, Any]:
        weighted = [{"virtualNode": t, "weight": 100 // len(targets)} for t in targets]
        return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": weighted}}}

    client.create_route(
        meshName=mesh, virtualRouterName="vr", routeName="r", spec=route("blue", "white")
    )
    for node in ("blue", "white"):
        with aws_error("ResourceInUseException", 409):
            scene_node.delete(node)
    client.update_route(meshName=mesh, virtualRouterName="vr", routeName="r", spec=route("white"))
    assert scene_node.delete("blue")["status"]["status"] == "DELETED"
    with aws_error("ResourceInUseException", 409):
        scene_node.delete("white")
    client.delete_route(meshName=mesh, virtualRouterName="vr", routeName="r")
    assert scene_node.delete("white")["status"]["status"] == "DELETED"


def test_client_policy_tls_is_enforced_unless_told_otherwise(scene_node: Scene) -> None:
    trust = {"trust": {"file": {"certificateChain": "/certs/ca.pem"}}}
    spec = {
        **NODE_SPECS[0],
        "backendDefaults": {"clientPolicy": {"tls": {"validation": trust}}},
        "backends": [
            {
                "virtualService": {
                    "virtualServiceName": "plain.local",
                    "clientPolicy": {"tls": {"enforce": False, "validation": trust}},
                }
            }
        ],
    }
    data = scene_node.create("tls", spec=spec)["spec"]
    assert data["backendDefaults"]["clientPolicy"]["tls"]["enforce"] is True  # documented default
    assert data["backends"][0]["virtualService"]["clientPolicy"]["tls"]["enforce"] is False
