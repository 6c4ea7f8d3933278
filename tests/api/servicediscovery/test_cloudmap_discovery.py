"""DiscoverInstances and DiscoverInstancesRevision through boto3: attribute filters, health
filters, limits, the revision, and the errors AWS gives."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.servicediscovery.conftest import code, dns_service, private_namespace, status


def _scene(sd: Any, custom: bool = False) -> str:
    ns = private_namespace(sd, "corp.local")
    extra = {"HealthCheckCustomConfig": {}} if custom else {}
    service = dns_service(sd, ns, "backend", **extra)["Id"]
    for index, color in enumerate(["blue", "blue", "green"]):
        sd.register_instance(
            ServiceId=service,
            InstanceId=f"i-{index}",
            Attributes={"AWS_INSTANCE_IPV4": f"10.0.0.{index + 1}", "color": color},
        )
    return service


def _ids(answer: dict[str, Any]) -> list[str]:
    return sorted(i["InstanceId"] for i in answer["Instances"])


def test_discover_instances_answers_every_instance_with_its_names_and_attributes(sd: Any) -> None:
    _scene(sd)
    answer = sd.discover_instances(NamespaceName="corp.local", ServiceName="backend")
    assert _ids(answer) == ["i-0", "i-1", "i-2"]
    first = next(i for i in answer["Instances"] if i["InstanceId"] == "i-0")
    assert first == {
        "InstanceId": "i-0",
        "NamespaceName": "corp.local",
        "ServiceName": "backend",
        "HealthStatus": "UNKNOWN",
        "Attributes": {"AWS_INSTANCE_IPV4": "10.0.0.1", "color": "blue"},
    }
    assert answer["InstancesRevision"] == 3


def test_query_parameters_must_all_match(sd: Any) -> None:
    _scene(sd)
    answer = sd.discover_instances(
        NamespaceName="corp.local", ServiceName="backend", QueryParameters={"color": "blue"}
    )
    assert _ids(answer) == ["i-0", "i-1"]
    none = sd.discover_instances(
        NamespaceName="corp.local", ServiceName="backend", QueryParameters={"color": "red"}
    )
    assert none["Instances"] == []


def test_optional_parameters_narrow_only_when_something_matches(sd: Any) -> None:
    _scene(sd)
    green = sd.discover_instances(
        NamespaceName="corp.local", ServiceName="backend", OptionalParameters={"color": "green"}
    )
    assert _ids(green) == ["i-2"]
    fallback = sd.discover_instances(
        NamespaceName="corp.local", ServiceName="backend", OptionalParameters={"color": "red"}
    )
    assert _ids(fallback) == ["i-0", "i-1", "i-2"]


def test_health_status_filters_apply_to_custom_health(sd: Any) -> None:
    service = _scene(sd, custom=True)
    sd.update_instance_custom_health_status(ServiceId=service, InstanceId="i-0", Status="UNHEALTHY")

    def ids(health: str | None) -> list[str]:
        extra = {"HealthStatus": health} if health else {}
        return _ids(
            sd.discover_instances(NamespaceName="corp.local", ServiceName="backend", **extra)
        )

    assert ids(None) == ["i-1", "i-2"]  # HEALTHY by default
    assert ids("HEALTHY") == ["i-1", "i-2"]
    assert ids("UNHEALTHY") == ["i-0"]
    assert ids("ALL") == ["i-0", "i-1", "i-2"]
    assert ids("HEALTHY_OR_ELSE_ALL") == ["i-1", "i-2"]
    for instance in ("i-1", "i-2"):
        sd.update_instance_custom_health_status(
            ServiceId=service, InstanceId=instance, Status="UNHEALTHY"
        )
    assert ids("HEALTHY") == []
    assert ids("HEALTHY_OR_ELSE_ALL") == ["i-0", "i-1", "i-2"]  # fails open


def test_health_status_is_ignored_for_a_service_without_health_checks(sd: Any) -> None:
    _scene(sd)
    answer = sd.discover_instances(
        NamespaceName="corp.local", ServiceName="backend", HealthStatus="UNHEALTHY"
    )
    assert _ids(answer) == ["i-0", "i-1", "i-2"]


def test_max_results_limits_the_answer(sd: Any) -> None:
    _scene(sd)
    answer = sd.discover_instances(NamespaceName="corp.local", ServiceName="backend", MaxResults=2)
    assert len(answer["Instances"]) == 2


def test_the_revision_grows_with_registrations_not_with_health(sd: Any) -> None:
    service = _scene(sd, custom=True)

    def revision() -> int:
        answer = sd.discover_instances_revision(NamespaceName="corp.local", ServiceName="backend")
        return int(answer["InstancesRevision"])

    before = revision()
    sd.update_instance_custom_health_status(ServiceId=service, InstanceId="i-0", Status="UNHEALTHY")
    assert revision() == before  # "The health status updates don't update InstancesRevision"
    sd.deregister_instance(ServiceId=service, InstanceId="i-0")
    after_deregister = revision()
    assert after_deregister > before
    sd.register_instance(
        ServiceId=service, InstanceId="i-9", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.9"}
    )
    assert revision() > after_deregister


@pytest.mark.parametrize("call", ["discover_instances", "discover_instances_revision"])
def test_unknown_names_are_namespace_or_service_not_found(sd: Any, call: str) -> None:
    _scene(sd)
    with pytest.raises(ClientError) as no_namespace:
        getattr(sd, call)(NamespaceName="nope.local", ServiceName="backend")
    assert code(no_namespace) == "NamespaceNotFound"
    assert status(no_namespace) == 404
    with pytest.raises(ClientError) as no_service:
        getattr(sd, call)(NamespaceName="corp.local", ServiceName="nope")
    assert code(no_service) == "ServiceNotFound"
    assert status(no_service) == 404


def test_another_owner_account_finds_nothing_shared(sd: Any) -> None:
    _scene(sd)
    with pytest.raises(ClientError) as error:
        sd.discover_instances(
            NamespaceName="corp.local", ServiceName="backend", OwnerAccount="999999999999"
        )
    assert code(error) == "NamespaceNotFound"
