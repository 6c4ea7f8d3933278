"""Instances through boto3: registration against the service's records, upserts, listing,
health (custom, Route 53, none), and the errors AWS gives."""

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

IP = {"AWS_INSTANCE_IPV4": "10.0.0.1"}


def register(sd: Any, service: str, instance: str, **attributes: str) -> str:
    return str(
        sd.register_instance(ServiceId=service, InstanceId=instance, Attributes=attributes)[
            "OperationId"
        ]
    )


def test_register_instance_reports_an_operation_and_get_instance_shows_it(
    sd: Any, account: str
) -> None:
    ns = private_namespace(sd)
    service = dns_service(sd, ns)
    operation_id = sd.register_instance(
        ServiceId=service["Id"],
        InstanceId="task-1",
        CreatorRequestId="reg-1",
        Attributes={**IP, "color": "blue"},
    )["OperationId"]
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert (operation["Type"], operation["Status"]) == ("REGISTER_INSTANCE", "SUCCESS")
    assert operation["Targets"] == {"NAMESPACE": ns, "SERVICE": service["Id"], "INSTANCE": "task-1"}
    got = sd.get_instance(ServiceId=service["Id"], InstanceId="task-1")
    assert got["ResourceOwner"] == account
    assert got["Instance"] == {
        "Id": "task-1",
        "CreatorRequestId": "reg-1",
        "Attributes": {**IP, "color": "blue"},
        "CreatedByAccount": account,
    }
    assert sd.get_service(Id=service["Id"])["Service"]["InstanceCount"] == 1


