"""What CreateService and UpdateService settle before a service changes: the name, the
scheduling strategy and desired count, the deployment controller, the deployment configuration
(ECS's defaults, percents that can work), how tasks are launched, and the members kept as given.
Messages are ECS's where known; the others say `unverified`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshway.core.errors import InvalidParameterException, UnsupportedFeatureException
from meshway.model.ecs.arns import is_name
from meshway.model.ecs.services import (
    DAEMON,
    REPLICA,
    deployment_configuration,
    percent_problem,
)
from meshway.service.ecs.launch import FARGATE_PROVIDERS

NOT_IDEMPOTENT = "Creation of service was not idempotent."
DAEMON_COUNT = (
    "The daemon scheduling strategy does not support a desired count for services. Remove the "
    "desired count value and try again"
)


def launch_fields(members: Mapping[str, Any]) -> dict[str, Any]:
    """How the service's tasks are launched, as its deployments show it."""
    strategy = members.get("capacity_provider_strategy") or []
    out: dict[str, Any] = {}
    if strategy:
        out["capacityProviderStrategy"] = list(strategy)
    else:
        out["launchType"] = members.get("launch_type") or "EC2"
    fargate = out.get("launchType") == "FARGATE" or (
        strategy and strategy[0]["capacityProvider"] in FARGATE_PROVIDERS
    )
    if fargate:
        out["platformVersion"] = members.get("platform_version") or "LATEST"
    if members.get("network_configuration"):
        out["networkConfiguration"] = members["network_configuration"]
    return out


def check_create(
    service_name: str, task_definition: str | None, members: Mapping[str, Any]
) -> None:
    if not is_name(service_name):
        raise InvalidParameterException(  # unverified wording
            "Service name must be 1-255 letters, numbers, hyphens and underscores."
        )
    controller = (members.get("deployment_controller") or {}).get("type", "ECS")
    if controller != "ECS":
        raise UnsupportedFeatureException(
            f"The {controller} deployment controller is not supported by Meshway; use ECS."
        )
    if task_definition is None:
        raise InvalidParameterException(  # unverified wording
            "A task definition is required for the ECS deployment controller."
        )
    strategy = members.get("scheduling_strategy") or REPLICA
    desired = members.get("desired_count")
    if strategy == DAEMON and desired is not None:
        raise InvalidParameterException(DAEMON_COUNT)
    if strategy == REPLICA and desired is None:
        raise InvalidParameterException(  # unverified wording
            "desiredCount is required for services with the REPLICA scheduling strategy."
        )
    if strategy == DAEMON and launch_fields(members).get("launchType") == "FARGATE":
        raise InvalidParameterException(  # unverified wording
            "The daemon scheduling strategy does not support the FARGATE launch type."
        )


def configuration(
    given: Mapping[str, Any] | None, strategy: str, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    config = deployment_configuration(given, strategy, current)
    problem = percent_problem(config)
    if problem is not None:
        raise InvalidParameterException(problem)
    return config


_OPTIONAL = {
    "load_balancers": "loadBalancers",
    "service_registries": "serviceRegistries",
    "placement_constraints": "placementConstraints",
    "placement_strategy": "placementStrategy",
    "health_check_grace_period_seconds": "healthCheckGracePeriodSeconds",
    "enable_ecs_managed_tags": "enableECSManagedTags",
    "propagate_tags": "propagateTags",
    "enable_execute_command": "enableExecuteCommand",
    "role": "roleArn",
    "availability_zone_rebalancing": "availabilityZoneRebalancing",
}


def options(members: Mapping[str, Any]) -> dict[str, Any]:
    """The members kept as given (Cloud Map registries are honoured by a later issue)."""
    return {wire: members[k] for k, wire in _OPTIONAL.items() if members.get(k) is not None}


def launch_changes(members: Mapping[str, Any]) -> dict[str, Any]:
    """The launch settings UpdateService changes (each starts a new deployment)."""
    out: dict[str, Any] = {}
    if members.get("network_configuration") is not None:
        out["networkConfiguration"] = members["network_configuration"]
    if members.get("platform_version") is not None:
        out["platformVersion"] = members["platform_version"]
    if members.get("capacity_provider_strategy"):
        out["capacityProviderStrategy"] = list(members["capacity_provider_strategy"])
    return out
