"""Fixtures for the Cloud Map contract tests: a boto3 `servicediscovery` client of a fresh
account, and helpers that make a namespace or a service the way a user's script does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ServerProcess


@pytest.fixture
def sd(server: ServerProcess, account: str) -> Any:
    # DiscoverInstances has the model's host prefix `data-`: botocore would send it to
    # data-127.0.0.1, which no resolver knows. Clients of a local endpoint turn the prefix off
    # (this, or AWS_DISABLE_HOST_PREFIX_INJECTION=true for the aws CLI).
    return server.client(
        "servicediscovery",
        aws_access_key_id=account,
        config_kwargs={"inject_host_prefix": False},
    )


def namespace_id(sd: Any, operation_id: str) -> str:
    """The namespace a finished CREATE_NAMESPACE operation made."""
    operation = sd.get_operation(OperationId=operation_id)["Operation"]
    assert operation["Status"] == "SUCCESS", operation
    return str(operation["Targets"]["NAMESPACE"])


def private_namespace(sd: Any, name: str = "local") -> str:
    created = sd.create_private_dns_namespace(Name=name, Vpc="vpc-1")
    return namespace_id(sd, created["OperationId"])


def http_namespace(sd: Any, name: str = "apps") -> str:
    return namespace_id(sd, sd.create_http_namespace(Name=name)["OperationId"])


def dns_service(sd: Any, namespace: str, name: str = "backend", **extra: Any) -> dict[str, Any]:
    config = extra.pop("DnsConfig", {"DnsRecords": [{"Type": "A", "TTL": 10}]})
    created = sd.create_service(Name=name, NamespaceId=namespace, DnsConfig=config, **extra)
    return dict(created["Service"])


def code(error: Any) -> str:
    return str(error.value.response["Error"]["Code"])


def status(error: Any) -> int:
    return int(error.value.response["ResponseMetadata"]["HTTPStatusCode"])
