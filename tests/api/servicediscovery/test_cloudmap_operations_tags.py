"""ListOperations and GetOperation, and tags on namespaces and services, through boto3."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.servicediscovery.conftest import code, dns_service, private_namespace, status


def test_list_operations_filters_by_namespace_service_status_type_and_date(sd: Any) -> None:
    ns = private_namespace(sd, "one.local")
    other = private_namespace(sd, "two.local")
    service = dns_service(sd, ns)["Id"]
    sd.register_instance(
        ServiceId=service, InstanceId="i-1", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"}
    )
    failed = sd.create_private_dns_namespace(Name="one.local", Vpc="vpc-1")["OperationId"]

    def ids(*filters: dict[str, Any]) -> set[str]:
        return {o["Id"] for o in sd.list_operations(Filters=list(filters))["Operations"]}

    everything = sd.list_operations()["Operations"]
    assert len(everything) == 4
    by_namespace = ids({"Name": "NAMESPACE_ID", "Values": [other]})
    assert len(by_namespace) == 1
    assert len(ids({"Name": "SERVICE_ID", "Values": [service]})) == 1
    assert ids({"Name": "STATUS", "Values": ["FAIL"]}) == {failed}
    creates = ids({"Name": "TYPE", "Values": ["CREATE_NAMESPACE"], "Condition": "EQ"})
    assert len(creates) == 3
    both = {"Name": "TYPE", "Values": ["CREATE_NAMESPACE", "REGISTER_INSTANCE"], "Condition": "IN"}
    assert len(ids(both)) == 4
    now = time.time()
    window = {"Name": "UPDATE_DATE", "Values": [str(now - 600), str(now + 600)]}
    assert len(ids({**window, "Condition": "BETWEEN"})) == 4
    past = {"Name": "UPDATE_DATE", "Values": ["0", "1"], "Condition": "BETWEEN"}
    assert ids(past) == set()


def test_list_operations_pages(sd: Any) -> None:
    for index in range(3):
        sd.create_http_namespace(Name=f"n{index}")
    first = sd.list_operations(MaxResults=2)
    rest = sd.list_operations(MaxResults=2, NextToken=first["NextToken"])
    assert len(first["Operations"]) + len(rest["Operations"]) == 3
    assert all(o["Status"] == "SUCCESS" for o in first["Operations"])


def test_an_operation_filter_with_a_wrong_condition_is_invalid_input(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.list_operations(
            Filters=[{"Name": "NAMESPACE_ID", "Values": ["a", "b"], "Condition": "IN"}]
        )
    assert code(error) == "InvalidInput"


def test_an_unknown_operation_is_operation_not_found_404(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.get_operation(OperationId="nope")
    assert code(error) == "OperationNotFound"
    assert status(error) == 404


def test_tags_are_added_listed_and_removed_on_namespaces_and_services(sd: Any) -> None:
    operation = sd.create_private_dns_namespace(
        Name="corp.local", Vpc="vpc-1", Tags=[{"Key": "team", "Value": "a"}]
    )["OperationId"]
    ns_id = sd.get_operation(OperationId=operation)["Operation"]["Targets"]["NAMESPACE"]
    ns_arn = sd.get_namespace(Id=ns_id)["Namespace"]["Arn"]
    service_arn = dns_service(sd, ns_id, Tags=[{"Key": "tier", "Value": "1"}])["Arn"]
    assert sd.list_tags_for_resource(ResourceARN=ns_arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    sd.tag_resource(
        ResourceARN=service_arn, Tags=[{"Key": "tier", "Value": "2"}, {"Key": "x", "Value": ""}]
    )
    tags = sd.list_tags_for_resource(ResourceARN=service_arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("tier", "2"), ("x", "")]
    sd.untag_resource(ResourceARN=service_arn, TagKeys=["x"])
    assert sd.list_tags_for_resource(ResourceARN=service_arn)["Tags"] == [
        {"Key": "tier", "Value": "2"}
    ]


def test_more_than_fifty_tags_are_too_many_tags(sd: Any) -> None:
    ns_id = private_namespace(sd)
    arn = sd.get_namespace(Id=ns_id)["Namespace"]["Arn"]
    sd.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as error:
        sd.tag_resource(ResourceARN=arn, Tags=[{"Key": "k50", "Value": "v"}])
    assert code(error) == "TooManyTagsException"
    assert status(error) == 400
    assert error.value.response["ResourceName"] == arn
    with pytest.raises(ClientError) as at_create:
        sd.create_http_namespace(
            Name="tagged", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        )
    assert code(at_create) == "TooManyTagsException"


def test_tags_of_an_unknown_resource_are_resource_not_found_404(sd: Any, account: str) -> None:
    arn = f"arn:aws:servicediscovery:us-west-2:{account}:service/srv-missing"
    for call in (
        lambda: sd.list_tags_for_resource(ResourceARN=arn),
        lambda: sd.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "b"}]),
        lambda: sd.untag_resource(ResourceARN=arn, TagKeys=["a"]),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error) == "ResourceNotFoundException"
        assert status(error) == 404


def test_a_malformed_resource_arn_is_invalid_input(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.list_tags_for_resource(ResourceARN="not-an-arn")
    assert code(error) == "InvalidInput"


def test_a_member_longer_than_the_model_allows_is_invalid_input(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.get_namespace(Id="x" * 300)  # longer than the model's Arn max of 255
    assert code(error) == "InvalidInput"
    assert status(error) == 400


def test_an_ecs_call_on_the_same_endpoint_still_reaches_ecs(sd: Any, ecs: Any) -> None:
    assert "clusterArns" in ecs.list_clusters()
    assert sd.list_namespaces()["Namespaces"] == []
