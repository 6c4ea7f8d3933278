"""Issue 8's must-show with real tasks: two task families registered by their ECS services in
one Cloud Map service, and a virtual node whose `awsCloudMap` discovery filters on
ECS_TASK_DEFINITION_FAMILY=blue gets exactly the blue tasks as endpoints; a stopped blue task
leaves the load assignment and its replacement joins."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_xds_cloudmap import addresses
from tests.api.test_xds_sync import node_client
from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import requires_root
from tests.e2e.test_service_registries import registry, running, start
from tests.xds_client import CLUSTER, ENDPOINT, AdsClient

pytestmark = [pytest.mark.e2e, requires_root, pytest.mark.anyio]
ACCOUNT = "246813579024"
LISTENER = {"portMapping": {"port": 9080, "protocol": "http"}}


def task_addresses(tasks: dict[str, dict[str, Any]]) -> set[str]:
    found = set()
    for task in tasks.values():
        for attachment in task.get("attachments") or ():
            for detail in attachment.get("details") or ():
                if detail["name"] == "privateIPv4Address":
                    found.add(detail["value"])
    return found


async def assignment_until(
    client: AdsClient, cluster: str, wanted: Any, size: int, timeout: float = 30.0
) -> set[str]:
    """ACK EDS pushes until the cluster's addresses are `wanted()`, `size` of them."""
    deadline = time.monotonic() + timeout
    last: set[str] = set()
    while time.monotonic() < deadline:
        expected = await asyncio.to_thread(wanted)
        if last == expected and len(expected) == size:
            return last
        try:
            response = await client.receive(0.5)
        except TimeoutError:
            continue
        client.ack(response, [cluster] if response.type_url == ENDPOINT else ())
        if response.type_url == ENDPOINT:
            last = addresses(response).get(cluster, set())
    raise AssertionError(f"load assignment {last} never became {await asyncio.to_thread(wanted)}")


async def test_an_aws_cloud_map_node_filtered_on_the_blue_family_gets_only_blue_tasks(
    runtime_server: ServerProcess, tmp_path: Path
) -> None:
    ecs = make_client(runtime_server.url, "ecs", aws_access_key_id=ACCOUNT)
    cloudmap = make_client(runtime_server.url, "servicediscovery", aws_access_key_id=ACCOUNT)
    appmesh = make_client(runtime_server.url, "appmesh", aws_access_key_id=ACCOUNT)
    sick = tmp_path / "sick"  # nothing in it: every task stays healthy
    sick.mkdir()
    _, arn = registry(cloudmap)
    start(ecs, "blue", "blue", arn, sick, desired=2)
    start(ecs, "green", "green", arn, sick, desired=1)

    appmesh.create_mesh(meshName="shop")
    family = {"key": "ECS_TASK_DEFINITION_FAMILY", "value": "blue"}
    selector = {"namespaceName": "shop.local", "serviceName": "web", "attributes": [family]}
    appmesh.create_virtual_node(
        meshName="shop",
        virtualNodeName="blue",
        spec={"listeners": [LISTENER], "serviceDiscovery": {"awsCloudMap": selector}},
    )
    appmesh.create_virtual_service(
        meshName="shop",
        virtualServiceName="web.shop.local",
        spec={"provider": {"virtualNode": {"virtualNodeName": "blue"}}},
    )
    appmesh.create_virtual_node(
        meshName="shop",
        virtualNodeName="front",
        spec={
            "listeners": [LISTENER],
            "serviceDiscovery": {"dns": {"hostname": "front.shop.local"}},
            "backends": [{"virtualService": {"virtualServiceName": "web.shop.local"}}],
        },
    )
    cluster = "cds_egress_shop_blue_http_9080"
    client = node_client(runtime_server, "mesh/shop/virtualNode/front", ACCOUNT)
    try:
        client.request(CLUSTER)
        clusters = await client.receive()
        client.request(ENDPOINT, [cluster])
        client.ack(clusters)

        def blue_tasks() -> set[str]:
            return task_addresses(running(ecs, "blue"))

        blue = await assignment_until(client, cluster, blue_tasks, 2)
        assert not blue & task_addresses(running(ecs, "green"))

        [stopped, *_] = running(ecs, "blue")
        ecs.stop_task(task=stopped)
        after = await assignment_until(client, cluster, blue_tasks, 2, timeout=60.0)
        assert after != blue and after & blue  # the stopped one left, its replacement joined
    finally:
        await client.close()
