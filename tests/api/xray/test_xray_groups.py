"""Groups, encryption config, telemetry and the operations Meshway does not implement."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_groups_are_created_found_updated_and_deleted(xray: Any, account: str) -> None:
    group = xray.create_group(GroupName="faults", FilterExpression="fault")["Group"]
    assert group["GroupARN"].startswith(f"arn:aws:xray:us-west-2:{account}:group/faults/")
    assert xray.get_group(GroupARN=group["GroupARN"])["Group"]["FilterExpression"] == "fault"
    names = [g["GroupName"] for g in xray.get_groups()["Groups"]]
    assert names == ["Default", "faults"]
    updated = xray.update_group(GroupName="faults", FilterExpression="error")["Group"]
    assert updated["FilterExpression"] == "error"
    xray.delete_group(GroupName="faults")
    assert code(xray.get_group, GroupName="faults") == "InvalidRequestException"


def test_group_mistakes_are_invalid_requests(xray: Any) -> None:
    xray.create_group(GroupName="g")
    assert code(xray.create_group, GroupName="g") == "InvalidRequestException"
    assert (
        code(xray.create_group, GroupName="bad", FilterExpression="fault AND")
        == "InvalidRequestException"
    )
    assert code(xray.delete_group, GroupName="Default") == "InvalidRequestException"
    assert (
        code(xray.update_group, GroupName="Default", FilterExpression="ok")
        == "InvalidRequestException"
    )


def test_encryption_is_none_and_kms_is_refused(xray: Any) -> None:
    assert xray.get_encryption_config()["EncryptionConfig"] == {"Type": "NONE", "Status": "ACTIVE"}
    assert xray.put_encryption_config(Type="NONE")["EncryptionConfig"]["Type"] == "NONE"
    assert (
        code(xray.put_encryption_config, Type="KMS", KeyId="alias/x") == "InvalidRequestException"
    )


def test_the_daemons_telemetry_records_are_accepted(xray: Any) -> None:
    record = {"Timestamp": 1_700_000_000, "SegmentsReceivedCount": 5, "SegmentsSentCount": 5}
    answer = xray.put_telemetry_records(TelemetryRecords=[record], Hostname="task")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_operation_meshway_does_not_implement_says_so(xray: Any) -> None:
    assert code(xray.get_insight_summaries, StartTime=0, EndTime=1) == "UnsupportedOperation"


def test_groups_and_rules_carry_tags_that_never_leak_into_their_shapes(xray: Any) -> None:
    group = xray.create_group(GroupName="tagged", Tags=[{"Key": "team", "Value": "mesh"}])["Group"]
    arn = group["GroupARN"]
    assert "Tags" not in group and "Tags" not in xray.get_group(GroupARN=arn)["Group"]
    xray.tag_resource(
        ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "x"}]
    )
    tags = xray.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "x")]
    xray.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    xray.update_group(GroupARN=arn, FilterExpression="ok")
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]


def test_tag_mistakes_get_aws_errors(xray: Any, account: str) -> None:
    group = xray.create_group(GroupName="full")["Group"]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert (
        code(xray.tag_resource, ResourceARN=group["GroupARN"], Tags=many) == "TooManyTagsException"
    )
    missing = f"arn:aws:xray:us-west-2:{account}:group/ghost/ABC"
    with pytest.raises(ClientError) as caught:
        xray.list_tags_for_resource(ResourceARN=missing)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    default = f"arn:aws:xray:us-west-2:{account}:sampling-rule/Default"
    assert code(xray.tag_resource, ResourceARN=default, Tags=[{"Key": "a", "Value": "b"}]) == (
        "InvalidRequestException"
    )
