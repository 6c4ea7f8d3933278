"""The built-in aws-xray-daemon image: the Preparer runs Meshway's daemon for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshway.runtime.images import Catalog, Image
from meshway.runtime.launch import Preparer
from meshway.runtime.supervisor import LaunchError
from meshway.service.ecs import ClaimedTask
from meshway.xray.install import DaemonFiles

SEED = Path(__file__).parents[2] / "data" / "seed" / "appmesh-task-definition-xray.json"
TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/default/0123456789abcdef0123456789abcdef"
FILES = DaemonFiles(python="/usr/bin/python3", daemon="/srv/xray/daemon.py")
ENDPOINT = "http://198.18.0.1:7700"


def seed_daemon() -> dict[str, Any]:
    definition = json.loads(SEED.read_text())
    return next(c for c in definition["containerDefinitions"] if c["name"] == "xray-daemon")


def claimed(overrides: dict[str, Any] | None = None) -> ClaimedTask:
    return ClaimedTask(task={"taskArn": TASK_ARN, "overrides": overrides or {}}, task_definition={})


def program(account: str) -> tuple[str, ...]:
    return FILES.argv(ENDPOINT, account)


def test_the_seeds_daemon_runs_meshways_daemon_bound_to_the_tasks_loopback() -> None:
    launch = Preparer(Catalog(), None, program)(claimed(), seed_daemon())
    assert launch.argv == (
        *("/usr/bin/python3", "-E", "-s", "/srv/xray/daemon.py"),
        *("-t", "127.0.0.1:2000", "-b", "127.0.0.1:2000"),
        *("--default-endpoint", ENDPOINT, "--account", "111122223333"),
    )
    assert launch.user == "1337" and launch.container == "xray-daemon"
    assert launch.env["AWS_REGION"] == "us-west-2"


@pytest.mark.parametrize(
    "image", ["public.ecr.aws/xray/aws-xray-daemon:3.x", "amazon/aws-xray-daemon:latest"]
)
def test_every_repository_ending_in_aws_xray_daemon_is_the_daemon(image: str) -> None:
    launch = Preparer(Catalog(), None, program)(claimed(), {**seed_daemon(), "image": image})
    assert launch.argv[3] == "/srv/xray/daemon.py"


def test_the_containers_command_adds_daemon_flags_and_its_entry_point_is_ignored() -> None:
    definition = {**seed_daemon(), "entryPoint": ["/bin/sh"], "command": ["-o", "-n", "eu-west-1"]}
    launch = Preparer(Catalog(), None, program)(claimed(), definition)
    assert launch.argv == (*program("111122223333"), "-o", "-n", "eu-west-1")
    overrides = {"containerOverrides": [{"name": "xray-daemon", "command": ["-l", "debug"]}]}
    launch = Preparer(Catalog(), None, program)(claimed(overrides), definition)
    assert launch.argv[-2:] == ("-l", "debug")


def test_a_catalog_entry_for_the_daemon_image_still_wins() -> None:
    definition = seed_daemon()
    standin = Image(reference=definition["image"], entry_point=("/bin/sleep", "60"))
    launch = Preparer(Catalog({definition["image"]: standin}), None, program)(claimed(), definition)
    assert launch.argv == ("/bin/sleep", "60")


def test_without_the_daemon_installed_the_image_cannot_start() -> None:
    with pytest.raises(LaunchError, match="CannotStartContainerError"):
        Preparer(Catalog())(claimed(), seed_daemon())
