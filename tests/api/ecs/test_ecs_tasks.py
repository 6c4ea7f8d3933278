"""Task operations at the API level through boto3 against a real `meshway server`.

No runtime runs in this server yet, so a task stays where RunTask put it (PROVISIONING for
awsvpc) until StopTask; the runtime's reports are covered in tests/unit/service/ecs.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.api.ecs.helpers import NETWORK, error, register, run
from tests.unit.model.ecs.cases import seed


def test_run_task_stores_a_provisioning_task_as_describe_tasks_shows_it(
    ecs: Any, account: str
) -> None:
    td = register(ecs)
    [task] = run(ecs, startedBy="me", group="grp", tags=[{"key": "k", "value": "v"}])
    assert task["taskArn"].startswith(f"arn:aws:ecs:us-west-2:{account}:task/default/")
    assert len(task["taskArn"].rsplit("/", 1)[-1]) == 32
    assert task["taskDefinitionArn"] == td["taskDefinitionArn"]
    assert (task["lastStatus"], task["desiredStatus"]) == ("PROVISIONING", "RUNNING")
    assert task["healthStatus"] == "UNKNOWN"
    assert (task["startedBy"], task["group"], task["version"]) == ("me", "grp", 1)
    assert task["tags"] == [{"key": "k", "value": "v"}]
    assert task["memory"] == "256"
    [eni] = task["attachments"]
    assert eni["type"] == "ElasticNetworkInterface"
    assert {"name": "subnetId", "value": "subnet-0a1b2c3d"} in eni["details"]
    assert [c["name"] for c in task["containers"]] == ["app", "envoy"]
    assert {c["lastStatus"] for c in task["containers"]} == {"PENDING"}
    described = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"]
    assert [t["taskArn"] for t in described] == [task["taskArn"]]
    assert "tags" not in described[0]
    assert described[0]["createdAt"] == task["createdAt"]


def test_run_task_defaults_group_to_the_family_and_honours_count(ecs: Any) -> None:
    register(ecs)
    tasks = run(ecs, count=3)
    assert len({t["taskArn"] for t in tasks}) == 3
    assert {t["group"] for t in tasks} == {"family:appmesh-gateway"}


def test_run_task_records_overrides_for_every_container(ecs: Any) -> None:
    register(ecs)
    overrides = {
        "containerOverrides": [
            {"name": "app", "command": ["serve"], "environment": [{"name": "A", "value": "1"}]}
        ]
    }
    [task] = run(ecs, overrides=overrides)
    assert task["overrides"]["containerOverrides"] == [
        {"name": "app", "command": ["serve"], "environment": [{"name": "A", "value": "1"}]},
        {"name": "envoy"},
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"networkConfiguration": {}},
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ),
        (
            {"networkConfiguration": {"awsvpcConfiguration": {"subnets": []}}},
            "subnets can not be empty.",
        ),
        (
            {"overrides": {"containerOverrides": [{"name": "nope"}]}},
            "Override for container named nope is not a container in the TaskDefinition.",
        ),
        ({"count": 11}, "count must be between 1 and 10."),
        ({"launchType": "FARGATE"}, "Task definition does not support launch_type FARGATE."),
    ],
)
def test_run_task_refuses_bad_launches_and_stores_nothing(
    ecs: Any, kwargs: dict[str, Any], message: str
) -> None:
    register(ecs)
    with pytest.raises(ClientError) as raised:
        run(ecs, **kwargs)
    assert error(raised) == ("InvalidParameterException", message)
    assert ecs.list_tasks()["taskArns"] == []


def test_run_task_needs_an_active_task_definition(ecs: Any) -> None:
    register(ecs)
    ecs.deregister_task_definition(taskDefinition="appmesh-gateway:1")
    for ref, message in (
        ("appmesh-gateway:1", "TaskDefinition is inactive"),
        ("appmesh-gateway", "TaskDefinition not found."),
        ("unknown", "TaskDefinition not found."),
    ):
        with pytest.raises(ClientError) as raised:
            run(ecs, family=ref)
        assert error(raised) == ("InvalidParameterException", message)


def test_network_configuration_is_refused_for_bridge_tasks(ecs: Any) -> None:
    definition = copy.deepcopy(seed())
    del definition["proxyConfiguration"]
    definition.update(family="bridged", networkMode="bridge")
    ecs.register_task_definition(**definition)
    with pytest.raises(ClientError) as raised:
        run(ecs, family="bridged")
    assert error(raised)[1] == (
        "Network Configuration is not valid for the given networkMode of this task definition."
    )
    [task] = ecs.run_task(taskDefinition="bridged")["tasks"]
    assert task["lastStatus"] == "PENDING"
    assert task["attachments"] == []


def test_a_client_token_makes_run_task_idempotent(ecs: Any) -> None:
    register(ecs)
    first = run(ecs, clientToken="token-1")
    again = run(ecs, clientToken="token-1")
    assert [t["taskArn"] for t in again] == [t["taskArn"] for t in first]
    assert len(ecs.list_tasks()["taskArns"]) == 1
    with pytest.raises(ClientError):
        run(ecs, clientToken="token-1", count=2)


def test_start_task_places_tasks_on_this_hosts_container_instance(ecs: Any, account: str) -> None:
    register(ecs)
    [task] = run(ecs)
    instance = task["containerInstanceArn"]
    assert instance.startswith(f"arn:aws:ecs:us-west-2:{account}:container-instance/default/")
    out = ecs.start_task(
        taskDefinition="appmesh-gateway",
        containerInstances=[instance, "0" * 32],
        networkConfiguration=NETWORK,
        startedBy="scheduler",
    )
    assert [t["containerInstanceArn"] for t in out["tasks"]] == [instance]
    assert out["tasks"][0]["startedBy"] == "scheduler"
    assert out["failures"] == [{"arn": "0" * 32, "reason": "MISSING"}]


def test_stop_task_records_the_reason_and_the_user_stop_code(ecs: Any) -> None:
    register(ecs)
    [task] = run(ecs)
    stopped = ecs.stop_task(task=task["taskArn"], reason="maintenance")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "maintenance")
    # Nothing was running it, so there is nothing to tear down: it is STOPPED at once.
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stoppedAt"] >= stopped["createdAt"]
    assert stopped["version"] > task["version"]
    assert ecs.stop_task(task=task["taskArn"], reason="again")["task"]["stoppedReason"] == (
        "maintenance"
    )


def test_stop_task_of_an_unknown_task_is_an_invalid_parameter(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.stop_task(task="0" * 32)
    assert error(raised) == ("InvalidParameterException", "The referenced task was not found.")


def test_describe_tasks_reports_unknown_tasks_as_missing_failures(ecs: Any, account: str) -> None:
    register(ecs)
    [task] = run(ecs)
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    out = ecs.describe_tasks(tasks=[task_id, "f" * 32], include=["TAGS"])
    assert [t["taskArn"] for t in out["tasks"]] == [task["taskArn"]]
    assert out["tasks"][0]["tags"] == []
    assert out["failures"] == [
        {"arn": f"arn:aws:ecs:us-west-2:{account}:task/default/{'f' * 32}", "reason": "MISSING"}
    ]


def test_describe_tasks_in_an_unknown_cluster_is_cluster_not_found(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.describe_tasks(cluster="nope", tasks=["a"])
    assert error(raised)[0] == "ClusterNotFoundException"


def test_list_tasks_filters_by_family_started_by_and_desired_status(ecs: Any) -> None:
    register(ecs)
    register(ecs, "other")
    [mine] = run(ecs, startedBy="me")
    [theirs] = run(ecs, family="other")
    [gone] = run(ecs)
    ecs.stop_task(task=gone["taskArn"])

    def listed(**filters: Any) -> list[str]:
        return ecs.list_tasks(**filters)["taskArns"]  # type: ignore[no-any-return]

    assert listed() == [mine["taskArn"], theirs["taskArn"]]
    assert listed(family="other") == [theirs["taskArn"]]
    assert listed(startedBy="me") == [mine["taskArn"]]
    assert listed(desiredStatus="STOPPED") == [gone["taskArn"]]
    assert listed(desiredStatus="PENDING") == []
    assert listed(launchType="FARGATE") == []
    with pytest.raises(ClientError) as raised:
        listed(family="bad family")
    assert error(raised) == ("InvalidParameterException", r"family must match ^[a-zA-Z0-9\-_]+$")
    with pytest.raises(ClientError) as raised:
        listed(serviceName="web")
    assert error(raised)[0] == "ServiceNotFoundException"


def test_list_tasks_paginates(ecs: Any) -> None:
    register(ecs)
    arns = [t["taskArn"] for t in run(ecs, count=5)]
    pages = ecs.get_paginator("list_tasks").paginate(PaginationConfig={"PageSize": 2})
    assert [p["taskArns"] for p in pages] == [arns[:2], arns[2:4], arns[4:]]


def test_the_boto3_task_waiters_read_meshway_task_records(ecs: Any) -> None:
    register(ecs)
    [task] = run(ecs)
    ecs.stop_task(task=task["taskArn"])
    config = {"Delay": 1, "MaxAttempts": 2}
    ecs.get_waiter("tasks_stopped").wait(tasks=[task["taskArn"]], WaiterConfig=config)
    with pytest.raises(WaiterError) as raised:
        ecs.get_waiter("tasks_running").wait(tasks=[task["taskArn"]], WaiterConfig=config)
    assert "terminal failure" in str(raised.value)


def test_container_overrides_set_the_containers_cpu_and_memory(ecs: Any) -> None:
    register(ecs)
    overrides = {"containerOverrides": [{"name": "envoy", "cpu": 64, "memoryReservation": 128}]}
    [task] = run(ecs, overrides=overrides)
    envoy = task["containers"][1]
    assert (envoy["cpu"], envoy["memoryReservation"]) == ("64", "128")
    assert task["containers"][0]["cpu"] == "0"


def test_fargate_tasks_show_a_platform_version_and_no_container_instance(ecs: Any) -> None:
    register(ecs, cpu="256", memory="512")
    [task] = run(ecs, launchType="FARGATE")
    assert (task["launchType"], task["platformVersion"], task["platformFamily"]) == (
        "FARGATE",
        "1.4.0",
        "Linux",
    )
    assert "containerInstanceArn" not in task
    [by_provider] = run(ecs, capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT"}])
    assert (by_provider["launchType"], by_provider["capacityProviderName"]) == (
        "FARGATE",
        "FARGATE_SPOT",
    )
    with pytest.raises(ClientError) as raised:
        run(ecs, launchType="FARGATE", capacityProviderStrategy=[{"capacityProvider": "FARGATE"}])
    assert error(raised)[1].startswith("Specifying both a launch type and capacity provider")


def test_list_container_instances_names_the_start_task_target(ecs: Any) -> None:
    register(ecs)
    [instance] = ecs.list_container_instances()["containerInstanceArns"]
    [task] = ecs.start_task(
        taskDefinition="appmesh-gateway",
        containerInstances=[instance],
        networkConfiguration=NETWORK,
    )["tasks"]
    assert task["containerInstanceArn"] == instance
    assert ecs.list_tasks(containerInstance=instance)["taskArns"] == [task["taskArn"]]
    assert ecs.list_container_instances(status="DRAINING")["containerInstanceArns"] == []


def test_describe_tasks_takes_at_most_a_hundred_tasks(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.describe_tasks(tasks=[f"{i:032x}" for i in range(101)])
    assert error(raised)[0] == "InvalidParameterException"


def test_a_malformed_cluster_parameter_is_an_invalid_parameter(ecs: Any) -> None:
    register(ecs)
    with pytest.raises(ClientError) as raised:
        run(ecs, cluster="not a cluster")
    assert error(raised) == (
        "InvalidParameterException",
        r"Cluster must match ^[a-zA-Z0-9\-_]{1,255}$, but was not a cluster",
    )
