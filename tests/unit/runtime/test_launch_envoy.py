"""The built-in aws-appmesh-envoy image: the Preparer runs the sidecar agent for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshway.runtime.images import Catalog, Image
from meshway.runtime.launch import Preparer
from meshway.runtime.supervisor import LaunchError
from meshway.service.ecs import ClaimedTask

SEED = Path(__file__).parents[2] / "data" / "seed" / "appmesh-task-definition.json"
TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/default/0123456789abcdef0123456789abcdef"


def seed_envoy() -> dict[str, Any]:
    definition = json.loads(SEED.read_text())
    return next(c for c in definition["containerDefinitions"] if c["name"] == "envoy")


def claimed(overrides: dict[str, Any] | None = None) -> ClaimedTask:
    task = {"taskArn": TASK_ARN, "overrides": overrides or {}}
    return ClaimedTask(task=task, task_definition={})


def agent(account: str) -> list[str]:
    return ["/usr/bin/python3", "-E", "-s", "/srv/sidecar/agent.py", "--account", account]


def test_the_envoy_image_runs_the_sidecar_agent_as_the_containers_user() -> None:
    launch = Preparer(Catalog(), agent)(claimed(), seed_envoy())
    assert launch.argv == tuple(agent("111122223333"))
    assert launch.user == "1337" and launch.container == "envoy"
    assert launch.env["APPMESH_VIRTUAL_NODE_NAME"] == "mesh/meshName/virtualNode/virtualNodeName"
    assert launch.env["AWS_REGION"] == "us-west-2"


def test_a_command_given_for_the_envoy_image_does_not_replace_the_agent() -> None:
    definition = {**seed_envoy(), "command": ["sleep", "1"], "entryPoint": ["/bin/sh"]}
    debug = [{"name": "ENVOY_LOG_LEVEL", "value": "debug"}]
    overrides = {
        "containerOverrides": [{"name": "envoy", "command": ["true"], "environment": debug}]
    }
    launch = Preparer(Catalog(), agent)(claimed(overrides), definition)
    assert launch.argv == tuple(agent("111122223333"))
    assert launch.env["ENVOY_LOG_LEVEL"] == "debug"


def test_a_catalog_entry_for_the_envoy_image_still_wins() -> None:
    definition = seed_envoy()
    standin = Image(reference=definition["image"], entry_point=("/usr/bin/python3", "standin.py"))
    launch = Preparer(Catalog({definition["image"]: standin}), agent)(claimed(), definition)
    assert launch.argv == ("/usr/bin/python3", "standin.py")


def test_without_a_sidecar_the_envoy_image_cannot_start() -> None:
    with pytest.raises(LaunchError, match="CannotStartContainerError"):
        Preparer(Catalog())(claimed(), seed_envoy())
