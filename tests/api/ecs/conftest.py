"""The ECS contract tests' server: the task runtime off.

These tests pin the ECS API's own behaviour: a task stays where RunTask put it until StopTask.
A task runtime (on by default when the server runs as root) would move tasks on by itself, so
this directory has its own session server started with `--no-runtime`, and its `ecs` client
talks to it. What the runtime does to the same records is tested with the runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("ecs-api")
    proc = ServerProcess(root / "data", free_port(), ("--no-runtime",)).start()
    yield proc
    proc.stop()


@pytest.fixture
def ecs(api_server: ServerProcess, account: str) -> Any:
    return api_server.client("ecs", aws_access_key_id=account)
