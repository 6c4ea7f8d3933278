"""`meshway exec TASK CONTAINER -- CMD` on a real task: the command runs in the task's network
namespace, as the container's user, with its environment and working directory, and its exit
code is the command's; a container that is not running is an error."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.e2e.conftest import requires_root

pytestmark = [pytest.mark.e2e, requires_root]

AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
FAST = {"Delay": 1, "MaxAttempts": 60}


def run_sleeper(ecs: Any) -> dict[str, Any]:
    definition = {
        "family": "exec-target",
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "sleeper",
                "image": "busybox",
                "essential": True,
                "memory": 64,
                "user": "65534",
                "workingDirectory": "/tmp",
                "environment": [{"name": "GREETING", "value": "hello from the task"}],
                "command": ["exec sleep 300"],
            },
            {
                "name": "done",
                "image": "busybox",
                "essential": False,
                "memory": 64,
                "command": ["true"],
            },
        ],
    }
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    task_arn = ecs.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[task_arn], WaiterConfig=FAST)
    return ecs.describe_tasks(tasks=[task_arn])["tasks"][0]  # type: ignore[no-any-return]


def meshway_exec(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshway", "exec", "--data-dir", str(server.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_exec_runs_in_the_task_as_its_user_with_its_environment_and_directory(
    runtime_server: ServerProcess, ecs_client: Any
) -> None:
    task = run_sleeper(ecs_client)
    arn = task["taskArn"]
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    try:
        script = 'id -u; id -g; pwd; echo "$GREETING"; ip -o -4 addr show'
        result = meshway_exec(runtime_server, arn, "sleeper", "--", "/bin/sh", "-c", script)
        assert result.returncode == 0, result.stderr
        uid, gid, cwd, greeting, *addresses = result.stdout.splitlines()
        assert (uid, gid, cwd, greeting) == ("65534", "65534", "/tmp", "hello from the task")
        assert any(f"inet {details['privateIPv4Address']}/" in line for line in addresses)

        task_id = arn.rsplit("/", 1)[-1]
        code = meshway_exec(runtime_server, task_id, "sleeper", "--", "sh", "-c", "exit 7")
        assert code.returncode == 7
        missing = meshway_exec(runtime_server, task_id, "sleeper", "--", "no-such-program")
        assert missing.returncode == 1
        assert 'exec: "no-such-program": executable file not found in $PATH' in missing.stderr
        stopped = meshway_exec(runtime_server, task_id, "done", "--", "true")
        assert stopped.returncode == 1
        assert f"container done of task {task_id} is not running" in stopped.stderr
    finally:
        ecs_client.stop_task(task=arn)
        ecs_client.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig=FAST)


def test_exec_in_an_unknown_task_names_the_data_dir(runtime_server: ServerProcess) -> None:
    result = meshway_exec(runtime_server, "0123456789abcdef", "app", "--", "true")
    assert result.returncode == 1
    assert "no task 0123456789abcdef in" in result.stderr
