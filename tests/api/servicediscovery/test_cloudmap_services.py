"""Services through boto3: DNS records and their combination rules, health check rules,
HTTP services, updates, deletes, service attributes and the errors AWS gives."""

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


def test_a_dns_service_stores_its_records_routing_policy_and_counts(sd: Any, account: str) -> None:
    ns = private_namespace(sd)
    service = dns_service(
        sd,
        ns,
        "backend",
        Description="api",
        DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 20}]},
        HealthCheckCustomConfig={},
    )
    assert service["Id"].startswith("srv-")
    assert service["Arn"] == f"arn:aws:servicediscovery:{REGION}:{account}:service/{service['Id']}"
    assert service["NamespaceId"] == ns
    assert service["Type"] == "DNS_HTTP"
    assert service["DnsConfig"]["RoutingPolicy"] == "MULTIVALUE"
    assert service["DnsConfig"]["DnsRecords"] == [
        {"Type": "A", "TTL": 10},
        {"Type": "SRV", "TTL": 20},
    ]
    assert service["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    assert service["InstanceCount"] == 0
    assert service["CreatedByAccount"] == account
    got = sd.get_service(Id=service["Arn"])["Service"]
    assert got["Name"] == "backend"
    assert got["Description"] == "api"
    assert sd.get_namespace(Id=ns)["Namespace"]["ServiceCount"] == 1


@pytest.mark.parametrize(
    ("records", "policy"),
    [
        ([{"Type": "AAAA", "TTL": 5}], "MULTIVALUE"),
        ([{"Type": "A", "TTL": 5}, {"Type": "AAAA", "TTL": 5}], "WEIGHTED"),
        ([{"Type": "CNAME", "TTL": 5}], "WEIGHTED"),
        ([{"Type": "SRV", "TTL": 5}], "MULTIVALUE"),
    ],
)
def test_the_record_combinations_aws_allows_are_accepted(
    sd: Any, records: list[dict[str, Any]], policy: str
) -> None:
    config = {"DnsRecords": records, "RoutingPolicy": policy}
    service = dns_service(sd, private_namespace(sd), DnsConfig=config)
    assert service["DnsConfig"]["RoutingPolicy"] == policy


@pytest.mark.parametrize(
    "config",
    [
        {"DnsRecords": [{"Type": "CNAME", "TTL": 5}]},  # CNAME needs WEIGHTED
        {"DnsRecords": [{"Type": "CNAME", "TTL": 5}, {"Type": "A", "TTL": 5}]},
        {"DnsRecords": [{"Type": "A", "TTL": 5}, {"Type": "A", "TTL": 6}]},
        {"DnsRecords": []},
    ],
)
def test_record_combinations_aws_refuses_are_invalid_input(sd: Any, config: dict[str, Any]) -> None:
    ns = private_namespace(sd)
    with pytest.raises(ClientError) as error:
        dns_service(sd, ns, DnsConfig={**config, "RoutingPolicy": "MULTIVALUE"})
    assert code(error) == "InvalidInput"
    assert status(error) == 400


def test_health_check_config_and_custom_config_together_are_invalid_input(sd: Any) -> None:
    public = namespace_id(sd, sd.create_public_dns_namespace(Name="ex.com")["OperationId"])
    with pytest.raises(ClientError) as error:
        dns_service(sd, public, HealthCheckConfig={"Type": "HTTP"}, HealthCheckCustomConfig={})
    assert code(error) == "InvalidInput"


def test_health_check_config_in_a_private_namespace_is_invalid_input(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        dns_service(sd, private_namespace(sd), HealthCheckConfig={"Type": "TCP"})
    assert code(error) == "InvalidInput"


def test_health_check_config_with_a_cname_record_is_invalid_input(sd: Any) -> None:
    public = namespace_id(sd, sd.create_public_dns_namespace(Name="ex.com")["OperationId"])
    config = {"DnsRecords": [{"Type": "CNAME", "TTL": 5}], "RoutingPolicy": "WEIGHTED"}
    with pytest.raises(ClientError) as error:
        dns_service(sd, public, DnsConfig=config, HealthCheckConfig={"Type": "HTTP"})
    assert code(error) == "InvalidInput"


def test_a_public_namespace_service_keeps_its_route53_health_check(sd: Any) -> None:
    public = namespace_id(sd, sd.create_public_dns_namespace(Name="ex.com")["OperationId"])
    check = {"Type": "HTTP", "ResourcePath": "/health", "FailureThreshold": 2}
    service = dns_service(sd, public, HealthCheckConfig=check)
    assert service["HealthCheckConfig"] == check


def test_services_of_an_http_namespace_are_of_type_http_without_dns(sd: Any) -> None:
    ns = http_namespace(sd)
    service = sd.create_service(Name="worker", NamespaceId=ns)["Service"]
    assert service["Type"] == "HTTP"
    assert "DnsConfig" not in service
    with pytest.raises(ClientError) as error:
        dns_service(sd, ns, "withdns")
    assert code(error) == "InvalidInput"


def test_type_http_in_a_dns_namespace_makes_an_api_only_service(sd: Any) -> None:
    ns = private_namespace(sd)
    service = sd.create_service(Name="api-only", NamespaceId=ns, Type="HTTP")["Service"]
    assert service["Type"] == "HTTP"
    with pytest.raises(ClientError) as error:
        sd.create_service(Name="no-records", NamespaceId=ns)
    assert code(error) == "InvalidInput"


def test_a_service_in_an_unknown_namespace_is_namespace_not_found(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        dns_service(sd, "ns-missing")
    assert code(error) == "NamespaceNotFound"
    assert status(error) == 404


def test_a_taken_service_name_is_service_already_exists_with_its_ids(sd: Any) -> None:
    ns = private_namespace(sd)
    first = dns_service(sd, ns, "backend")
    with pytest.raises(ClientError) as error:
        dns_service(sd, ns, "BACKEND")  # DNS names differ by more than case
    assert code(error) == "ServiceAlreadyExists"
    assert error.value.response["ServiceId"] == first["Id"]
    assert error.value.response["ServiceArn"] == first["Arn"]
    assert error.value.response["CreatorRequestId"] == first["CreatorRequestId"]


def test_create_service_retried_with_its_creator_request_id_answers_the_same_service(
    sd: Any,
) -> None:
    ns = private_namespace(sd)
    first = dns_service(sd, ns, "backend", CreatorRequestId="svc-1")
    again = dns_service(sd, ns, "backend", CreatorRequestId="svc-1")
    assert again["Id"] == first["Id"]


def test_list_services_filters_by_namespace_id_or_arn_and_pages(sd: Any) -> None:
    one, two = private_namespace(sd, "one.local"), private_namespace(sd, "two.local")
    for index in range(3):
        dns_service(sd, one, f"s{index}")
    dns_service(sd, two, "other")
    arn = sd.get_namespace(Id=one)["Namespace"]["Arn"]
    for value in (one, arn):
        found = sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [value]}])
        assert sorted(s["Name"] for s in found["Services"]) == ["s0", "s1", "s2"]
    first = sd.list_services(MaxResults=3)
    rest = sd.list_services(MaxResults=3, NextToken=first["NextToken"])
    assert len(first["Services"]) + len(rest["Services"]) == 4
    owned = sd.list_services(Filters=[{"Name": "RESOURCE_OWNER", "Values": ["OTHER_ACCOUNTS"]}])
    assert owned["Services"] == []


