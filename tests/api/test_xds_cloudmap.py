"""App Mesh discovery from Cloud Map through a real server: namespaces, services and instances
made with boto3, a virtual node selecting the `blue` family by attribute, and a scripted ADS
client standing for its caller. The load assignment holds exactly the blue instances, loses one
set UNHEALTHY, and follows a deregistration."""

from __future__ import annotations

import time
from typing import Any

import pytest
from envoy.config.endpoint.v3 import endpoint_pb2

from tests.api.test_xds_sync import names, node_client
from tests.conftest import ServerProcess, make_client
from tests.xds_client import CLUSTER, ENDPOINT, AdsClient

pytestmark = pytest.mark.anyio


def addresses(response: Any) -> dict[str, set[str]]:
    """Cluster name → the addresses of its HEALTHY hosts, from an EDS response."""
    out: dict[str, set[str]] = {}
    for packed in response.resources:
        assignment = endpoint_pb2.ClusterLoadAssignment()
        packed.Unpack(assignment)
        out[assignment.cluster_name] = {
            host.endpoint.address.socket_address.address
            for locality in assignment.endpoints
            for host in locality.lb_endpoints
        }
    return out


def wait_operation(client: Any, operation: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.get_operation(OperationId=operation)["Operation"]["Status"]
        if status in ("SUCCESS", "FAIL"):
            assert status == "SUCCESS"
            return
        time.sleep(0.05)
    raise TimeoutError(operation)


def register(client: Any, service: str, instance: str, ip: str, family: str) -> None:
    client.register_instance(
        ServiceId=service,
        InstanceId=instance,
        Attributes={
            "AWS_INSTANCE_IPV4": ip,
            "AWS_INSTANCE_PORT": "8080",
            "ECS_TASK_DEFINITION_FAMILY": family,
        },
    )


async def next_assignment(client: AdsClient, cluster: str) -> set[str]:
    response = await client.receive()
    assert response.type_url == ENDPOINT
    client.ack(response, [cluster])
    return addresses(response)[cluster]


async def test_an_aws_cloud_map_node_gets_exactly_the_blue_instances_and_follows_changes(
    server: ServerProcess, appmesh: Any, account: str, unique: str
) -> None:
    cloud_map = make_client(server.url, "servicediscovery", aws_access_key_id=account)
    namespace = f"{unique}.local"
    operation = cloud_map.create_private_dns_namespace(Name=namespace, Vpc="vpc-1")
    wait_operation(cloud_map, operation["OperationId"])
    [found] = [
        n for n in cloud_map.list_namespaces()["Namespaces"] if n["Name"] == namespace
    ]  # fmt: skip
    service = cloud_map.create_service(
        Name="colors",
        NamespaceId=found["Id"],
        DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]},
        HealthCheckCustomConfig={"FailureThreshold": 1},
    )["Service"]["Id"]
    register(cloud_map, service, "blue-1", "10.1.0.1", "blue")
    register(cloud_map, service, "blue-2", "10.1.0.2", "blue")
    register(cloud_map, service, "green-1", "10.1.0.3", "green")

    mesh = f"{unique}-mesh"
    appmesh.create_mesh(meshName=mesh)
    listener = {"portMapping": {"port": 9080, "protocol": "http"}}
    selector = {
        "namespaceName": namespace,
        "serviceName": "colors",
        "attributes": [{"key": "ECS_TASK_DEFINITION_FAMILY", "value": "blue"}],
    }
    appmesh.create_virtual_node(
        meshName=mesh,
        virtualNodeName="blue",
        spec={"listeners": [listener], "serviceDiscovery": {"awsCloudMap": selector}},
    )
    appmesh.create_virtual_service(
        meshName=mesh,
        virtualServiceName=f"colors.{namespace}",
        spec={"provider": {"virtualNode": {"virtualNodeName": "blue"}}},
    )
    appmesh.create_virtual_node(
        meshName=mesh,
        virtualNodeName="front",
        spec={
            "listeners": [listener],
            "serviceDiscovery": {"dns": {"hostname": f"front.{namespace}"}},
            "backends": [{"virtualService": {"virtualServiceName": f"colors.{namespace}"}}],
        },
    )
    cluster = f"cds_egress_{mesh}_blue_http_9080"
    client = node_client(server, f"mesh/{mesh}/virtualNode/front", account)
    try:
        client.request(CLUSTER)
        clusters = await client.receive()
        assert cluster in names(clusters)
        client.request(ENDPOINT, [cluster])
        client.ack(clusters)
        assert await next_assignment(client, cluster) == {"10.1.0.1", "10.1.0.2"}

        cloud_map.update_instance_custom_health_status(
            ServiceId=service, InstanceId="blue-2", Status="UNHEALTHY"
        )
        assert await next_assignment(client, cluster) == {"10.1.0.1"}

        cloud_map.deregister_instance(ServiceId=service, InstanceId="blue-1")
        assert await next_assignment(client, cluster) == set()

        register(cloud_map, service, "blue-3", "10.1.0.4", "blue")
        register(cloud_map, service, "green-2", "10.1.0.5", "green")
        assert await next_assignment(client, cluster) == {"10.1.0.4"}
    finally:
        await client.close()
