"""Cloud Map's DNS records through the server's resolver: namespaces, services and instances made
with boto3's `servicediscovery` client, answers read from the resolver's host listener (the one
`meshway dns` uses) — TTLs, MULTIVALUE's cap of 8, WEIGHTED's single answer, health, SRV, and
deregistration."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from dnslib import QTYPE, RCODE

from meshway.runtime.dns import ADDRESS_FILE, query, read_address_file
from tests.conftest import ServerProcess, make_client

VPC = "vpc-0123456789abcdef0"


@pytest.fixture
def sd(server: ServerProcess, account: str) -> Any:
    return make_client(server.url, "servicediscovery", aws_access_key_id=account)


@pytest.fixture
def namespace(sd: Any, account: str) -> str:
    """A private DNS namespace of this test's own (names are shared by the server's network)."""
    name = f"a{account}.local"
    operation = sd.create_private_dns_namespace(Name=name, Vpc=VPC)["OperationId"]
    assert until(
        lambda: (
            sd.get_operation(OperationId=operation)["Operation"]["Status"] in ("SUCCESS", "FAIL")
        )
    )
    done = sd.get_operation(OperationId=operation)["Operation"]
    assert done["Status"] == "SUCCESS"
    return name


def namespace_id(sd: Any, name: str) -> str:
    found = [n for n in sd.list_namespaces()["Namespaces"] if n["Name"] == name]
    return str(found[0]["Id"])


def create_service(
    sd: Any, ns: str, name: str, records: list[tuple[str, int]], **extra: Any
) -> str:
    dns = {
        "RoutingPolicy": extra.pop("policy", "MULTIVALUE"),
        "DnsRecords": [{"Type": t, "TTL": ttl} for t, ttl in records],
    }
    created = sd.create_service(Name=name, NamespaceId=namespace_id(sd, ns), DnsConfig=dns, **extra)
    return str(created["Service"]["Id"])


def register(sd: Any, service_id: str, instance_id: str, ip: str, **attrs: str) -> None:
    sd.register_instance(
        ServiceId=service_id,
        InstanceId=instance_id,
        Attributes={"AWS_INSTANCE_IPV4": ip, **attrs},
    )


def until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


def ask(
    server: ServerProcess, name: str, qtype: str = "A"
) -> tuple[str, list[tuple[str, str, int]]]:
    reply = query(name, read_address_file(server.data_dir / ADDRESS_FILE), qtype)
    return str(RCODE.get(reply.header.rcode)), [
        (QTYPE[r.rtype], str(r.rdata), r.ttl) for r in reply.rr
    ]


def addresses(server: ServerProcess, name: str) -> list[str]:
    return sorted(value for rtype, value, _ in ask(server, name)[1] if rtype == "A")


def ips(count: int) -> list[str]:
    return [f"10.9.0.{i}" for i in range(2, 2 + count)]


def test_a_records_answer_every_instance_with_the_service_ttl(
    sd: Any, server: ServerProcess, namespace: str
) -> None:
    service = create_service(sd, namespace, "colorteller", [("A", 37)])
    register(sd, service, "i-1", "10.9.0.2")
    register(sd, service, "i-2", "10.9.0.3")
    name = f"colorteller.{namespace}"
    assert until(lambda: addresses(server, name) == ["10.9.0.2", "10.9.0.3"])
    rcode, answers = ask(server, name.upper())
    assert rcode == "NOERROR"
    assert {ttl for _, _, ttl in answers} == {37}
    assert ask(server, namespace) == ("NOERROR", [])  # the apex exists: not NXDOMAIN
    assert ask(server, f"nothing.{namespace}") == ("NXDOMAIN", [])


def test_multivalue_answers_at_most_eight_of_ten_instances_spread_over_all(
    sd: Any, server: ServerProcess, namespace: str
) -> None:
    service = create_service(sd, namespace, "many", [("A", 10)])
    for n, ip in enumerate(ips(10)):
        register(sd, service, f"i-{n}", ip)
    name = f"many.{namespace}"
    assert until(lambda: len(addresses(server, name)) == 8)
    seen: set[str] = set()
    for _ in range(30):
        answer = addresses(server, name)
        assert len(answer) == len(set(answer)) == 8
        seen.update(answer)
    assert seen == set(ips(10))


def test_weighted_answers_one_instance_chosen_at_random(
    sd: Any, server: ServerProcess, namespace: str
) -> None:
    service = create_service(sd, namespace, "one", [("A", 10)], policy="WEIGHTED")
    for n, ip in enumerate(ips(3)):
        register(sd, service, f"i-{n}", ip)
    name = f"one.{namespace}"
    assert until(lambda: len(set(addresses(server, name)) | {"x"}) == 2)
    seen: set[str] = set()
    for _ in range(60):
        answer = addresses(server, name)
        assert len(answer) == 1
        seen.update(answer)
    assert seen == set(ips(3))


def test_an_unhealthy_instance_is_not_answered_until_it_is_healthy_again(
    sd: Any, server: ServerProcess, namespace: str
) -> None:
    service = create_service(
        sd, namespace, "health", [("A", 10)], HealthCheckCustomConfig={"FailureThreshold": 1}
    )
    register(sd, service, "i-1", "10.9.0.2")
    register(sd, service, "i-2", "10.9.0.3")
    name = f"health.{namespace}"
    assert until(lambda: addresses(server, name) == ["10.9.0.2", "10.9.0.3"])
    sd.update_instance_custom_health_status(ServiceId=service, InstanceId="i-1", Status="UNHEALTHY")
    # Cloud Map applies a custom status after up to ~30 s (HealthCheckCustomConfig).
    assert until(lambda: addresses(server, name) == ["10.9.0.3"], timeout=40)
    assert all(addresses(server, name) == ["10.9.0.3"] for _ in range(20))
    sd.update_instance_custom_health_status(ServiceId=service, InstanceId="i-1", Status="HEALTHY")
    assert until(lambda: addresses(server, name) == ["10.9.0.2", "10.9.0.3"], timeout=40)


def test_srv_records_name_each_instance_and_its_target_resolves(
    sd: Any, server: ServerProcess, namespace: str
) -> None:
    service = create_service(sd, namespace, "backend", [("SRV", 20)])
    register(sd, service, "test", "10.9.0.2", AWS_INSTANCE_PORT="8080")
    name = f"backend.{namespace}"
    assert until(lambda: ask(server, name, "SRV")[1])
    assert ask(server, name, "SRV") == (
        "NOERROR",
        [("SRV", f"1 1 8080 test.{name}.", 20)],
    )
    assert ask(server, name) == ("NOERROR", [])  # no A record type in this service
    assert ask(server, f"test.{name}") == ("NOERROR", [("A", "10.9.0.2", 20)])
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshway",
            "dns",
            "--data-dir",
            str(server.data_dir),
            name,
            "--type",
            "srv",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines() == [
        f"1 1 8080 test.{name}.\t{name}\t20",
        f"10.9.0.2\ttest.{name}\t20",
    ]


def test_a_deregistered_instance_leaves_the_answer_within_a_second(
    sd: Any, server: ServerProcess, namespace: str
) -> None:
    service = create_service(sd, namespace, "gone", [("A", 10)])
    register(sd, service, "i-1", "10.9.0.2")
    register(sd, service, "i-2", "10.9.0.3")
    name = f"gone.{namespace}"
    assert until(lambda: addresses(server, name) == ["10.9.0.2", "10.9.0.3"])
    sd.deregister_instance(ServiceId=service, InstanceId="i-1")
    assert until(lambda: addresses(server, name) == ["10.9.0.3"], timeout=1.0)
    sd.deregister_instance(ServiceId=service, InstanceId="i-2")
    assert until(lambda: ask(server, name)[0] == "NXDOMAIN", timeout=1.0)


def test_an_http_namespace_creates_no_dns_names(
    sd: Any, server: ServerProcess, account: str
) -> None:
    name = f"h{account}.local"
    operation = sd.create_http_namespace(Name=name)["OperationId"]
    assert until(
        lambda: sd.get_operation(OperationId=operation)["Operation"]["Status"] == "SUCCESS"
    )
    service = sd.create_service(Name="api", NamespaceId=namespace_id(sd, name))["Service"]["Id"]
    register(sd, service, "i-1", "10.9.0.2")
    time.sleep(0.3)  # the resolver follows commits at once; give it time to (not) appear
    assert ask(server, f"api.{name}") == ("NXDOMAIN", [])
    assert ask(server, name) == ("NXDOMAIN", [])
