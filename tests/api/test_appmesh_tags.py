"""Tags through boto3 on every kind: merge, removal, the 50-tag limit, paging, bad ARNs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.appmesh_kinds import ALL_KINDS, KindCase, Scene, aws_error


@pytest.fixture(params=ALL_KINDS, ids=lambda kind: kind.member)
def tagged(
    request: pytest.FixtureRequest, appmesh: Any, account: str, unique: str
) -> tuple[Scene, str]:
    kind: KindCase = request.param
    scene = Scene.build(appmesh, kind, account, unique)
    name = scene.name("tagged")
    scene.create(name, tags=[{"key": "team", "value": "color"}, {"key": "tier", "value": "1"}])
    return scene, scene.arn(name)


def _tags(client: Any, arn: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}


def test_tag_resource_merges_and_untag_resource_removes(tagged: tuple[Scene, str]) -> None:
    scene, arn = tagged
    client = scene.client
    assert (
        client.tag_resource(
            resourceArn=arn, tags=[{"key": "tier", "value": "2"}, {"key": "owner", "value": "ops"}]
        )
        is not None
    )
    assert _tags(client, arn) == {"team": "color", "tier": "2", "owner": "ops"}
    client.untag_resource(resourceArn=arn, tagKeys=["team", "not-there"])
    assert _tags(client, arn) == {"tier": "2", "owner": "ops"}


def test_tag_operations_answer_an_empty_document(tagged: tuple[Scene, str]) -> None:
    scene, arn = tagged
    response = scene.client.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    assert set(response) == {"ResponseMetadata"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    response = scene.client.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert set(response) == {"ResponseMetadata"}


def test_more_than_fifty_tags_are_refused_and_nothing_changes(tagged: tuple[Scene, str]) -> None:
    scene, arn = tagged
    client = scene.client
    client.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(47)])
    assert len(_tags(client, arn)) == 49
    with aws_error("TooManyTagsException", 400):
        client.tag_resource(
            resourceArn=arn, tags=[{"key": "x", "value": "1"}, {"key": "y", "value": "2"}]
        )
    assert len(_tags(client, arn)) == 49
    client.tag_resource(
        resourceArn=arn, tags=[{"key": "x", "value": "1"}, {"key": "team", "value": "new"}]
    )
    assert len(_tags(client, arn)) == 50
    client.tag_resource(resourceArn=arn, tags=[{"key": "k0", "value": "changed"}])  # no new key
    assert _tags(client, arn)["k0"] == "changed"
    with aws_error("TooManyTagsException", 400):
        client.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": ""}])


def test_tags_page_with_limit_and_next_token(tagged: tuple[Scene, str]) -> None:
    scene, arn = tagged
    client = scene.client
    client.tag_resource(
        resourceArn=arn, tags=[{"key": f"k{i:02}", "value": "v"} for i in range(20)]
    )
    everything = [t["key"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]]
    assert len(everything) == 22
    for limit in (1, 3, 50):
        keys: list[str] = []
        token = None
        while True:
            page = client.list_tags_for_resource(
                resourceArn=arn, limit=limit, **({"nextToken": token} if token else {})
            )
            keys += [t["key"] for t in page["tags"]]
            token = page.get("nextToken")
            if not token:
                break
            assert len(page["tags"]) == limit
        assert keys == everything


def test_tagging_a_missing_resource_is_not_found(appmesh: Any, account: str) -> None:
    arn = f"arn:aws:appmesh:us-west-2:{account}:mesh/nowhere/virtualNode/none"
    with aws_error("NotFoundException", 404):
        appmesh.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    with aws_error("NotFoundException", 404):
        appmesh.untag_resource(resourceArn=arn, tagKeys=["a"])
    with aws_error("NotFoundException", 404):
        appmesh.list_tags_for_resource(resourceArn=arn)


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:ecs:us-west-2:123456789012:cluster/default",
        "arn:aws:appmesh:us-west-2:123456789012:mesh/m/virtualThing/x",
    ],
)
def test_a_resource_arn_that_names_no_app_mesh_resource_is_refused(appmesh: Any, arn: str) -> None:
    with pytest.raises(appmesh.exceptions.ClientError) as info:
        appmesh.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    assert info.value.response["Error"]["Code"] in ("BadRequestException", "NotFoundException")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)
