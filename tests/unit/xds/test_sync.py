"""The sync's pure parts: which proxies a change touches, and which tasks are a node's endpoints."""

from __future__ import annotations

from typing import Any

from meshway.store.base import Change, ChangeOp
from meshway.xds.sync import MeshRef, affected, task_endpoints
from meshway.xds.view import Endpoint

PREFIX = "arn:aws:appmesh:us-west-2:111122223333:mesh"
FRONT = f"{PREFIX}/shop/virtualNode/front"
BACK = f"{PREFIX}/shop/virtualNode/back"
OTHER = f"{PREFIX}/other/virtualNode/x"
ELSEWHERE = "arn:aws:appmesh:us-west-2:999999999999:mesh/shop/virtualNode/front"
TASK = "arn:aws:ecs:us-west-2:111122223333:task/default/0123456789abcdef"


def change(kind: str, key: str) -> Change:
    return Change(revision=1, kind=kind, key=key, parent="", op=ChangeOp.PUT, at=0.0)


def test_a_mesh_change_touches_the_connected_proxies_of_that_mesh_only() -> None:
    keys = [FRONT, BACK, OTHER, ELSEWHERE]
    route = f"{PREFIX}/shop/virtualRouter/r/route/r1"
    assert affected([change("appmesh.route", route)], keys) == {FRONT, BACK}


def test_a_task_change_touches_the_connected_proxies_of_its_account() -> None:
    assert affected([change("ecs.task", TASK)], [FRONT, OTHER, ELSEWHERE]) == {FRONT, OTHER}


def test_other_changes_touch_nothing() -> None:
    assert affected([change("ecs.taskDefinition", "arn:aws:ecs:x")], [FRONT]) == set()


def task(status: str = "RUNNING", health: str = "HEALTHY", ip: str = "198.18.0.10") -> Any:
    return {
        "taskArn": TASK,
        "lastStatus": status,
        "healthStatus": health,
        "attachments": [
            {
                "type": "ElasticNetworkInterface",
                "details": [{"name": "privateIPv4Address", "value": ip}],
            }
        ],
        "overrides": {},
    }


DEFINITION = {
    "containerDefinitions": [
        {"name": "app", "environment": []},
        {
            "name": "envoy",
            "environment": [
                {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": "mesh/shop/virtualNode/front"}
            ],
        },
    ]
}


def test_a_running_task_is_an_endpoint_of_the_node_its_envoy_names() -> None:
    found = task_endpoints([(task(), DEFINITION)])
    mesh = MeshRef("111122223333", "us-west-2", "shop")
    assert found == {(mesh, "front"): [Endpoint(address="198.18.0.10", healthy=True)]}


def test_an_unhealthy_task_is_an_endpoint_that_takes_no_traffic() -> None:
    [[endpoint]] = task_endpoints([(task(health="UNHEALTHY"), DEFINITION)]).values()
    assert endpoint.healthy is False


def test_a_task_that_is_not_running_is_no_endpoint() -> None:
    assert task_endpoints([(task(status="PENDING"), DEFINITION)]) == {}


def test_an_override_can_name_the_node() -> None:
    body = task()
    env = [{"name": "APPMESH_RESOURCE_ARN", "value": f"{PREFIX}/shop/virtualNode/back"}]
    body["overrides"] = {"containerOverrides": [{"name": "envoy", "environment": env}]}
    mesh = MeshRef("111122223333", "us-west-2", "shop")
    assert list(task_endpoints([(body, DEFINITION)])) == [(mesh, "back")]
