"""CreateService and UpdateService with `serviceRegistries`: what ECS accepts and refuses, and
that a change of registry starts a new deployment. Registration of running tasks needs the task
runtime: tests/e2e/test_service_registries.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.ecs.helpers import NETWORK, error, register
from tests.conftest import ServerProcess


@pytest.fixture
def cloudmap(api_server: ServerProcess, account: str) -> Any:
    return api_server.client("servicediscovery", aws_access_key_id=account)


def registry(cloudmap: Any, name: str = "web", records: tuple[str, ...] = ("A",)) -> str:
    """A Cloud Map service in a fresh private DNS namespace; its ARN."""
    namespace = cloudmap.create_private_dns_namespace(Name=f"{name}.local", Vpc="vpc-local")
    operation = cloudmap.get_operation(OperationId=namespace["OperationId"])["Operation"]
    namespace_id = operation["Targets"]["NAMESPACE"]
    service = cloudmap.create_service(
        Name=name,
        DnsConfig={
            "NamespaceId": namespace_id,
            "RoutingPolicy": "MULTIVALUE",
            "DnsRecords": [{"Type": kind, "TTL": 10} for kind in records],
        },
        HealthCheckCustomConfig={"FailureThreshold": 1},
    )
    return str(service["Service"]["Arn"])


def create(ecs: Any, registries: list[dict[str, Any]], name: str = "web") -> dict[str, Any]:
    return ecs.create_service(  # type: ignore[no-any-return]
        serviceName=name,
        taskDefinition="appmesh-gateway",
        desiredCount=1,
        networkConfiguration=NETWORK,
        serviceRegistries=registries,
    )["service"]


def test_a_service_keeps_its_registry_and_shows_it(ecs: Any, cloudmap: Any) -> None:
    register(ecs)
    arn = registry(cloudmap)
    service = create(ecs, [{"registryArn": arn}])
    assert service["serviceRegistries"] == [{"registryArn": arn}]
    described = ecs.describe_services(services=["web"])["services"][0]
    assert described["serviceRegistries"] == [{"registryArn": arn}]
    assert "_serviceRegistries" not in described["deployments"][0]


def test_more_than_one_registry_is_refused(ecs: Any, cloudmap: Any) -> None:
    register(ecs)
    first, second = registry(cloudmap, "one"), registry(cloudmap, "two")
    with pytest.raises(ClientError) as raised:
        create(ecs, [{"registryArn": first}, {"registryArn": second}])
    code, message = error(raised)
    assert code == "InvalidParameterException"
    assert "one service registry" in message
    assert ecs.describe_services(services=["web"])["failures"][0]["reason"] == "MISSING"


def test_a_registry_that_does_not_exist_is_refused(ecs: Any, cloudmap: Any, account: str) -> None:
    register(ecs)
    missing = f"arn:aws:servicediscovery:us-east-1:{account}:service/srv-0123456789abcdef"
    with pytest.raises(ClientError) as raised:
        create(ecs, [{"registryArn": missing}])
    assert error(raised)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as raised:
        create(ecs, [{"registryArn": "not-an-arn"}])
    assert error(raised)[0] == "InvalidParameterException"


def test_an_srv_registry_needs_a_port_or_a_container_port(ecs: Any, cloudmap: Any) -> None:
    register(ecs)
    arn = registry(cloudmap, "srv", records=("SRV",))
    with pytest.raises(ClientError) as raised:
        create(ecs, [{"registryArn": arn}])
    assert error(raised)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as raised:  # the container has no such port mapping
        create(ecs, [{"registryArn": arn, "containerName": "app", "containerPort": 1234}])
    assert error(raised)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as raised:  # no such container
        create(ecs, [{"registryArn": arn, "containerName": "nope", "containerPort": 9080}])
    assert error(raised)[0] == "InvalidParameterException"
    by_port = create(ecs, [{"registryArn": arn, "port": 9080}], name="by-port")
    assert by_port["serviceRegistries"] == [{"registryArn": arn, "port": 9080}]
    entry = {"registryArn": arn, "containerName": "app", "containerPort": 9080}
    assert create(ecs, [entry], name="by-container")["serviceRegistries"] == [entry]


def test_changing_the_registry_starts_a_new_deployment(ecs: Any, cloudmap: Any) -> None:
    register(ecs)
    first, second = registry(cloudmap, "first"), registry(cloudmap, "second")
    before = create(ecs, [{"registryArn": first}])["deployments"][0]["id"]
    same = ecs.update_service(service="web", serviceRegistries=[{"registryArn": first}])
    assert [d["id"] for d in same["service"]["deployments"]] == [before]
    updated = ecs.update_service(service="web", serviceRegistries=[{"registryArn": second}])
    deployments = updated["service"]["deployments"]
    assert len(deployments) == 2
    assert deployments[0]["id"] != before and deployments[1]["id"] == before
    assert updated["service"]["serviceRegistries"] == [{"registryArn": second}]
