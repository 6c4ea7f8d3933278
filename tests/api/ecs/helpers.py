"""Shared bits of the ECS contract tests: the seed definitions and how to run one."""

from __future__ import annotations

import copy
from typing import Any

from tests.unit.model.ecs.cases import seed

NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-1"]}}


def register(ecs: Any, family: str = "appmesh-gateway", **changes: Any) -> dict[str, Any]:
    definition = copy.deepcopy(seed())
    definition.update(family=family, **changes)
    return ecs.register_task_definition(**definition)["taskDefinition"]  # type: ignore[no-any-return]


def run(ecs: Any, family: str = "appmesh-gateway", **kwargs: Any) -> list[dict[str, Any]]:
    kwargs.setdefault("networkConfiguration", NETWORK)
    out = ecs.run_task(taskDefinition=family, **kwargs)
    assert out["failures"] == []
    return out["tasks"]  # type: ignore[no-any-return]


def error(raised: Any) -> tuple[str, str]:
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"]
