"""Cluster operations through boto3 against a real `meshway server`."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.ecs.helpers import error, register, run


def test_the_default_cluster_exists_without_being_created(ecs: Any, account: str) -> None:
    arn = f"arn:aws:ecs:us-west-2:{account}:cluster/default"
    assert ecs.list_clusters()["clusterArns"] == [arn]
    [cluster] = ecs.describe_clusters()["clusters"]
    assert (cluster["clusterArn"], cluster["clusterName"], cluster["status"]) == (
        arn,
        "default",
        "ACTIVE",
    )
    register(ecs)
    [task] = run(ecs)
    assert task["clusterArn"] == arn


def test_create_cluster_returns_it_with_tags_and_is_idempotent(ecs: Any, account: str) -> None:
    tags = [{"key": "env", "value": "dev"}]
    created = ecs.create_cluster(clusterName="mesh", tags=tags)["cluster"]
    assert created["clusterArn"] == f"arn:aws:ecs:us-west-2:{account}:cluster/mesh"
    assert created["status"] == "ACTIVE"
    assert created["tags"] == tags
    assert created["runningTasksCount"] == created["pendingTasksCount"] == 0
    again = ecs.create_cluster(clusterName="mesh")["cluster"]
    assert again["clusterArn"] == created["clusterArn"]
    assert again["tags"] == tags


def test_create_cluster_refuses_a_bad_name(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.create_cluster(clusterName="no spaces")
    assert error(raised)[0] == "InvalidParameterException"
    assert ecs.list_clusters()["clusterArns"][0].endswith("/default")
    assert len(ecs.list_clusters()["clusterArns"]) == 1


def test_describe_reports_unknown_clusters_as_missing_failures(ecs: Any, account: str) -> None:
    ecs.create_cluster(clusterName="known")
    out = ecs.describe_clusters(
        clusters=["known", "unknown", f"arn:aws:ecs:us-west-2:{account}:cluster/gone"]
    )
    assert [c["clusterName"] for c in out["clusters"]] == ["known"]
    assert out["failures"] == [
        {"arn": f"arn:aws:ecs:us-west-2:{account}:cluster/unknown", "reason": "MISSING"},
        {"arn": f"arn:aws:ecs:us-west-2:{account}:cluster/gone", "reason": "MISSING"},
    ]


def test_describe_shows_tags_only_when_asked_and_counts_tasks(ecs: Any) -> None:
    ecs.create_cluster(clusterName="busy", tags=[{"key": "a", "value": "b"}])
    register(ecs)
    run(ecs, cluster="busy", count=2)
    [plain] = ecs.describe_clusters(clusters=["busy"])["clusters"]
    assert "tags" not in plain
    assert plain["pendingTasksCount"] == 2
    assert plain["runningTasksCount"] == 0
    [tagged] = ecs.describe_clusters(clusters=["busy"], include=["TAGS"])["clusters"]
    assert tagged["tags"] == [{"key": "a", "value": "b"}]


def test_list_clusters_paginates(ecs: Any) -> None:
    for i in range(4):
        ecs.create_cluster(clusterName=f"c{i}")
    pages = ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2})
    names = [[arn.split("/")[-1] for arn in p["clusterArns"]] for p in pages]
    assert names == [["default", "c0"], ["c1", "c2"], ["c3"]]


def test_delete_cluster_refuses_while_tasks_are_active(ecs: Any) -> None:
    ecs.create_cluster(clusterName="work")
    register(ecs)
    [task] = run(ecs, cluster="work")
    with pytest.raises(ClientError) as raised:
        ecs.delete_cluster(cluster="work")
    assert error(raised) == (
        "ClusterContainsTasksException",
        "The Cluster cannot be deleted while Tasks are active.",
    )
    ecs.stop_task(cluster="work", task=task["taskArn"])
    deleted = ecs.delete_cluster(cluster="work")["cluster"]
    assert deleted["status"] == "INACTIVE"


def test_a_deleted_cluster_is_inactive_unlisted_and_can_be_created_again(ecs: Any) -> None:
    ecs.create_cluster(clusterName="temp")
    ecs.delete_cluster(cluster="temp")
    [cluster] = ecs.describe_clusters(clusters=["temp"])["clusters"]
    assert cluster["status"] == "INACTIVE"
    assert all(not a.endswith("/temp") for a in ecs.list_clusters()["clusterArns"])
    with pytest.raises(ClientError) as raised:
        ecs.delete_cluster(cluster="temp")
    assert error(raised) == ("ClusterNotFoundException", "Cluster not found.")
    register(ecs)
    with pytest.raises(ClientError) as raised:
        run(ecs, cluster="temp")
    assert error(raised)[0] == "ClusterNotFoundException"
    assert ecs.create_cluster(clusterName="temp")["cluster"]["status"] == "ACTIVE"


def test_the_default_cluster_can_be_deleted_like_any_other(ecs: Any) -> None:
    assert ecs.delete_cluster(cluster="default")["cluster"]["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == []
    with pytest.raises(ClientError) as raised:
        ecs.list_tasks()
    assert error(raised)[0] == "ClusterNotFoundException"


def test_delete_of_an_unknown_cluster_is_cluster_not_found(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.delete_cluster(cluster="never")
    assert error(raised) == ("ClusterNotFoundException", "Cluster not found.")


def test_create_cluster_keeps_its_settings_and_configuration(ecs: Any) -> None:
    settings = [{"name": "containerInsights", "value": "enabled"}]
    configuration = {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    ecs.create_cluster(
        clusterName="configured",
        settings=settings,
        configuration=configuration,
        capacityProviders=["FARGATE"],
    )
    [cluster] = ecs.describe_clusters(clusters=["configured"], include=["SETTINGS"])["clusters"]
    assert cluster["settings"] == settings
    assert cluster["configuration"] == configuration
    assert cluster["capacityProviders"] == ["FARGATE"]
