"""ECS ARNs and the references users pass for task definitions, clusters and tasks."""

from __future__ import annotations

import pytest

from meshway.model.ecs.arns import (
    Scope,
    TaskDefinitionRef,
    TaskRef,
    cluster_arn,
    container_arn,
    parse_task_definition_ref,
    parse_task_ref,
    resource_name,
    task_arn,
    task_definition_arn,
)

SCOPE = Scope(region="us-west-2", account="123456789012")


def test_arns_use_the_long_format() -> None:
    assert task_definition_arn(SCOPE, "web", 3) == (
        "arn:aws:ecs:us-west-2:123456789012:task-definition/web:3"
    )
    assert cluster_arn(SCOPE, "prod") == "arn:aws:ecs:us-west-2:123456789012:cluster/prod"
    assert task_arn(SCOPE, "prod", "abc") == "arn:aws:ecs:us-west-2:123456789012:task/prod/abc"
    assert container_arn(SCOPE, "prod", "abc", "u") == (
        "arn:aws:ecs:us-west-2:123456789012:container/prod/abc/u"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web", TaskDefinitionRef(family="web", revision=None)),
        ("web:7", TaskDefinitionRef(family="web", revision=7)),
        (
            "arn:aws:ecs:us-west-2:123456789012:task-definition/web:7",
            TaskDefinitionRef(family="web", revision=7),
        ),
        ("web:0", None),
        ("web:x", None),
        ("bad name", None),
        ("arn:aws:ecs:us-west-2:123456789012:task-definition/web", None),
        ("arn:aws:ecs:us-west-2:123456789012:cluster/web", None),
    ],
)
def test_task_definition_references_parse_as_ecs_reads_them(
    text: str, expected: TaskDefinitionRef | None
) -> None:
    assert parse_task_definition_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0123abcd", TaskRef(cluster=None, task_id="0123abcd")),
        ("arn:aws:ecs:us-west-2:1:task/prod/0123", TaskRef(cluster="prod", task_id="0123")),
        ("arn:aws:ecs:us-west-2:1:task/0123", TaskRef(cluster=None, task_id="0123")),
        ("arn:aws:ecs:us-west-2:1:cluster/prod", None),
        ("a/b", None),
    ],
)
def test_task_references_accept_ids_and_both_arn_formats(
    text: str, expected: TaskRef | None
) -> None:
    assert parse_task_ref(text) == expected


def test_resource_name_reads_names_out_of_arns_and_passes_names_through() -> None:
    assert resource_name("arn:aws:ecs:us-west-2:1:cluster/prod", "cluster") == "prod"
    assert resource_name("prod", "cluster") == "prod"
    assert resource_name("arn:aws:ecs:us-west-2:1:task/prod/x", "cluster") == ""
