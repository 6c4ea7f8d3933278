"""ECS services through boto3, against a server without the task runtime: the scheduler still
starts and stops the service's tasks (they wait in PROVISIONING, as RunTask's do), so CRUD,
deployments, events, draining and the errors are all visible through the API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.api.ecs.helpers import NETWORK, error, register
from tests.conftest import REGION, ServerProcess, aws_cli

T = TypeVar("T")
FAST = {"Delay": 1, "MaxAttempts": 20}


def until(probe: Callable[[], T], check: Callable[[T], Any] = bool, timeout: float = 10.0) -> T:
    """The first answer of `probe` that passes `check`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def create(ecs: Any, name: str = "web", desired: int = 2, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("taskDefinition", "appmesh-gateway")
    kwargs.setdefault("networkConfiguration", NETWORK)
    return ecs.create_service(serviceName=name, desiredCount=desired, **kwargs)["service"]  # type: ignore[no-any-return]


def describe(ecs: Any, name: str = "web", **kwargs: Any) -> dict[str, Any]:
    return ecs.describe_services(services=[name], **kwargs)["services"][0]  # type: ignore[no-any-return]


def service_tasks(ecs: Any, name: str = "web") -> list[dict[str, Any]]:
    arns = ecs.list_tasks(serviceName=name)["taskArns"]
    return ecs.describe_tasks(tasks=arns)["tasks"] if arns else []  # type: ignore[no-any-return]


@pytest.fixture
def seeded(ecs: Any) -> dict[str, Any]:
    return register(ecs)


def test_create_service_stores_ecs_defaults_and_one_primary_deployment(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    service = create(ecs, healthCheckGracePeriodSeconds=15)
    assert service["status"] == "ACTIVE"
    assert service["serviceArn"].endswith(":service/default/web")
    assert service["clusterArn"].endswith(":cluster/default")
    assert service["taskDefinition"] == seeded["taskDefinitionArn"]
    assert service["desiredCount"] == 2
    assert service["launchType"] == "EC2"
    assert service["schedulingStrategy"] == "REPLICA"
    assert service["deploymentController"] == {"type": "ECS"}
    assert service["serviceRegistries"] == []
    assert service["healthCheckGracePeriodSeconds"] == 15
    assert service["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    (deployment,) = service["deployments"]
    assert re.fullmatch(r"ecs-svc/\d{19}", deployment["id"])
    assert deployment["status"] == "PRIMARY"
    assert deployment["rolloutState"] == "IN_PROGRESS"
    assert deployment["rolloutStateReason"] == f"ECS deployment {deployment['id']} in progress."
    assert deployment["desiredCount"] == 2
    assert deployment["failedTasks"] == 0
    assert deployment["networkConfiguration"] == NETWORK


def test_the_scheduler_starts_the_desired_tasks_in_the_service_group(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    create(ecs, desired=2)
    service = until(lambda: describe(ecs), lambda s: s["pendingCount"] == 2)
    deployment = service["deployments"][0]
    assert deployment["pendingCount"] == 2
    assert service["runningCount"] == 0
    tasks = service_tasks(ecs)
    assert len(tasks) == 2
    for task in tasks:
        assert task["group"] == "service:web"
        assert task["startedBy"] == deployment["id"]
        assert task["taskDefinitionArn"] == seeded["taskDefinitionArn"]
        assert task["lastStatus"] == "PROVISIONING"  # no runtime here
    ids = sorted(t["taskArn"].rsplit("/", 1)[-1] for t in tasks)
    (event,) = service["events"]
    assert event["message"].startswith("(service web) has started 2 tasks: (task ")
    assert sorted(re.findall(r"\(task (\w+)\)", event["message"])) == ids
    assert event["message"].endswith(").")


def test_an_awsvpc_service_needs_a_network_configuration_as_run_task_does(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.create_service(serviceName="web", taskDefinition="appmesh-gateway", desiredCount=1)
    assert error(raised) == (
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    )
    assert ecs.list_services()["serviceArns"] == []


def test_an_unknown_task_definition_is_refused(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        create(ecs, taskDefinition="nope:1")
    assert error(raised) == ("InvalidParameterException", "TaskDefinition not found.")


def test_creating_an_existing_service_again_is_not_idempotent(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    create(ecs)
    with pytest.raises(ClientError) as raised:
        create(ecs)
    assert error(raised) == (
        "InvalidParameterException",
        "Creation of service was not idempotent.",
    )


def test_a_repeated_client_token_returns_the_same_service(ecs: Any, seeded: dict[str, Any]) -> None:
    first = create(ecs, clientToken="token-1")
    again = create(ecs, clientToken="token-1")
    assert again["serviceArn"] == first["serviceArn"]
    assert again["deployments"][0]["id"] == first["deployments"][0]["id"]


def test_the_daemon_strategy_refuses_a_desired_count(ecs: Any, seeded: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        create(ecs, schedulingStrategy="DAEMON")
    assert error(raised) == (
        "InvalidParameterException",
        "The daemon scheduling strategy does not support a desired count for services. Remove "
        "the desired count value and try again",
    )


def test_a_daemon_service_runs_one_task_on_this_host(ecs: Any, seeded: dict[str, Any]) -> None:
    service = ecs.create_service(
        serviceName="agent",
        taskDefinition="appmesh-gateway",
        schedulingStrategy="DAEMON",
        networkConfiguration=NETWORK,
    )["service"]
    assert service["desiredCount"] == 1
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    assert service["deploymentConfiguration"]["maximumPercent"] == 100
    until(lambda: describe(ecs, "agent")["pendingCount"] == 1)


def test_unknown_clusters_are_reported_by_every_service_operation(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    calls = [
        lambda: create(ecs, cluster="nowhere"),
        lambda: ecs.describe_services(cluster="nowhere", services=["web"]),
        lambda: ecs.list_services(cluster="nowhere"),
        lambda: ecs.update_service(cluster="nowhere", service="web", desiredCount=1),
        lambda: ecs.delete_service(cluster="nowhere", service="web"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert error(raised) == ("ClusterNotFoundException", "Cluster not found.")


def test_describe_reports_unknown_services_as_missing(ecs: Any, seeded: dict[str, Any]) -> None:
    created = create(ecs)
    out = ecs.describe_services(services=["web", "ghost"])
    assert [s["serviceArn"] for s in out["services"]] == [created["serviceArn"]]
    assert out["failures"] == [
        {"arn": created["serviceArn"].replace("/web", "/ghost"), "reason": "MISSING"}
    ]
    by_arn = ecs.describe_services(services=[created["serviceArn"]])["services"]
    assert by_arn[0]["serviceName"] == "web"


def test_list_services_pages_and_filters(ecs: Any, seeded: dict[str, Any]) -> None:
    register(ecs, family="fargate", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
    names = [f"svc-{i}" for i in range(5)]
    arns = [create(ecs, name, desired=0)["serviceArn"] for name in names]
    fargate = ecs.create_service(
        serviceName="on-fargate",
        taskDefinition="fargate",
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration=NETWORK,
    )["service"]
    assert fargate["platformVersion"] == "LATEST"
    paginator = ecs.get_paginator("list_services")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["serviceArns"]) for p in pages] == [2, 2, 2]
    assert [a for p in pages for a in p["serviceArns"]] == [*arns, fargate["serviceArn"]]
    assert ecs.list_services(launchType="FARGATE")["serviceArns"] == [fargate["serviceArn"]]
    assert ecs.list_services(launchType="EC2")["serviceArns"] == arns
    assert ecs.list_services(schedulingStrategy="DAEMON")["serviceArns"] == []


def test_update_of_an_unknown_service_is_service_not_found(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.update_service(service="ghost", desiredCount=1)
    assert error(raised) == ("ServiceNotFoundException", "Service not found.")
    with pytest.raises(ClientError) as raised:
        ecs.delete_service(service="ghost")
    assert error(raised) == ("ServiceNotFoundException", "Service not found.")


def test_a_new_task_definition_revision_makes_a_new_primary_deployment(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    first = create(ecs, desired=2)["deployments"][0]
    revision = register(ecs)
    updated = ecs.update_service(service="web", taskDefinition="appmesh-gateway")["service"]
    assert updated["taskDefinition"] == revision["taskDefinitionArn"]
    primary, old = updated["deployments"]
    assert (primary["status"], old["status"]) == ("PRIMARY", "ACTIVE")
    assert old["id"] == first["id"]
    assert primary["id"] != first["id"]
    assert primary["taskDefinition"] == revision["taskDefinitionArn"]
    assert primary["rolloutState"] == "IN_PROGRESS"
    # Old tasks that never ran are not healthy, so they go at once; the new ones replace them.
    service = until(lambda: describe(ecs), lambda s: len(s["deployments"]) == 1)
    assert service["deployments"][0]["id"] == primary["id"]
    tasks = until(lambda: service_tasks(ecs), lambda t: len(t) == 2)
    assert {t["startedBy"] for t in tasks} == {primary["id"]}


def test_force_new_deployment_and_desired_count_changes(ecs: Any, seeded: dict[str, Any]) -> None:
    first = create(ecs, desired=1)["deployments"][0]
    scaled = ecs.update_service(service="web", desiredCount=3)["service"]
    assert [d["id"] for d in scaled["deployments"]] == [first["id"]]
    assert scaled["deployments"][0]["desiredCount"] == 3
    until(lambda: describe(ecs)["pendingCount"] == 3)
    forced = ecs.update_service(service="web", forceNewDeployment=True)["service"]
    assert len(forced["deployments"]) == 2
    assert forced["deployments"][0]["taskDefinition"] == first["taskDefinition"]


def test_update_merges_the_deployment_configuration(ecs: Any, seeded: dict[str, Any]) -> None:
    create(ecs, desired=0)
    config = {
        "minimumHealthyPercent": 50,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    updated = ecs.update_service(service="web", deploymentConfiguration=config)["service"]
    assert updated["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 50,
    }
    with pytest.raises(ClientError) as raised:
        ecs.update_service(service="web", deploymentConfiguration={"minimumHealthyPercent": 300})
    assert error(raised)[0] == "InvalidParameterException"


def test_delete_needs_zero_desired_tasks_unless_forced(ecs: Any, seeded: dict[str, Any]) -> None:
    create(ecs, desired=2)
    with pytest.raises(ClientError) as raised:
        ecs.delete_service(service="web")
    assert error(raised) == (
        "InvalidParameterException",
        "The service cannot be stopped while it is scaled above 0.",
    )
    assert describe(ecs)["status"] == "ACTIVE"
    ecs.update_service(service="web", desiredCount=0)
    assert ecs.delete_service(service="web")["service"]["status"] == "DRAINING"


def test_a_forced_delete_drains_the_service_to_inactive(ecs: Any, seeded: dict[str, Any]) -> None:
    created = create(ecs, desired=2)
    until(lambda: len(service_tasks(ecs)) == 2)
    task_arns = [t["taskArn"] for t in service_tasks(ecs)]
    deleted = ecs.delete_service(service="web", force=True)["service"]
    assert (deleted["status"], deleted["desiredCount"]) == ("DRAINING", 0)
    ecs.get_waiter("services_inactive").wait(services=["web"], WaiterConfig=FAST)
    service = describe(ecs)
    assert (service["status"], service["runningCount"], service["pendingCount"]) == (
        "INACTIVE",
        0,
        0,
    )
    assert service["events"][0]["message"].startswith("(service web) has stopped 2 running tasks")
    for task in ecs.describe_tasks(tasks=task_arns)["tasks"]:
        assert task["lastStatus"] == "STOPPED"
        assert task["stopCode"] == "ServiceSchedulerInitiated"
        assert task["stoppedReason"] == (
            f"Scaling activity initiated by (deployment {created['deployments'][0]['id']})"
        )
    assert ecs.list_services()["serviceArns"] == []
    with pytest.raises(ClientError) as raised:
        ecs.update_service(service="web", desiredCount=1)
    assert error(raised) == ("ServiceNotActiveException", "Service was not ACTIVE.")
    with pytest.raises(WaiterError):  # the stable waiter fails fast on an INACTIVE service
        ecs.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    again = create(ecs, desired=1)  # an INACTIVE service's name can be used again
    assert again["status"] == "ACTIVE"
    assert again["deployments"][0]["id"] != created["deployments"][0]["id"]


def test_a_cluster_with_an_active_service_cannot_be_deleted(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    ecs.create_cluster(clusterName="busy")
    create(ecs, cluster="busy", desired=0)
    with pytest.raises(ClientError) as raised:
        ecs.delete_cluster(cluster="busy")
    assert error(raised)[0] == "ClusterContainsServicesException"
    assert ecs.describe_clusters(clusters=["busy"])["clusters"][0]["activeServicesCount"] == 1


def test_a_service_with_nothing_to_run_is_stable_for_the_waiter(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    create(ecs, desired=0)
    ecs.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    # the waiter may pass before the scheduler's first step marks the rollout COMPLETED
    service = until(
        lambda: describe(ecs), lambda s: s["deployments"][0]["rolloutState"] == "COMPLETED"
    )
    assert [e["message"] for e in service["events"]][:1] == [
        "(service web) has reached a steady state."
    ]


def test_service_tags_are_shown_on_request_and_propagated_to_tasks(
    ecs: Any, seeded: dict[str, Any]
) -> None:
    tags = [{"key": "team", "value": "mesh"}]
    created = create(ecs, desired=1, tags=tags, propagateTags="SERVICE")
    assert "tags" not in describe(ecs)
    assert describe(ecs, include=["TAGS"])["tags"] == tags
    (task,) = until(lambda: service_tasks(ecs))
    assert ecs.describe_tasks(tasks=[task["taskArn"]], include=["TAGS"])["tasks"][0]["tags"] == (
        tags
    )
    ecs.tag_resource(resourceArn=created["serviceArn"], tags=[{"key": "env", "value": "dev"}])
    listed = ecs.list_tags_for_resource(resourceArn=created["serviceArn"])["tags"]
    assert listed == [*tags, {"key": "env", "value": "dev"}]


def aws(server: ServerProcess, account: str, *args: str) -> str:
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
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_aws_cli_creates_waits_for_and_deletes_a_service(
    api_server: ServerProcess, account: str, ecs: Any, seeded: dict[str, Any]
) -> None:
    created = json.loads(
        aws(
            api_server,
            account,
            "create-service",
            "--service-name",
            "cli",
            "--task-definition",
            "appmesh-gateway",
            "--desired-count",
            "0",
            "--network-configuration",
            "awsvpcConfiguration={subnets=[subnet-1]}",
        )
    )["service"]
    assert created["status"] == "ACTIVE"
    aws(api_server, account, "wait", "services-stable", "--services", "cli")
    listed = json.loads(aws(api_server, account, "list-services"))["serviceArns"]
    assert listed == [created["serviceArn"]]
    deleted = json.loads(aws(api_server, account, "delete-service", "--service", "cli"))
    assert deleted["service"]["status"] == "DRAINING"
    aws(api_server, account, "wait", "services-inactive", "--services", "cli")
    assert describe(ecs, "cli")["status"] == "INACTIVE"
