"""RegisterTaskDefinition as a pure function: check the input, then build what describe shows.

`validate_registration` raises `ClientException` with ECS's message for the first broken rule
(order: family, container list, each container, names, essentials, Fargate, memory, ports,
health checks, links, dependsOn, proxy). `described_task_definition` is the stored document: the
input verbatim plus the defaults AWS fills in (container `cpu: 0`, `essential: true`, empty
lists, health-check interval/timeout/retries, `networkMode: bridge`, cpu/memory normalised to
integer strings) and the registration facts (ARN, revision, status, compatibilities,
registeredAt/By).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshway.core.errors import ClientException
from meshway.model.ecs import containers as rules
from meshway.model.ecs.arns import is_name
from meshway.model.ecs.dependencies import check_depends_on, check_links
from meshway.model.ecs.proxy import check_proxy_configuration
from meshway.model.ecs.units import cpu_units, memory_mib

# Members of RegisterTaskDefinition that belong to the task definition itself (not `tags`).
DEFINITION_MEMBERS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
)

# Fargate's task cpu → allowed memory (MiB), from the TaskDefinition model doc.
_FARGATE_MEMORY: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


def network_mode(definition: Mapping[str, Any]) -> str:
    return str(definition.get("networkMode") or "bridge")


def validate_registration(definition: Mapping[str, Any]) -> None:
    family = definition.get("family") or ""
    if not is_name(family):
        raise ClientException("Family contains invalid characters.")
    containers: Sequence[Mapping[str, Any]] = definition.get("containerDefinitions") or []
    rules.check_container_list(containers)
    for container in containers:
        rules.check_name_and_image(container)
    rules.check_unique_names(containers)
    rules.check_essential(containers)
    task_memory = _task_memory(definition)
    _task_cpu(definition)
    mode = network_mode(definition)
    if "FARGATE" in (definition.get("requiresCompatibilities") or ()):
        _check_fargate(definition, mode)
    for container in containers:
        rules.check_memory(container, task_memory)
        if mode == "awsvpc":
            rules.check_awsvpc_ports(container)
            rules.check_awsvpc_links(container)
        rules.check_health_check(container)
    check_links(containers)
    check_depends_on(containers)
    check_proxy_configuration(definition.get("proxyConfiguration"), mode, containers)


def _task_memory(definition: Mapping[str, Any]) -> int | None:
    text = definition.get("memory")
    if text is None:
        return None
    mib = memory_mib(text)
    if mib is None:
        raise ClientException(f"Invalid 'memory' setting for task: {text}")  # unverified
    return mib


def _task_cpu(definition: Mapping[str, Any]) -> int | None:
    text = definition.get("cpu")
    if text is None:
        return None
    units = cpu_units(text)
    if units is None:
        raise ClientException(f"Invalid 'cpu' setting for task: {text}")  # unverified
    return units


def _check_fargate(definition: Mapping[str, Any], mode: str) -> None:
    if mode != "awsvpc":
        raise ClientException("Fargate only supports network mode \u2018awsvpc\u2019.")
    cpu, memory = _task_cpu(definition), _task_memory(definition)
    if cpu is None:
        raise ClientException("Fargate requires that 'cpu' be defined at the task level.")
    if memory is None:
        raise ClientException("Fargate requires that 'memory' be defined at the task level.")
    if memory not in _FARGATE_MEMORY.get(cpu, range(0)):
        raise ClientException("No Fargate configuration exists for given values.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    arn: str
    revision: int
    registered_at: float
    registered_by: str


def described_task_definition(
    definition: Mapping[str, Any], registration: Registration
) -> dict[str, Any]:
    """The task definition as DescribeTaskDefinition returns it (wire form)."""
    mode = network_mode(definition)
    out: dict[str, Any] = {
        key: definition[key] for key in DEFINITION_MEMBERS if definition.get(key) is not None
    }
    out["containerDefinitions"] = [
        rules.container_with_defaults(c, mode) for c in definition["containerDefinitions"]
    ]
    out["networkMode"] = mode
    out.setdefault("volumes", [])
    out.setdefault("placementConstraints", [])
    if "cpu" in out:
        out["cpu"] = str(_task_cpu(definition))
    if "memory" in out:
        out["memory"] = str(_task_memory(definition))
    out.update(
        taskDefinitionArn=registration.arn,
        revision=registration.revision,
        status="ACTIVE",
        compatibilities=compatibilities(out),
        requiresAttributes=requires_attributes(out),
        registeredAt=registration.registered_at,
        registeredBy=registration.registered_by,
    )
    return out


def compatibilities(definition: Mapping[str, Any]) -> list[str]:
    """Launch types this definition can run on, as ECS computes them: EC2 always; EXTERNAL
    without awsvpc; FARGATE with awsvpc and a valid task cpu/memory pair."""
    mode = definition.get("networkMode", "bridge")
    found = ["EC2"]
    if mode != "awsvpc":
        found.insert(0, "EXTERNAL")
    cpu, memory = definition.get("cpu"), definition.get("memory")
    if mode == "awsvpc" and cpu and memory and int(memory) in _FARGATE_MEMORY.get(int(cpu), ()):
        found.append("FARGATE")
    return found


def requires_attributes(definition: Mapping[str, Any]) -> list[dict[str, str]]:
    """The agent capabilities a definition needs, named as the ECS agent registers them (a real
    awsvpc describe shows `docker-remote-api.1.18` and `task-eni`; health checks need Docker's
    API 1.24, where HEALTHCHECK arrived)."""
    containers = definition["containerDefinitions"]
    awsvpc = definition.get("networkMode") == "awsvpc"
    health = any(c.get("healthCheck") for c in containers)
    needed = [
        (awsvpc, "com.amazonaws.ecs.capability.docker-remote-api.1.18"),
        (health, "com.amazonaws.ecs.capability.docker-remote-api.1.24"),
        (awsvpc, "ecs.capability.task-eni"),
        (health, "ecs.capability.container-health-check"),
        (any(c.get("dependsOn") for c in containers), "ecs.capability.container-ordering"),
    ]
    return [{"name": name} for wanted, name in needed if wanted]
