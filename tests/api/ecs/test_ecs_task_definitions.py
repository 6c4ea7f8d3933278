"""Task-definition operations through boto3 against a real `meshway server`."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.ecs.helpers import error, register
from tests.unit.model.ecs.cases import CASES, Case, seed


def test_register_returns_the_definition_with_arn_revision_and_tags(ecs: Any) -> None:
    definition = copy.deepcopy(seed())
    out = ecs.register_task_definition(**definition, tags=[{"key": "team", "value": "mesh"}])
    td = out["taskDefinition"]
    assert td["taskDefinitionArn"].endswith(":task-definition/appmesh-gateway:1")
    assert td["taskDefinitionArn"].startswith("arn:aws:ecs:us-west-2:")
    assert td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert out["tags"] == [{"key": "team", "value": "mesh"}]
    assert "tags" not in td


def test_describe_by_family_revision_and_arn_finds_the_same_revision(ecs: Any) -> None:
    register(ecs)
    second = register(ecs)
    by_family = ecs.describe_task_definition(taskDefinition="appmesh-gateway")["taskDefinition"]
    by_revision = ecs.describe_task_definition(taskDefinition="appmesh-gateway:2")
    by_arn = ecs.describe_task_definition(taskDefinition=second["taskDefinitionArn"])
    assert by_family == by_revision["taskDefinition"] == by_arn["taskDefinition"] == second
    first = ecs.describe_task_definition(taskDefinition="appmesh-gateway:1")["taskDefinition"]
    assert first["revision"] == 1


def test_describe_includes_tags_only_when_asked(ecs: Any) -> None:
    ecs.register_task_definition(**seed(), tags=[{"key": "k", "value": "v"}])
    assert "tags" not in ecs.describe_task_definition(taskDefinition="appmesh-gateway")
    out = ecs.describe_task_definition(taskDefinition="appmesh-gateway", include=["TAGS"])
    assert out["tags"] == [{"key": "k", "value": "v"}]


@pytest.mark.parametrize("ref", ["nope", "nope:1", "appmesh-gateway:9", "bad name"])
def test_describe_of_an_unknown_definition_is_a_client_exception(ecs: Any, ref: str) -> None:
    register(ecs)
    with pytest.raises(ClientError) as raised:
        ecs.describe_task_definition(taskDefinition=ref)
    assert error(raised) == ("ClientException", "Unable to describe task definition.")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_deregister_makes_a_revision_inactive_and_family_lookup_skips_it(ecs: Any) -> None:
    register(ecs)
    register(ecs)
    out = ecs.deregister_task_definition(taskDefinition="appmesh-gateway:2")["taskDefinition"]
    assert out["status"] == "INACTIVE"
    assert isinstance(out["deregisteredAt"], datetime.datetime)
    latest = ecs.describe_task_definition(taskDefinition="appmesh-gateway")["taskDefinition"]
    assert latest["revision"] == 1
    inactive = ecs.describe_task_definition(taskDefinition="appmesh-gateway:2")["taskDefinition"]
    assert inactive["status"] == "INACTIVE"


def test_deregister_needs_a_revision_that_exists(ecs: Any) -> None:
    register(ecs)
    for ref in ("appmesh-gateway", "appmesh-gateway:5"):
        with pytest.raises(ClientError) as raised:
            ecs.deregister_task_definition(taskDefinition=ref)
        assert error(raised)[0] == "ClientException"


def test_delete_only_takes_inactive_revisions_and_reports_the_rest_as_failures(ecs: Any) -> None:
    register(ecs)
    register(ecs)
    ecs.deregister_task_definition(taskDefinition="appmesh-gateway:1")
    out = ecs.delete_task_definitions(
        taskDefinitions=["appmesh-gateway:1", "appmesh-gateway:2", "appmesh-gateway:7"]
    )
    assert [(t["revision"], t["status"]) for t in out["taskDefinitions"]] == [
        (1, "DELETE_IN_PROGRESS")
    ]
    failures = {f["arn"].split("/")[-1]: f["reason"] for f in out["failures"]}
    assert failures == {
        "appmesh-gateway:2": "The specified task definition is still in ACTIVE status. "
        "Please deregister the target and try again.",
        "appmesh-gateway:7": "The specified task definition does not exist.",
    }
    listed = ecs.list_task_definitions(status="DELETE_IN_PROGRESS")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[-1] for arn in listed] == ["1"]


def test_list_filters_by_family_and_status_and_sorts_both_ways(ecs: Any) -> None:
    for family in ("web", "api", "web"):
        register(ecs, family)
    ecs.deregister_task_definition(taskDefinition="web:1")
    arns = ecs.list_task_definitions()["taskDefinitionArns"]
    assert [a.split("/")[-1] for a in arns] == ["api:1", "web:2"]
    desc = ecs.list_task_definitions(sort="DESC", status="ACTIVE")["taskDefinitionArns"]
    assert [a.split("/")[-1] for a in desc] == ["web:2", "api:1"]
    # familyPrefix is the full family name, as the API reference says.
    assert ecs.list_task_definitions(familyPrefix="we")["taskDefinitionArns"] == []
    inactive = ecs.list_task_definitions(familyPrefix="web", status="INACTIVE")
    assert [a.split("/")[-1] for a in inactive["taskDefinitionArns"]] == ["web:1"]


def test_list_paginates_with_next_token_in_both_orders(ecs: Any) -> None:
    for _ in range(5):
        register(ecs, "paged")
    for sort, expected in (("ASC", [1, 2, 3, 4, 5]), ("DESC", [5, 4, 3, 2, 1])):
        pages = ecs.get_paginator("list_task_definitions").paginate(
            familyPrefix="paged", sort=sort, PaginationConfig={"PageSize": 2}
        )
        sizes, revisions = [], []
        for page in pages:
            sizes.append(len(page["taskDefinitionArns"]))
            revisions += [int(a.rsplit(":", 1)[-1]) for a in page["taskDefinitionArns"]]
        assert sizes == [2, 2, 1]
        assert revisions == expected


def test_list_families_by_prefix_and_status_with_pagination(ecs: Any) -> None:
    for family in ("svc-a", "svc-b", "svc-c", "other"):
        register(ecs, family)
    ecs.deregister_task_definition(taskDefinition="svc-b:1")
    assert ecs.list_task_definition_families(familyPrefix="svc")["families"] == [
        "svc-a",
        "svc-b",
        "svc-c",
    ]
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == [
        "other",
        "svc-a",
        "svc-c",
    ]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["svc-b"]
    first = ecs.list_task_definition_families(maxResults=3)
    assert first["families"] == ["other", "svc-a", "svc-b"]
    rest = ecs.list_task_definition_families(maxResults=3, nextToken=first["nextToken"])
    assert rest["families"] == ["svc-c"]
    assert "nextToken" not in rest


def test_max_results_out_of_range_is_an_invalid_parameter(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.list_task_definitions(maxResults=101)
    assert error(raised)[0] == "InvalidParameterException"


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_each_invalid_definition_is_refused_and_nothing_is_stored(ecs: Any, case: Case) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.register_task_definition(**case.definition())
    assert error(raised) == ("ClientException", case.message)
    assert ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []
    assert ecs.list_task_definition_families()["families"] == []


def test_an_arn_of_another_account_does_not_find_this_accounts_definition(
    ecs: Any, account: str
) -> None:
    td = register(ecs)
    other = td["taskDefinitionArn"].replace(account, "999999999999")
    with pytest.raises(ClientError) as raised:
        ecs.describe_task_definition(taskDefinition=other)
    assert error(raised)[0] == "ClientException"


def test_a_forged_next_token_is_an_invalid_parameter(ecs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ecs.list_task_definitions(nextToken="forged")
    assert error(raised)[0] == "InvalidParameterException"
