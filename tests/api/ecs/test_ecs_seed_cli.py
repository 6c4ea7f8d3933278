"""The seed's task definitions, registered verbatim with the real aws CLI, round-trip through
describe: everything that went in comes back, plus the defaults AWS fills in."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest

from tests.conftest import REGION, ServerProcess, aws_cli
from tests.unit.model.ecs.cases import SEED
from tests.unit.model.ecs.test_taskdef_defaults import contains

SEEDS = ["appmesh-task-definition.json", "appmesh-task-definition-xray.json"]


def cli(server: ServerProcess, account: str, *args: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [*aws_cli(), "--endpoint-url", server.url, "--output", "json", "ecs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", SEEDS)
def test_the_seed_registers_verbatim_and_describe_round_trips(
    api_server: ServerProcess, account: str, name: str
) -> None:
    path = SEED / name
    given = json.loads(path.read_text())
    registered = cli(
        api_server, account, "register-task-definition", "--cli-input-json", f"file://{path}"
    )["taskDefinition"]
    described = cli(
        api_server, account, "describe-task-definition", "--task-definition", "appmesh-gateway"
    )["taskDefinition"]
    assert described == registered
    assert contains(described, given)
    # AWS's defaults and registration facts.
    assert described["revision"] == 1
    assert described["status"] == "ACTIVE"
    assert described["taskDefinitionArn"] == (
        f"arn:aws:ecs:{REGION}:{account}:task-definition/appmesh-gateway:1"
    )
    # aws CLI v1 prints the wire's epoch seconds as they came.
    assert abs(described["registeredAt"] - time.time()) < 600
    assert described["volumes"] == [] and described["placementConstraints"] == []
    assert described["compatibilities"] == ["EC2"]
    for container in described["containerDefinitions"]:
        assert container["essential"] is True
        assert container["mountPoints"] == [] and container["volumesFrom"] == []
        assert "cpu" in container and "environment" in container
        for mapping in container["portMappings"]:
            assert mapping["hostPort"] == mapping["containerPort"]
    assert described["containerDefinitions"][0]["cpu"] == 0


def test_the_cli_lists_what_it_registered(api_server: ServerProcess, account: str) -> None:
    for name in SEEDS:
        cli(
            api_server,
            account,
            "register-task-definition",
            "--cli-input-json",
            f"file://{SEED / name}",
        )
    arns = cli(api_server, account, "list-task-definitions")["taskDefinitionArns"]
    assert [arn.rsplit("/", 1)[-1] for arn in arns] == ["appmesh-gateway:1", "appmesh-gateway:2"]
    families = cli(api_server, account, "list-task-definition-families")["families"]
    assert families == ["appmesh-gateway"]
