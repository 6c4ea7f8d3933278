"""The aws CLI's `servicediscovery` commands against a real server: a user's script making a
namespace, a service and an instance, then discovering it; and an error's exit code and
message."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.conftest import REGION, ServerProcess, aws_cli


def run(server: ServerProcess, account: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
        # DiscoverInstances' `data-` host prefix would name a host no resolver knows.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [*aws_cli(), "--endpoint-url", server.url, "--output", "json", "servicediscovery", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli(server: ServerProcess, account: str, *args: str) -> dict[str, Any]:
    done = run(server, account, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}  # type: ignore[no-any-return]


def test_a_script_creates_a_namespace_service_and_instance_and_discovers_it(
    server: ServerProcess, account: str
) -> None:
    created = cli(
        server, account, "create-private-dns-namespace", "--name", "corp.local", "--vpc", "vpc-1"
    )
    operation = cli(server, account, "get-operation", "--operation-id", created["OperationId"])
    assert operation["Operation"]["Status"] == "SUCCESS"
    namespace = operation["Operation"]["Targets"]["NAMESPACE"]
    service = cli(
        server,
        account,
        "create-service",
        "--name",
        "backend",
        "--namespace-id",
        namespace,
        "--dns-config",
        "RoutingPolicy=MULTIVALUE,DnsRecords=[{Type=A,TTL=60}]",
        "--health-check-custom-config",
        "FailureThreshold=1",
    )["Service"]
    assert service["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 60}]
    registered = cli(
        server,
        account,
        "register-instance",
        "--service-id",
        service["Id"],
        "--instance-id",
        "task-1",
        "--attributes",
        "AWS_INSTANCE_IPV4=10.0.0.7,color=blue",
    )
    assert registered["OperationId"]
    listed = cli(server, account, "list-instances", "--service-id", service["Id"])
    assert [i["Id"] for i in listed["Instances"]] == ["task-1"]
    found = cli(
        server,
        account,
        "discover-instances",
        "--namespace-name",
        "corp.local",
        "--service-name",
        "backend",
        "--query-parameters",
        "color=blue",
    )
    assert [(i["InstanceId"], i["HealthStatus"]) for i in found["Instances"]] == [
        ("task-1", "HEALTHY")
    ]


def test_an_error_exits_255_with_the_code_and_message(server: ServerProcess, account: str) -> None:
    done = run(server, account, "get-namespace", "--id", "ns-doesnotexist")
    assert done.returncode == 255  # awscli v1: a service error
    assert "An error occurred (NamespaceNotFound) when calling the GetNamespace operation" in (
        done.stderr
    )
    assert "ns-doesnotexist" in done.stderr
