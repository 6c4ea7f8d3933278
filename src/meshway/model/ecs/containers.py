"""Container-definition rules of RegisterTaskDefinition, one check per rule, ECS's messages.

Messages marked "verified" in reference/ecs.md §2.1 are AWS's exact text; the others follow the
nearest verified wording and are marked `# unverified` where they are written.
Neighbours: `taskdef` runs these in order; `dependencies` and `proxy` check the graph and the
proxy configuration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core.errors import ClientException
from meshway.model.ecs.arns import is_name

Container = Mapping[str, Any]

MAX_CONTAINERS = 10
# Docs: letters, digits, hyphens, underscores, colons, periods, slashes, number signs; `@` digests.
_IMAGE = re.compile(r"^[A-Za-z0-9\-_:./#@]+$")

# (field, minimum, maximum, ECS default) — model doc of HealthCheck; startPeriod has no default.
HEALTH_CHECK_LIMITS: tuple[tuple[str, int, int, int | None], ...] = (
    ("interval", 5, 300, 30),
    ("timeout", 2, 60, 5),
    ("retries", 1, 10, 3),
    ("startPeriod", 0, 300, None),
)


def check_container_list(containers: Sequence[Container]) -> None:
    if not containers:
        raise ClientException("Container list cannot be empty.")
    if len(containers) > MAX_CONTAINERS:
        raise ClientException("Too many containers.")


def check_name_and_image(container: Container) -> None:
    name, image = container.get("name"), container.get("image")
    if not name:
        raise ClientException("Container.name should not be null or empty.")
    if not is_name(name):
        raise ClientException("Container.name contains invalid characters.")
    if not image:
        raise ClientException("Container.image should not be null or empty.")
    if _IMAGE.match(image) is None:
        raise ClientException("Container.image contains invalid characters.")


def check_unique_names(containers: Sequence[Container]) -> None:
    names = [c["name"] for c in containers]
    if len(set(names)) != len(names):
        raise ClientException("Container names must be unique within a Task Definition.")


def is_essential(container: Container) -> bool:
    """`essential` defaults to true when omitted."""
    return container.get("essential") is not False


def check_essential(containers: Sequence[Container]) -> None:
    if not any(is_essential(c) for c in containers):
        raise ClientException("Task definition doesn't have any essential container.")


def check_memory(container: Container, task_memory: int | None) -> None:
    name = container["name"]
    memory, reservation = container.get("memory"), container.get("memoryReservation")
    if task_memory is None and memory is None and reservation is None:
        raise ClientException(
            f"Invalid setting for container '{name}'. "
            "At least one of 'memory' or 'memoryReservation' must be specified."
        )
    if memory is not None and reservation is not None and memory <= reservation:
        raise ClientException(  # unverified wording; the rule is the model doc's
            f"Invalid setting for container '{name}'. "
            "'memory' must be greater than 'memoryReservation'."
        )
    if task_memory is not None and memory is not None and memory > task_memory:
        raise ClientException(
            f"The 'memory' setting for container '{name}' is greater than for the task."
        )
    if task_memory is not None and reservation is not None and reservation > task_memory:
        raise ClientException(  # unverified: by analogy with the 'memory' message
            f"The 'memoryReservation' setting for container '{name}' is greater than for the task."
        )


def check_health_check(container: Container) -> None:
    check = container.get("healthCheck")
    if check is None:
        return
    name = container["name"]
    for field, low, high, _ in HEALTH_CHECK_LIMITS:
        value = check.get(field)
        if value is None:
            continue
        if value > high:
            raise ClientException(
                f"Health check {field} must be less than or equal to the maximum allowed value "
                f"{high} for container '{name}'"
            )
        if value < low:
            raise ClientException(  # unverified: mirrors the verified maximum message
                f"Health check {field} must be greater than or equal to the minimum allowed value "
                f"{low} for container '{name}'"
            )


def check_awsvpc_ports(container: Container) -> None:
    for mapping in container.get("portMappings") or ():
        host = mapping.get("hostPort")
        if host is not None and host != mapping.get("containerPort"):
            raise ClientException(
                "When networkMode=awsvpc, the host ports and container ports in port mappings "
                "must match."
            )


def check_awsvpc_links(container: Container) -> None:
    if container.get("links"):
        raise ClientException("Links are not supported when networkMode=awsvpc.")  # unverified


def container_with_defaults(container: Container, network_mode: str) -> dict[str, Any]:
    """The container as DescribeTaskDefinition shows it: what went in, plus ECS's defaults."""
    out: dict[str, Any] = {
        "cpu": 0,
        "portMappings": [],
        "essential": True,
        "environment": [],
        "mountPoints": [],
        "volumesFrom": [],
    }
    out.update({k: v for k, v in container.items() if v is not None})
    out["portMappings"] = [_port_with_defaults(p, network_mode) for p in out["portMappings"]]
    if "healthCheck" in out:
        out["healthCheck"] = _health_check_with_defaults(out["healthCheck"])
    return out


def _port_with_defaults(mapping: Mapping[str, Any], network_mode: str) -> dict[str, Any]:
    out = dict(mapping)
    if "containerPort" in out and "hostPort" not in out:
        # awsvpc and host mode publish the container port itself; bridge picks one (shown as 0).
        out["hostPort"] = out["containerPort"] if network_mode in ("awsvpc", "host") else 0
    out.setdefault("protocol", "tcp")
    return out


def _health_check_with_defaults(check: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(check)
    for field, _, _, default in HEALTH_CHECK_LIMITS:
        if default is not None:
            out.setdefault(field, default)
    return out
