"""What DescribeTaskDefinition shows: the registered input verbatim plus AWS's defaults."""

from __future__ import annotations

from typing import Any

from meshway.model.ecs.taskdef import Registration, described_task_definition
from tests.unit.model.ecs.cases import seed

REG = Registration(
    arn="arn:aws:ecs:us-west-2:1:task-definition/appmesh-gateway:1",
    revision=1,
    registered_at=1_700_000_000.5,
    registered_by="arn:aws:iam::1:root",
)


def contains(outer: Any, inner: Any) -> bool:
    """True when everything in `inner` is in `outer` with the same value (lists item by item)."""
    if isinstance(inner, dict):
        return isinstance(outer, dict) and all(
            k in outer and contains(outer[k], v) for k, v in inner.items()
        )
    if isinstance(inner, list):
        return (
            isinstance(outer, list)
            and len(outer) == len(inner)
            and all(contains(o, i) for o, i in zip(outer, inner, strict=True))
        )
    return bool(outer == inner)


def test_the_seed_comes_back_verbatim_with_registration_facts() -> None:
    described = described_task_definition(seed(), REG)
    assert contains(described, seed())
    assert described["taskDefinitionArn"] == REG.arn
    assert described["revision"] == 1
    assert described["status"] == "ACTIVE"
    assert described["registeredAt"] == 1_700_000_000.5
    assert described["compatibilities"] == ["EC2"]
    assert {"name": "ecs.capability.task-eni"} in described["requiresAttributes"]


def test_containers_get_ecs_defaults() -> None:
    app, envoy = described_task_definition(seed(), REG)["containerDefinitions"]
    for container in (app, envoy):
        assert container["cpu"] == 0
        assert container["essential"] is True
        assert container["mountPoints"] == []
        assert container["volumesFrom"] == []
    assert app["environment"] == []
    assert envoy["portMappings"] == []


def test_health_check_defaults_fill_only_what_is_missing() -> None:
    definition = seed()
    definition["containerDefinitions"][1]["healthCheck"] = {"command": ["CMD", "true"]}
    envoy = described_task_definition(definition, REG)["containerDefinitions"][1]
    assert envoy["healthCheck"] == {
        "command": ["CMD", "true"],
        "interval": 30,
        "timeout": 5,
        "retries": 3,
    }


def test_awsvpc_port_mappings_publish_the_container_port_with_its_protocol() -> None:
    xray = described_task_definition(seed("appmesh-task-definition-xray.json"), REG)
    daemon = xray["containerDefinitions"][2]
    assert daemon["portMappings"] == [{"containerPort": 2000, "hostPort": 2000, "protocol": "udp"}]
    assert daemon["memoryReservation"] == 256
    assert daemon["cpu"] == 32


def test_bridge_mode_is_the_default_and_shows_dynamic_host_ports_as_zero() -> None:
    definition = seed()
    del definition["proxyConfiguration"], definition["networkMode"]
    definition["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80}]
    described = described_task_definition(definition, REG)
    assert described["networkMode"] == "bridge"
    assert described["compatibilities"] == ["EXTERNAL", "EC2"]
    assert described["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 80, "hostPort": 0, "protocol": "tcp"}
    ]


def test_task_cpu_and_memory_are_normalised_to_integer_strings() -> None:
    definition = seed()
    definition.update(cpu="0.25 vCPU", memory="0.5GB")
    described = described_task_definition(definition, REG)
    assert (described["cpu"], described["memory"]) == ("256", "512")
    assert described["compatibilities"] == ["EC2", "FARGATE"]


def test_required_attributes_follow_the_features_a_definition_uses() -> None:
    names = [a["name"] for a in described_task_definition(seed(), REG)["requiresAttributes"]]
    assert names == [
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
        "com.amazonaws.ecs.capability.docker-remote-api.1.24",
        "ecs.capability.task-eni",
        "ecs.capability.container-health-check",
        "ecs.capability.container-ordering",
    ]
    plain = {"family": "p", "containerDefinitions": [{"name": "a", "image": "busybox"}]}
    assert described_task_definition(plain, REG)["requiresAttributes"] == []
