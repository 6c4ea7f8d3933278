"""TagResource, UntagResource and ListTagsForResource on clusters, task definitions and tasks."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.ecs.helpers import error, register, run


def arns(ecs: Any) -> list[str]:
    cluster = ecs.create_cluster(clusterName="tagged")["cluster"]["clusterArn"]
    definition = register(ecs)["taskDefinitionArn"]
    [task] = run(ecs, cluster="tagged")
    return [cluster, definition, task["taskArn"]]


def test_tags_are_added_replaced_listed_and_removed_on_every_taggable_resource(ecs: Any) -> None:
    for arn in arns(ecs):
        ecs.tag_resource(
            resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
        )
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "one"}])
        assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [
            {"key": "a", "value": "one"},
            {"key": "b", "value": "2"},
        ]
        ecs.untag_resource(resourceArn=arn, tagKeys=["a", "absent"])
        assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]


def test_tags_show_in_describe_with_include_tags(ecs: Any) -> None:
    cluster, definition, task = arns(ecs)
    for arn in (cluster, definition, task):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    [described] = ecs.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"]
    assert described["tags"] == [{"key": "k", "value": "v"}]
    td = ecs.describe_task_definition(taskDefinition=definition, include=["TAGS"])
    assert td["tags"] == [{"key": "k", "value": "v"}]
    [t] = ecs.describe_tasks(cluster="tagged", tasks=[task], include=["TAGS"])["tasks"]
    assert t["tags"] == [{"key": "k", "value": "v"}]


def test_the_implicit_default_cluster_can_be_tagged(ecs: Any, account: str) -> None:
    arn = f"arn:aws:ecs:us-west-2:{account}:cluster/default"
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]


def test_tagging_unknown_or_malformed_arns_fails(ecs: Any, account: str) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.list_tags_for_resource(resourceArn=f"arn:aws:ecs:us-west-2:{account}:cluster/none")
    assert error(raised)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        ecs.tag_resource(resourceArn="not-an-arn", tags=[{"key": "k", "value": "v"}])
    assert error(raised)[0] == "InvalidParameterException"


def test_more_than_fifty_tags_are_refused_and_none_are_added(ecs: Any) -> None:
    cluster = ecs.create_cluster(clusterName="full")["cluster"]["clusterArn"]
    ecs.tag_resource(resourceArn=cluster, tags=[{"key": f"k{i}", "value": ""} for i in range(50)])
    with pytest.raises(ClientError) as raised:
        ecs.tag_resource(resourceArn=cluster, tags=[{"key": "one-more", "value": ""}])
    assert error(raised)[0] == "InvalidParameterException"
    assert len(ecs.list_tags_for_resource(resourceArn=cluster)["tags"]) == 50
