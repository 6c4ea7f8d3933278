"""`meshway dns NAME` against a real server: virtual service names resolve through the resolver's
loopback listener (no root needed), other names are NXDOMAIN, and the table follows the store."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time
from typing import Any

from dnslib import RCODE, DNSRecord

from meshway.runtime.dns import ADDRESS_FILE, read_address_file
from tests.conftest import ServerProcess


def meshway_dns(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshway", "dns", "--data-dir", str(server.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def until(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def make_virtual_service(appmesh: Any, mesh: str, name: str) -> None:
    appmesh.create_mesh(meshName=mesh)
    appmesh.create_virtual_service(meshName=mesh, virtualServiceName=name, spec={})


def test_meshway_dns_resolves_a_virtual_service_name_to_a_synthetic_task_address(
    server: ServerProcess, appmesh: Any, unique: str
) -> None:
    name = f"{unique}.demo.local".lower()
    make_virtual_service(appmesh, unique, name)
    out = until(lambda: meshway_dns(server, name).stdout)
    address, answered, ttl = out.strip().split("\t")
    assert answered == name
    assert ttl == "5"
    assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network("198.18.240.0/20")
    again = meshway_dns(server, name.upper())  # case does not matter; the address is stable
    assert again.stdout.split("\t")[0] == address


def test_meshway_dns_reports_nxdomain_for_an_unknown_name_and_empty_aaaa_for_a_known_one(
    server: ServerProcess, appmesh: Any, unique: str
) -> None:
    name = f"{unique}.demo.local".lower()
    make_virtual_service(appmesh, unique, name)
    assert until(lambda: meshway_dns(server, name).stdout)
    aaaa = meshway_dns(server, name, "--type", "AAAA")
    assert (aaaa.returncode, aaaa.stdout) == (0, "")
    unknown = meshway_dns(server, f"nothing-{unique}.example.com")
    assert unknown.returncode == 2
    assert "NXDOMAIN" in unknown.stderr


def test_a_deleted_virtual_service_stops_resolving(
    server: ServerProcess, appmesh: Any, unique: str
) -> None:
    name = f"{unique}.demo.local".lower()
    make_virtual_service(appmesh, unique, name)
    assert until(lambda: meshway_dns(server, name).returncode == 0)
    appmesh.delete_virtual_service(meshName=unique, virtualServiceName=name)
    assert until(lambda: meshway_dns(server, name).returncode == 2)


def test_the_loopback_listener_answers_over_tcp_too(
    server: ServerProcess, appmesh: Any, unique: str
) -> None:
    name = f"{unique}.demo.local".lower()
    make_virtual_service(appmesh, unique, name)
    host, port = read_address_file(server.data_dir / ADDRESS_FILE)
    assert until(lambda: meshway_dns(server, name).returncode == 0)
    reply = DNSRecord.parse(DNSRecord.question(name).send(host, port, tcp=True, timeout=5))
    assert reply.header.rcode == RCODE.NOERROR
    assert len(reply.rr) == 1


def test_meshway_dns_without_a_running_server_says_so(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "meshway", "dns", "--data-dir", str(tmp_path), "x.local"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot query the resolver" in result.stderr
