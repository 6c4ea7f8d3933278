"""Service references, ECS's deployment-configuration defaults and bounds, and the view whose
counts come from the tasks."""

from __future__ import annotations

import pytest

from meshway.model.ecs.arns import Scope
from meshway.model.ecs.services import (
    TaskView,
    bounds,
    breaker_threshold,
    deployment_configuration,
    parse_service_ref,
    percent_problem,
    service_arn,
    service_view,
)
from meshway.model.ecs.tasks import HealthStatus, TaskStatus

SCOPE = Scope(region="us-west-2", account="123456789012")


def test_service_arns_use_the_long_format() -> None:
    assert service_arn(SCOPE, "default", "web") == (
        "arn:aws:ecs:us-west-2:123456789012:service/default/web"
    )


@pytest.mark.parametrize(
    ("text", "name", "cluster"),
    [
        ("web", "web", None),
        ("arn:aws:ecs:us-west-2:123456789012:service/prod/web", "web", "prod"),
        ("arn:aws:ecs:us-west-2:123456789012:service/web", "web", None),
    ],
)
def test_a_service_is_named_by_name_or_either_arn_form(
    text: str, name: str, cluster: str | None
) -> None:
    ref = parse_service_ref(text)
    assert ref is not None
    assert (ref.name, ref.cluster) == (name, cluster)


@pytest.mark.parametrize(
    "text", ["", "bad name", "arn:aws:ecs:us-west-2:1:task/default/abc", "arn:aws:s3:::bucket"]
)
def test_other_text_is_not_a_service_reference(text: str) -> None:
    assert parse_service_ref(text) is None


def test_replica_and_daemon_defaults_differ() -> None:
    replica = deployment_configuration(None, "REPLICA")
    daemon = deployment_configuration(None, "DAEMON")
    assert (replica["minimumHealthyPercent"], replica["maximumPercent"]) == (100, 200)
    assert (daemon["minimumHealthyPercent"], daemon["maximumPercent"]) == (0, 100)
    assert replica["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}


def test_given_values_override_the_current_configuration() -> None:
    current = deployment_configuration({"maximumPercent": 150}, "REPLICA")
    updated = deployment_configuration({"minimumHealthyPercent": 50}, "REPLICA", current)
    assert (updated["minimumHealthyPercent"], updated["maximumPercent"]) == (50, 150)


def test_the_minimum_rounds_up_and_the_maximum_down() -> None:
    config = {"minimumHealthyPercent": 50, "maximumPercent": 150}
    assert bounds(3, config) == (2, 4)
    assert bounds(0, config) == (0, 0)


def test_a_maximum_below_the_minimum_is_a_problem() -> None:
    assert percent_problem({"minimumHealthyPercent": 100, "maximumPercent": 50}) is not None
    assert percent_problem({"minimumHealthyPercent": 100, "maximumPercent": 200}) is None


@pytest.mark.parametrize(("desired", "threshold"), [(1, 3), (4, 3), (10, 5), (1000, 200)])
def test_the_circuit_breaker_threshold_is_half_within_3_and_200(
    desired: int, threshold: int
) -> None:
    assert breaker_threshold(desired) == threshold


def view(deployment: str, status: TaskStatus, *, wanted: bool = True) -> TaskView:
    return TaskView(
        arn=f"arn:aws:ecs:us-west-2:1:task/default/{deployment}{status}",
        deployment=deployment,
        last_status=status,
        wanted=wanted,
        health=HealthStatus.UNKNOWN,
        checked=False,
        started_at=1.0 if status == TaskStatus.RUNNING else None,
        created_at=1.0,
        stop_code=None,
    )


def test_counts_come_from_the_tasks_per_deployment_too() -> None:
    body = {
        "serviceName": "web",
        "desiredCount": 2,
        "tags": [{"key": "a", "value": "b"}],
        "_tasks": {"x": "new"},
        "deployments": [
            {"id": "new", "status": "PRIMARY", "desiredCount": 2},
            {"id": "old", "status": "ACTIVE", "desiredCount": 2},
        ],
    }
    tasks = [
        view("new", TaskStatus.RUNNING),
        view("new", TaskStatus.PROVISIONING),
        view("old", TaskStatus.RUNNING, wanted=False),
    ]
    out = service_view(body, tasks, tags=False)
    assert (out["runningCount"], out["pendingCount"]) == (2, 1)
    new, old = out["deployments"]
    assert (new["runningCount"], new["pendingCount"], new["desiredCount"]) == (1, 1, 2)
    assert (old["runningCount"], old["pendingCount"], old["desiredCount"]) == (1, 0, 0)
    assert "tags" not in out and "_tasks" not in out
