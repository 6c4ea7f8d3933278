"""Namespaces through boto3: the three kinds, operations that report them, filters, pages,
updates, deletes, quotas and the errors AWS gives."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.servicediscovery.conftest import (
    code,
    dns_service,
    http_namespace,
    namespace_id,
    private_namespace,
    status,
)
from tests.conftest import REGION


def test_a_private_dns_namespace_is_created_by_an_operation_that_succeeds(
    sd: Any, account: str
) -> None:
    created = sd.create_private_dns_namespace(
        Name="corp.local",
        Vpc="vpc-1",
        Description="apps",
        Properties={"DnsProperties": {"SOA": {"TTL": 60}}},
    )
    operation = sd.get_operation(OperationId=created["OperationId"])["Operation"]
    assert operation["Status"] == "SUCCESS"
    assert operation["Type"] == "CREATE_NAMESPACE"
    assert operation["OwnerAccount"] == account
    assert operation["CreateDate"] <= operation["UpdateDate"]
    ns = sd.get_namespace(Id=operation["Targets"]["NAMESPACE"])["Namespace"]
    assert ns["Id"].startswith("ns-")
    assert ns["Arn"] == f"arn:aws:servicediscovery:{REGION}:{account}:namespace/{ns['Id']}"
    assert ns["Name"] == "corp.local"
    assert ns["Type"] == "DNS_PRIVATE"
    assert ns["Description"] == "apps"
    assert ns["ServiceCount"] == 0
    assert ns["ResourceOwner"] == account
    assert ns["Properties"]["DnsProperties"]["SOA"] == {"TTL": 60}
    assert ns["Properties"]["DnsProperties"]["HostedZoneId"].startswith("Z")
    assert ns["Properties"]["HttpProperties"] == {"HttpName": "corp.local"}
    assert ns["CreatorRequestId"]  # boto3 fills the idempotency token in


def test_http_and_public_namespaces_have_their_types_and_http_names(sd: Any) -> None:
    http = sd.get_namespace(Id=http_namespace(sd, "apps"))["Namespace"]
    public_op = sd.create_public_dns_namespace(Name="example.com")["OperationId"]
    public = sd.get_namespace(Id=namespace_id(sd, public_op))["Namespace"]
    assert http["Type"] == "HTTP"
    assert http["Properties"]["HttpProperties"]["HttpName"] == "apps"
    assert public["Type"] == "DNS_PUBLIC"
    assert public["Properties"]["DnsProperties"]["SOA"]["TTL"] > 0


def test_get_namespace_takes_an_arn_as_well_as_an_id(sd: Any) -> None:
    ns = sd.get_namespace(Id=private_namespace(sd))["Namespace"]
    assert sd.get_namespace(Id=ns["Arn"])["Namespace"]["Id"] == ns["Id"]


def test_an_unknown_namespace_is_namespace_not_found_404(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.get_namespace(Id="ns-doesnotexist0000")
    assert code(error) == "NamespaceNotFound"
    assert status(error) == 404


def test_an_http_namespace_name_taken_is_namespace_already_exists_with_its_id(sd: Any) -> None:
    first = http_namespace(sd, "apps")
    existing = sd.get_namespace(Id=first)["Namespace"]
    with pytest.raises(ClientError) as error:
        sd.create_http_namespace(Name="apps")
    assert code(error) == "NamespaceAlreadyExists"
    assert status(error) == 400
    assert error.value.response["NamespaceId"] == first
    assert error.value.response["CreatorRequestId"] == existing["CreatorRequestId"]


def test_a_second_dns_namespace_of_a_name_fails_its_operation_and_creates_nothing(
    sd: Any,
) -> None:
    private_namespace(sd, "corp.local")
    operation_id = sd.create_private_dns_namespace(Name="corp.local", Vpc="vpc-2")["OperationId"]
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert operation["Status"] == "FAIL"
    assert operation["ErrorCode"] == "CANNOT_CREATE_HOSTED_ZONE"
    assert "corp.local" in operation["ErrorMessage"]
    assert len(sd.list_namespaces()["Namespaces"]) == 1


def test_a_retry_with_the_same_creator_request_id_answers_the_same_operation(sd: Any) -> None:
    first = sd.create_http_namespace(Name="apps", CreatorRequestId="req-1")["OperationId"]
    again = sd.create_http_namespace(Name="apps", CreatorRequestId="req-1")["OperationId"]
    assert again == first
    assert len(sd.list_namespaces()["Namespaces"]) == 1


def test_the_same_creator_request_id_with_another_request_is_duplicate_request(sd: Any) -> None:
    first = sd.create_http_namespace(Name="apps", CreatorRequestId="req-1")["OperationId"]
    with pytest.raises(ClientError) as error:
        sd.create_http_namespace(Name="other", CreatorRequestId="req-1")
    assert code(error) == "DuplicateRequest"
    assert status(error) == 409
    assert error.value.response["DuplicateOperationId"] == first


def test_list_namespaces_filters_by_type_name_and_http_name(sd: Any) -> None:
    http_namespace(sd, "apps")
    private_namespace(sd, "corp.local")
    private_namespace(sd, "corp.internal")

    def names(*filters: dict[str, Any]) -> list[str]:
        found = sd.list_namespaces(Filters=list(filters))["Namespaces"]
        return sorted(n["Name"] for n in found)

    assert names({"Name": "TYPE", "Values": ["DNS_PRIVATE"]}) == ["corp.internal", "corp.local"]
    assert names({"Name": "TYPE", "Values": ["HTTP", "DNS_PUBLIC"], "Condition": "IN"}) == ["apps"]
    assert names({"Name": "NAME", "Values": ["corp."], "Condition": "BEGINS_WITH"}) == [
        "corp.internal",
        "corp.local",
    ]
    assert names({"Name": "HTTP_NAME", "Values": ["apps"], "Condition": "EQ"}) == ["apps"]


def test_a_filter_with_an_unsupported_condition_is_invalid_input(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.list_namespaces(Filters=[{"Name": "NAME", "Values": ["a"], "Condition": "BETWEEN"}])
    assert code(error) == "InvalidInput"
    assert status(error) == 400


def test_list_namespaces_pages_with_next_token(sd: Any) -> None:
    for index in range(5):
        http_namespace(sd, f"ns{index}")
    first = sd.list_namespaces(MaxResults=2)
    second = sd.list_namespaces(MaxResults=2, NextToken=first["NextToken"])
    third = sd.list_namespaces(MaxResults=2, NextToken=second["NextToken"])
    names = [n["Name"] for page in (first, second, third) for n in page["Namespaces"]]
    assert names == [f"ns{i}" for i in range(5)]
    assert "NextToken" not in third
    pages = sd.get_paginator("list_namespaces").paginate(PaginationConfig={"PageSize": 2})
    assert len([n for p in pages for n in p["Namespaces"]]) == 5


def test_update_private_dns_namespace_changes_description_and_soa(sd: Any) -> None:
    ns = private_namespace(sd)
    operation_id = sd.update_private_dns_namespace(
        Id=ns,
        Namespace={"Description": "new", "Properties": {"DnsProperties": {"SOA": {"TTL": 90}}}},
    )["OperationId"]
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert (operation["Type"], operation["Status"]) == ("UPDATE_NAMESPACE", "SUCCESS")
    got = sd.get_namespace(Id=ns)["Namespace"]
    assert got["Description"] == "new"
    assert got["Properties"]["DnsProperties"]["SOA"] == {"TTL": 90}


def test_update_http_and_public_namespaces_change_their_descriptions(sd: Any) -> None:
    http = http_namespace(sd)
    sd.update_http_namespace(Id=http, Namespace={"Description": "h"})
    public = namespace_id(sd, sd.create_public_dns_namespace(Name="ex.com")["OperationId"])
    sd.update_public_dns_namespace(Id=public, Namespace={"Description": "p"})
    assert sd.get_namespace(Id=http)["Namespace"]["Description"] == "h"
    assert sd.get_namespace(Id=public)["Namespace"]["Description"] == "p"


def test_updating_a_namespace_of_another_type_is_invalid_input(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.update_http_namespace(Id=private_namespace(sd), Namespace={"Description": "x"})
    assert code(error) == "InvalidInput"


def test_updating_an_unknown_namespace_is_namespace_not_found(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.update_private_dns_namespace(Id="ns-nope", Namespace={"Description": "x"})
    assert code(error) == "NamespaceNotFound"


def test_delete_namespace_is_resource_in_use_while_it_has_services(sd: Any) -> None:
    ns = private_namespace(sd)
    service = dns_service(sd, ns)
    with pytest.raises(ClientError) as error:
        sd.delete_namespace(Id=ns)
    assert code(error) == "ResourceInUse"
    assert status(error) == 409
    assert sd.get_namespace(Id=ns)["Namespace"]["ServiceCount"] == 1
    sd.delete_service(Id=service["Id"])
    operation_id = sd.delete_namespace(Id=ns)["OperationId"]
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert (operation["Type"], operation["Status"]) == ("DELETE_NAMESPACE", "SUCCESS")
    assert operation["Targets"] == {"NAMESPACE": ns}
    with pytest.raises(ClientError) as gone:
        sd.delete_namespace(Id=ns)
    assert code(gone) == "NamespaceNotFound"


def test_the_fifty_first_namespace_is_resource_limit_exceeded(sd: Any) -> None:
    for index in range(50):
        sd.create_http_namespace(Name=f"n{index}")
    with pytest.raises(ClientError) as error:
        sd.create_http_namespace(Name="one-too-many")
    assert code(error) == "ResourceLimitExceeded"
    assert status(error) == 400
