"""The sync's pure parts: which proxies a change touches, and which tasks are a node's endpoints."""

from __future__ import annotations

from typing import Any

from meshway.store.base import Change, ChangeOp
from meshway.xds.discovery import CloudMap
from meshway.xds.sync import MeshRef, affected, named_nodes, node_endpoints, task_endpoints
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
    cluster = "arn:aws:ecs:us-west-2:111122223333:cluster/default"
    assert affected([change("ecs.cluster", cluster)], [FRONT]) == set()
    operation = "us-west-2:111122223333/op-1"
    assert affected([change("servicediscovery.operation", operation)], [FRONT]) == set()


def test_task_definition_and_cloud_map_changes_touch_the_meshes_of_their_account() -> None:
    prefix = "arn:aws:servicediscovery:us-west-2:111122223333"
    service = f"{prefix}:service/srv-1"
    for kind, key in (
        ("ecs.taskDefinition", "arn:aws:ecs:us-west-2:111122223333:task-definition/front:1"),
        ("servicediscovery.namespace", f"{prefix}:namespace/ns-1"),
        ("servicediscovery.service", service),
        ("servicediscovery.instance", f"{service}/i-1"),
    ):  # fmt: skip
        assert affected([change(kind, key)], [FRONT, OTHER, ELSEWHERE]) == {FRONT, OTHER}, kind


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


SHOP = MeshRef("111122223333", "us-west-2", "shop")


def node_record(name: str, discovery: dict[str, Any]) -> dict[str, Any]:
    data = {"meshName": "shop", "virtualNodeName": name, "spec": {"serviceDiscovery": discovery}}
    return {"kind": "appmesh.virtualNode", "body": {"data": data}}


def definition(status: str = "ACTIVE") -> dict[str, Any]:
    arn = "arn:aws:ecs:us-west-2:111122223333:task-definition/front:1"
    return {**DEFINITION, "taskDefinitionArn": arn, "status": status}


def test_an_active_task_definition_naming_a_node_makes_it_known_before_any_task() -> None:
    named = named_nodes([definition()])
    assert named == {(SHOP, "front")}
    assert named_nodes([definition("INACTIVE")]) == set()
    records = [node_record("front", {"dns": {"hostname": "front.shop.local"}})]
    assert node_endpoints(SHOP, records, {}, named, CloudMap()) == {"front": ()}
    assert node_endpoints(SHOP, records, {}, set(), CloudMap()) == {}  # DNS cluster


def cloud_map(*instances: dict[str, Any]) -> CloudMap:
    namespace = {"Id": "ns-1", "Name": "shop.local", "Type": "DNS_PRIVATE"}
    service = {"Id": "srv-1", "Name": "front", "NamespaceId": "ns-1"}
    return CloudMap.of([namespace], [service], instances)


def instance(ip: str, health: str = "HEALTHY", **attributes: str) -> dict[str, Any]:
    return {
        "Id": ip,
        "ServiceId": "srv-1",
        "HealthStatus": health,
        "Attributes": {"AWS_INSTANCE_IPV4": ip, **attributes},
    }


def test_tasks_and_cloud_map_instances_of_one_node_merge_by_address() -> None:
    records = [node_record("front", {"dns": {"hostname": "front.shop.local"}})]
    tasks = {(SHOP, "front"): [Endpoint(address="198.18.0.10"), Endpoint(address="198.18.0.11")]}
    found = node_endpoints(
        SHOP,
        records,
        tasks,
        set(),
        cloud_map(instance("198.18.0.11", "UNHEALTHY"), instance("198.18.0.12")),
    )
    assert found == {
        "front": (
            Endpoint(address="198.18.0.10"),
            Endpoint(address="198.18.0.11", healthy=False),
            Endpoint(address="198.18.0.12"),
        )
    }


def test_an_aws_cloud_map_node_is_known_even_before_its_service_exists() -> None:
    records = [
        node_record("blue", {"awsCloudMap": {"namespaceName": "x.local", "serviceName": "nope"}})
    ]
    assert node_endpoints(SHOP, records, {}, set(), CloudMap()) == {"blue": ()}
