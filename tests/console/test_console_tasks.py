"""Tasks and their containers in the console: status, the reason a task stopped, exit codes and
the tail of each container's output, as a person looks for them."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess, make_client
from tests.console.conftest import requires_chromium
from tests.console.meshes import view

pytestmark = requires_chromium

AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}


def busybox_task(family: str, command: str) -> dict[str, Any]:
    return {
        "family": family,
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "busybox",
                "essential": True,
                "memory": 64,
                "command": [command],
            }
        ],
    }


def test_a_stopped_task_shows_the_reason_it_was_stopped(
    server: ServerProcess, ecs: Any, unique: str, page: Page, shoot: Any
) -> None:
    definition = ecs.register_task_definition(**busybox_task(unique[:60], "sleep 60"))
    arn = ecs.run_task(
        taskDefinition=definition["taskDefinition"]["taskDefinitionArn"],
        networkConfiguration=AWSVPC,
    )["tasks"][0]["taskArn"]
    reason = "Scaled in by <b>the console test</b>"
    ecs.stop_task(task=arn, reason=reason)
    task_id = arn.rsplit("/", 1)[-1]
    page.goto(view(server.url, "tasks"))
    row = page.locator(f'[data-testid=tasks] tr[data-task="{task_id}"]')
    expect(row).to_contain_text("STOPPED")
    expect(row.locator("td.reason")).to_have_text(reason)
    row.get_by_role("link").click()
    expect(page.get_by_test_id("stopped-reason")).to_have_text(reason)
    shoot(page, "stopped-task")


@pytest.mark.e2e
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, iptables)")
def test_a_task_whose_essential_container_exits_shows_its_exit_code_and_its_output(
    runtime_server: ServerProcess, page: Page, shoot: Any
) -> None:
    ecs = make_client(runtime_server.url, "ecs")
    command = "echo hello from the console test; echo oops >&2; exit 3"
    definition = ecs.register_task_definition(**busybox_task("console-exit", command))
    arn = ecs.run_task(
        taskDefinition=definition["taskDefinition"]["taskDefinitionArn"],
        networkConfiguration=AWSVPC,
    )["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    task = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    while task["lastStatus"] != "STOPPED" and time.monotonic() < deadline:
        time.sleep(0.3)
        task = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    page.goto(view(runtime_server.url, "task", arn=arn))
    expect(page.get_by_test_id("stopped-reason")).to_have_text(task["stoppedReason"])
    container = page.locator("[data-testid=containers] tr[data-container=app]")
    expect(container.locator("td.exit-code")).to_have_text("3")
    expect(container).to_contain_text("STOPPED")
    logs = page.locator("[data-logs=app]")
    expect(logs.locator("pre[data-stream=stdout]")).to_have_text("hello from the console test")
    expect(logs.locator("pre[data-stream=stderr]")).to_have_text("oops")
    shoot(page, "exited-task")