def test_update_service_changes_ttls_and_description_and_reports_an_operation(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))
    operation_id = sd.update_service(
        Id=service["Id"],
        Service={"Description": "v2", "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 99}]}},
    )["OperationId"]
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert (operation["Type"], operation["Status"]) == ("UPDATE_SERVICE", "SUCCESS")
    assert operation["Targets"] == {"SERVICE": service["Id"]}
    got = sd.get_service(Id=service["Id"])["Service"]
    assert got["Description"] == "v2"
    assert got["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 99}]


def test_update_service_cannot_change_record_types(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))
    with pytest.raises(ClientError) as error:
        sd.update_service(
            Id=service["Id"], Service={"DnsConfig": {"DnsRecords": [{"Type": "SRV", "TTL": 5}]}}
        )
    assert code(error) == "InvalidInput"


def test_update_service_adds_and_removes_a_route53_health_check(sd: Any) -> None:
    public = namespace_id(sd, sd.create_public_dns_namespace(Name="ex.com")["OperationId"])
    service = dns_service(sd, public)
    sd.register_instance(
        ServiceId=service["Id"],
        InstanceId="i-1",
        Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "80"},
    )
    assert sd.get_instances_health_status(ServiceId=service["Id"])["Status"] == {"i-1": "UNKNOWN"}
    sd.update_service(Id=service["Id"], Service={"HealthCheckConfig": {"Type": "TCP"}})
    assert sd.get_service(Id=service["Id"])["Service"]["HealthCheckConfig"] == {"Type": "TCP"}
    assert sd.get_instances_health_status(ServiceId=service["Id"])["Status"] == {"i-1": "HEALTHY"}
    sd.update_service(Id=service["Id"], Service={"Description": "no check"})
    assert "HealthCheckConfig" not in sd.get_service(Id=service["Id"])["Service"]


