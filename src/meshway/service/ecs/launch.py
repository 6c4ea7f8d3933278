"""What RunTask and StartTask settle before a task exists: the cluster, the task definition is
ACTIVE, the network configuration fits its networkMode, overrides name real containers, the
launch type is one the definition is compatible with, where the task runs, and whether a
clientToken already answered this request. Messages are ECS's (reference/ecs.md §2.1) where
known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from meshway.core.errors import ClientException, InvalidParameterException
from meshway.model.ecs.arns import Scope
from meshway.service.ecs.base import active_cluster, host_instance_arn
from meshway.service.ecs.task_definitions import lookup
from meshway.store.base import Record, Transaction

FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
FARGATE_LATEST = "1.4.0"  # what LATEST resolves to for Linux tasks


def resolve_for_launch(tx: Transaction, scope: Scope, ref: str) -> Record:
    record = lookup(tx, scope, ref)
    if record is None:
        raise InvalidParameterException("TaskDefinition not found.")
    if record.body["status"] != "ACTIVE":
        raise InvalidParameterException("TaskDefinition is inactive")
    return record


def check_launch(definition: Mapping[str, Any], members: Mapping[str, Any]) -> None:
    _check_network(definition, members.get("network_configuration"))
    _check_overrides(definition, members.get("overrides") or {})
    launch_type = members.get("launch_type")
    if launch_type and members.get("capacity_provider_strategy"):
        raise InvalidParameterException(
            "Specifying both a launch type and capacity provider strategy is not supported. "
            "Remove one and try again."
        )
    if launch_type and launch_type not in definition.get("compatibilities", ()):
        raise InvalidParameterException(
            f"Task definition does not support launch_type {launch_type}."
        )


def placement(members: Mapping[str, Any], instance: str) -> dict[str, Any]:
    """Launch type and where the task runs: this host's container instance, except on FARGATE,
    where AWS shows a platform version and no instance."""
    strategy = members.get("capacity_provider_strategy") or []
    provider = strategy[0]["capacityProvider"] if strategy else None
    launch_type = members.get("launch_type") or (
        "FARGATE" if provider in FARGATE_PROVIDERS else "EC2"
    )
    out: dict[str, Any] = {"launchType": launch_type}
    if provider:
        out["capacityProviderName"] = provider
    if launch_type == "FARGATE":
        version = members.get("platform_version") or "LATEST"
        out.update(
            platformVersion=FARGATE_LATEST if version == "LATEST" else version,
            platformFamily="Linux",
        )
    else:
        out["containerInstanceArn"] = instance
    return out


def _check_network(definition: Mapping[str, Any], network: Mapping[str, Any] | None) -> None:
    if definition.get("networkMode") != "awsvpc":
        if network:
            raise InvalidParameterException(
                "Network Configuration is not valid for the given networkMode of this task "
                "definition."
            )
        return
    awsvpc = (network or {}).get("awsvpcConfiguration")
    if not awsvpc:
        raise InvalidParameterException(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )
    if not awsvpc.get("subnets"):
        raise InvalidParameterException("subnets can not be empty.")


def _check_overrides(definition: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    names = {c["name"] for c in definition["containerDefinitions"]}
    for override in overrides.get("containerOverrides") or ():
        if override.get("name") not in names:
            raise InvalidParameterException(
                f"Override for container named {override.get('name')} is not a container in "
                "the TaskDefinition."
            )


def fingerprint(members: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(members, option=orjson.OPT_SORT_KEYS)).hexdigest()


def token_scope(scope: Scope, token: str) -> str:
    return f"ecs:RunTask:{scope.key}:{token}"


def recall(
    tx: Transaction, scope: Scope, token: str, request: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The answer given to an earlier RunTask with this clientToken, if it asked the same."""
    remembered = tx.recall(token_scope(scope, token))
    if remembered is None:
        return None
    if remembered[0] != fingerprint(request):
        raise ClientException(  # unverified wording
            "The client token was already used with different parameters."
        )
    return dict(remembered[1])


def prepare(
    tx: Transaction, scope: Scope, task_definition: str, members: Mapping[str, Any]
) -> tuple[Record, Record, str]:
    """The cluster (an implicit `default` is stored now), the ACTIVE task definition after the
    launch checks, and this host's container instance in that cluster."""
    cluster = active_cluster(tx, scope, members.get("cluster"), store=True)
    definition = resolve_for_launch(tx, scope, task_definition)
    check_launch(definition.body, members)
    return cluster, definition, host_instance_arn(scope, cluster.key)
