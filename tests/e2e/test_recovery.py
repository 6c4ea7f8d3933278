"""After `kill -9` of the server, the next start finds what the dead one left (namespaces,
processes, rules), removes it, and reports those tasks STOPPED with a clear reason."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, make_client
from tests.e2e.conftest import netns_names, requires_root, seed_definition

pytestmark = [pytest.mark.e2e, requires_root]

AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
FAST = {"Delay": 1, "MaxAttempts": 60}


def standin_pids() -> set[str]:
    out = subprocess.run(
        ["pgrep", "-f", "envoy_standin.py"], capture_output=True, text=True, check=False
    )
    return set(out.stdout.split())


def test_a_restart_after_kill_9_leaves_no_orphan_and_stops_the_lost_tasks(
    start_server: Callable[..., ServerProcess], catalog: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = start_server("--images", str(catalog), data_dir=data_dir)
    ecs: Any = make_client(first.url, "ecs")
    definition = ecs.register_task_definition(**seed_definition())["taskDefinition"]
    arns = [
        t["taskArn"]
        for t in ecs.run_task(
            taskDefinition=definition["taskDefinitionArn"], networkConfiguration=AWSVPC, count=2
        )["tasks"]
    ]
    ecs.get_waiter("tasks_running").wait(tasks=arns, WaiterConfig=FAST)
    namespaces = {"mw-" + arn.rsplit("/", 1)[-1][:12] for arn in arns}
    assert namespaces <= netns_names()
    orphans = standin_pids()
    assert len(orphans) >= 2

    first.stop(signal.SIGKILL)
    assert namespaces <= netns_names()  # the crash left them behind

    second = start_server("--images", str(catalog), data_dir=data_dir)
    ecs = make_client(second.url, "ecs")
    ecs.get_waiter("tasks_stopped").wait(tasks=arns, WaiterConfig=FAST)
    for task in ecs.describe_tasks(tasks=arns)["tasks"]:
        assert task["lastStatus"] == "STOPPED"
        assert "server stopped while it ran" in task["stoppedReason"]
    assert not namespaces & netns_names()
    assert not orphans & standin_pids()
    # and the restarted runtime runs new tasks on the same addresses without conflict
    again = ecs.run_task(
        taskDefinition=definition["taskDefinitionArn"], networkConfiguration=AWSVPC
    )["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[again], WaiterConfig=FAST)
    ecs.stop_task(task=again)
    ecs.get_waiter("tasks_stopped").wait(tasks=[again], WaiterConfig=FAST)