def test_update_service_of_an_http_namespace_is_invalid_input(sd: Any) -> None:
    service = sd.create_service(Name="w", NamespaceId=http_namespace(sd))["Service"]
    with pytest.raises(ClientError) as error:
        sd.update_service(Id=service["Id"], Service={"Description": "x"})
    assert code(error) == "InvalidInput"


def test_update_service_of_an_unknown_service_is_service_not_found(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.update_service(Id="srv-missing", Service={"Description": "x"})
    assert code(error) == "ServiceNotFound"
    assert status(error) == 404


def test_delete_service_is_resource_in_use_while_instances_are_registered(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))
    sd.register_instance(
        ServiceId=service["Id"], InstanceId="i-1", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"}
    )
    with pytest.raises(ClientError) as error:
        sd.delete_service(Id=service["Id"])
    assert code(error) == "ResourceInUse"
    assert status(error) == 409
    sd.deregister_instance(ServiceId=service["Id"], InstanceId="i-1")
    sd.delete_service(Id=service["Id"])
    with pytest.raises(ClientError) as gone:
        sd.get_service(Id=service["Id"])
    assert code(gone) == "ServiceNotFound"


def test_service_attributes_are_updated_read_and_deleted(sd: Any, account: str) -> None:
    service = dns_service(sd, private_namespace(sd))
    sd.update_service_attributes(ServiceId=service["Id"], Attributes={"team": "a", "tier": "1"})
    sd.update_service_attributes(ServiceId=service["Id"], Attributes={"tier": "2"})
    got = sd.get_service_attributes(ServiceId=service["Arn"])["ServiceAttributes"]
    assert got == {
        "ServiceArn": service["Arn"],
        "ResourceOwner": account,
        "Attributes": {"team": "a", "tier": "2"},
    }
    sd.delete_service_attributes(ServiceId=service["Id"], Attributes=["team"])
    attributes = sd.get_service_attributes(ServiceId=service["Id"])["ServiceAttributes"]
    assert attributes["Attributes"] == {"tier": "2"}


def test_more_than_thirty_service_attributes_are_refused(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))
    sd.update_service_attributes(
        ServiceId=service["Id"], Attributes={f"k{i}": "v" for i in range(30)}
    )
    with pytest.raises(ClientError) as error:
        sd.update_service_attributes(ServiceId=service["Id"], Attributes={"one-more": "v"})
    assert code(error) == "ServiceAttributesLimitExceededException"


def test_service_attributes_of_an_unknown_service_are_service_not_found(sd: Any) -> None:
    for call in (
        lambda: sd.get_service_attributes(ServiceId="srv-missing"),
        lambda: sd.update_service_attributes(ServiceId="srv-missing", Attributes={"a": "b"}),
        lambda: sd.delete_service_attributes(ServiceId="srv-missing", Attributes=["a"]),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error) == "ServiceNotFound"
