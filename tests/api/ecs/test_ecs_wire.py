"""The ECS wire format as raw JSON 1.1: epoch-second timestamps and `{"__type", "message"}`
errors, checked on the bytes the server sent rather than on what boto3 made of them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.ecs.helpers import register, run


@pytest.fixture
def raw(ecs: Any) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(
            {
                "status": http_response.status_code,
                "type": http_response.headers.get("content-type"),
                "json": json.loads(http_response.content),
            }
        )

    ecs.meta.events.register("after-call.ecs", keep)
    return bodies


def test_timestamps_are_epoch_seconds_on_the_wire(ecs: Any, raw: list[dict[str, Any]]) -> None:
    register(ecs)
    [task] = run(ecs)
    ecs.stop_task(task=task["taskArn"])
    registered = raw[0]["json"]["taskDefinition"]["registeredAt"]
    stopped = raw[-1]["json"]["task"]
    assert isinstance(registered, float)
    assert all(isinstance(stopped[k], float) for k in ("createdAt", "stoppingAt", "stoppedAt"))
    assert raw[0]["type"] == "application/x-amz-json-1.1"


def test_errors_are_type_and_message(ecs: Any, raw: list[dict[str, Any]]) -> None:
    with pytest.raises(ClientError):
        ecs.describe_task_definition(taskDefinition="nope")
    assert raw[-1]["status"] == 400
    assert raw[-1]["json"] == {
        "__type": "ClientException",
        "message": "Unable to describe task definition.",
    }


def test_internal_fields_never_reach_the_wire(ecs: Any, raw: list[dict[str, Any]]) -> None:
    register(ecs)
    run(ecs)
    text = json.dumps(raw)
    assert '"_' not in text