def test_registering_an_existing_instance_id_updates_it(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    register(sd, service, "task-1", AWS_INSTANCE_IPV4="10.0.0.1")
    register(sd, service, "task-1", AWS_INSTANCE_IPV4="10.0.0.2")
    instances = sd.list_instances(ServiceId=service)["Instances"]
    assert [(i["Id"], i["Attributes"]["AWS_INSTANCE_IPV4"]) for i in instances] == [
        ("task-1", "10.0.0.2")
    ]


@pytest.mark.parametrize(
    ("records", "attributes"),
    [
        ([{"Type": "A", "TTL": 5}], {"color": "blue"}),  # A needs AWS_INSTANCE_IPV4
        ([{"Type": "AAAA", "TTL": 5}], IP),  # AAAA needs AWS_INSTANCE_IPV6
        ([{"Type": "SRV", "TTL": 5}], IP),  # SRV needs AWS_INSTANCE_PORT
        ([{"Type": "SRV", "TTL": 5}], {"AWS_INSTANCE_PORT": "80"}),  # and an address
        ([{"Type": "A", "TTL": 5}], {"AWS_INSTANCE_IPV4": "not-an-ip"}),
        ([{"Type": "A", "TTL": 5}], {**IP, "AWS_INSTANCE_PORT": "70000"}),
        ([{"Type": "A", "TTL": 5}], {**IP, **{f"k{i}": "v" for i in range(31)}}),
        ([{"Type": "A", "TTL": 5}], {"AWS_ALIAS_DNS_NAME": "lb.example.com"}),  # needs WEIGHTED
    ],
)
def test_attributes_the_service_records_need_are_checked(
    sd: Any, records: list[dict[str, Any]], attributes: dict[str, str]
) -> None:
    service = dns_service(sd, private_namespace(sd), DnsConfig={"DnsRecords": records})["Id"]
    with pytest.raises(ClientError) as error:
        register(sd, service, "task-1", **attributes)
    assert code(error) == "InvalidInput"
    assert status(error) == 400
    assert sd.list_instances(ServiceId=service)["Instances"] == []


def test_a_cname_service_needs_aws_instance_cname(sd: Any) -> None:
    config = {"DnsRecords": [{"Type": "CNAME", "TTL": 5}], "RoutingPolicy": "WEIGHTED"}
    service = dns_service(sd, private_namespace(sd), DnsConfig=config)["Id"]
    with pytest.raises(ClientError):
        register(sd, service, "i-1", **IP)
    register(sd, service, "i-1", AWS_INSTANCE_CNAME="www.example.com")


def test_an_http_service_takes_any_attributes(sd: Any) -> None:
    service = sd.create_service(Name="w", NamespaceId=http_namespace(sd))["Service"]["Id"]
    register(sd, service, "i-1", url="http://x", AWS_INSTANCE_PORT="8080")
    assert sd.get_instance(ServiceId=service, InstanceId="i-1")["Instance"]["Attributes"] == {
        "url": "http://x",
        "AWS_INSTANCE_PORT": "8080",
    }


def test_the_same_creator_request_id_for_another_instance_is_duplicate_request(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    first = sd.register_instance(
        ServiceId=service, InstanceId="i-1", Attributes=IP, CreatorRequestId="same"
    )["OperationId"]
    again = sd.register_instance(
        ServiceId=service, InstanceId="i-1", Attributes=IP, CreatorRequestId="same"
    )["OperationId"]
    assert again == first
    with pytest.raises(ClientError) as error:
        sd.register_instance(
            ServiceId=service, InstanceId="i-2", Attributes=IP, CreatorRequestId="same"
        )
    assert code(error) == "DuplicateRequest"
    assert error.value.response["DuplicateOperationId"] == first


def test_register_in_an_unknown_service_is_service_not_found(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        register(sd, "srv-missing", "i-1", **IP)
    assert code(error) == "ServiceNotFound"


def test_deregister_instance_reports_an_operation_and_removes_it(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    register(sd, service, "i-1", **IP)
    operation_id = sd.deregister_instance(ServiceId=service, InstanceId="i-1")["OperationId"]
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert (operation["Type"], operation["Status"]) == ("DEREGISTER_INSTANCE", "SUCCESS")
    with pytest.raises(ClientError) as error:
        sd.get_instance(ServiceId=service, InstanceId="i-1")
    assert code(error) == "InstanceNotFound"
    assert status(error) == 404
    with pytest.raises(ClientError) as again:
        sd.deregister_instance(ServiceId=service, InstanceId="i-1")
    assert code(again) == "InstanceNotFound"


def test_list_instances_pages_in_registration_order(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    for index in range(5):
        register(sd, service, f"i-{index}", AWS_INSTANCE_IPV4=f"10.0.0.{index + 1}")
    first = sd.list_instances(ServiceId=service, MaxResults=3)
    rest = sd.list_instances(ServiceId=service, MaxResults=3, NextToken=first["NextToken"])
    ids = [i["Id"] for i in first["Instances"] + rest["Instances"]]
    assert ids == [f"i-{i}" for i in range(5)]
    assert "NextToken" not in rest
    assert "CreatorRequestId" not in first["Instances"][0]


def test_list_instances_of_an_unknown_service_is_service_not_found(sd: Any) -> None:
    with pytest.raises(ClientError) as error:
        sd.list_instances(ServiceId="srv-missing")
    assert code(error) == "ServiceNotFound"


def test_custom_health_starts_healthy_or_as_aws_init_health_status_says(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd), HealthCheckCustomConfig={})["Id"]
    register(sd, service, "up", **IP)
    register(sd, service, "down", **IP, AWS_INIT_HEALTH_STATUS="UNHEALTHY")
    status_map = sd.get_instances_health_status(ServiceId=service)["Status"]
    assert status_map == {"up": "HEALTHY", "down": "UNHEALTHY"}


def test_update_instance_custom_health_status_changes_it_at_once(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd), HealthCheckCustomConfig={})["Id"]
    register(sd, service, "i-1", **IP)
    sd.update_instance_custom_health_status(ServiceId=service, InstanceId="i-1", Status="UNHEALTHY")
    status_map = sd.get_instances_health_status(ServiceId=service, Instances=["i-1"])["Status"]
    assert status_map == {"i-1": "UNHEALTHY"}


def test_custom_health_without_a_custom_check_is_custom_health_not_found(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    register(sd, service, "i-1", **IP)
    with pytest.raises(ClientError) as error:
        sd.update_instance_custom_health_status(
            ServiceId=service, InstanceId="i-1", Status="HEALTHY"
        )
    assert code(error) == "CustomHealthNotFound"
    assert status(error) == 404


def test_custom_health_of_an_unknown_instance_is_instance_not_found(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd), HealthCheckCustomConfig={})["Id"]
    with pytest.raises(ClientError) as error:
        sd.update_instance_custom_health_status(
            ServiceId=service, InstanceId="nope", Status="HEALTHY"
        )
    assert code(error) == "InstanceNotFound"


def test_health_is_unknown_without_checks_and_healthy_under_a_route53_check(sd: Any) -> None:
    plain = dns_service(sd, private_namespace(sd))["Id"]
    register(sd, plain, "i-1", **IP)
    assert sd.get_instances_health_status(ServiceId=plain)["Status"] == {"i-1": "UNKNOWN"}
    public = namespace_id(sd, sd.create_public_dns_namespace(Name="ex.com")["OperationId"])
    checked = dns_service(sd, public, HealthCheckConfig={"Type": "TCP"})["Id"]
    with pytest.raises(ClientError) as no_port:  # a Route 53 check needs the port
        register(sd, checked, "i-1", **IP)
    assert code(no_port) == "InvalidInput"
    register(sd, checked, "i-1", **IP, AWS_INSTANCE_PORT="80")
    assert sd.get_instances_health_status(ServiceId=checked)["Status"] == {"i-1": "HEALTHY"}


def test_health_status_of_an_unknown_instance_is_instance_not_found(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    with pytest.raises(ClientError) as error:
        sd.get_instances_health_status(ServiceId=service, Instances=["nope"])
    assert code(error) == "InstanceNotFound"


def test_health_status_pages(sd: Any) -> None:
    service = dns_service(sd, private_namespace(sd))["Id"]
    for index in range(3):
        register(sd, service, f"i-{index}", **IP)
    first = sd.get_instances_health_status(ServiceId=service, MaxResults=2)
    rest = sd.get_instances_health_status(
        ServiceId=service, MaxResults=2, NextToken=first["NextToken"]
    )
    assert {**first["Status"], **rest["Status"]} == {f"i-{i}": "UNKNOWN" for i in range(3)}
