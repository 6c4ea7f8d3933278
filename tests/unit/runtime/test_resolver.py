"""The resolver engine in-process: a real SQLite store, real sockets on loopback. The table
follows the store's change feed: virtual services, tasks and Cloud Map records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from dnslib import RCODE, DNSRecord

from meshway.model.servicediscovery import records as cloudmap
from meshway.runtime.dns import ADDRESS_FILE, Resolver, query, read_address_file
from meshway.store.base import Record
from meshway.store.sql import SqlStore, open_store

MESH = "arn:aws:appmesh:us-west-2:111122223333:mesh/demo"
SCOPE = cloudmap.CloudMapScope(region="us-west-2", account="111122223333")


def put_virtual_service(store: SqlStore, name: str) -> None:
    with store.transaction() as tx:
        tx.put(
            Record(
                kind="appmesh.virtualService",
                key=f"{MESH}/virtualService/{name}",
                parent=MESH,
                name=name,
                body={"data": {"virtualServiceName": name}, "tags": []},
            )
        )


def delete_virtual_service(store: SqlStore, name: str) -> None:
    with store.transaction() as tx:
        tx.delete("appmesh.virtualService", f"{MESH}/virtualService/{name}")


async def ask(resolver: Resolver, name: str) -> tuple[str, list[str]]:
    reply = await asyncio.to_thread(query, name, resolver.addresses[0])
    return str(RCODE.get(reply.header.rcode)), [str(r.rdata) for r in reply.rr]


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def run_with_resolver(
    tmp_path: Path, body: Callable[[SqlStore, Resolver], Awaitable[None]]
) -> None:
    async def main() -> None:
        store = open_store(None, tmp_path / "data")
        resolver = Resolver(
            store=store,
            cidr="198.18.0.0/16",
            listen=[("127.0.0.1", 0)],
            address_file=tmp_path / ADDRESS_FILE,
        )
        await resolver.start()
        try:
            await body(store, resolver)
        finally:
            await resolver.stop()
            store.close()

    asyncio.run(main())


def test_virtual_services_appear_and_disappear_with_the_store(tmp_path: Path) -> None:
    async def body(store: SqlStore, resolver: Resolver) -> None:
        assert await ask(resolver, "colorteller.demo.local") == ("NXDOMAIN", [])
        put_virtual_service(store, "colorteller.demo.local")
        assert await until(lambda: _resolves(resolver, "colorteller.demo.local")), (
            "the resolver never saw the new virtual service"
        )
        rcode, first = await ask(resolver, "colorteller.demo.local")
        assert rcode == "NOERROR"
        assert first[0].startswith("198.18.2")  # inside 198.18.240.0/20
        delete_virtual_service(store, "colorteller.demo.local")
        assert await until(lambda: _nxdomain(resolver, "colorteller.demo.local")), (
            "the deleted virtual service still resolves"
        )

    run_with_resolver(tmp_path, body)


def put_cloud_map_service(store: SqlStore, namespace: str, service: str) -> str:
    """A private DNS namespace and a MULTIVALUE A service in it; the service ARN."""
    ns_arn, srv_arn = SCOPE.namespace_arn("ns-1"), SCOPE.service_arn("srv-1")
    dns = {"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]}
    with store.transaction() as tx:
        ns_body = {"Id": "ns-1", "Arn": ns_arn, "Name": namespace, "Type": "DNS_PRIVATE"}
        tx.put(Record(kind=cloudmap.NAMESPACE, key=ns_arn, parent=SCOPE.key, body=ns_body))
        srv_body = {"Id": "srv-1", "Arn": srv_arn, "Name": service, "DnsConfig": dns}
        tx.put(Record(kind=cloudmap.SERVICE, key=srv_arn, parent=ns_arn, body=srv_body))
    return srv_arn


def put_instance(store: SqlStore, service_arn: str, instance_id: str, ip: str, health: str) -> None:
    body = {
        "Id": instance_id,
        "ServiceId": "srv-1",
        "NamespaceId": "ns-1",
        "Attributes": {"AWS_INSTANCE_IPV4": ip},
        "HealthStatus": health,
    }
    with store.transaction() as tx:
        tx.put(
            Record(
                kind=cloudmap.INSTANCE,
                key=cloudmap.instance_key(service_arn, instance_id),
                parent=service_arn,
                name=instance_id,
                body=body,
            )
        )


def test_cloud_map_records_override_and_fall_back_to_the_synthetic_address(
    tmp_path: Path,
) -> None:
    async def body(store: SqlStore, resolver: Resolver) -> None:
        name = "colorteller.demo.local"
        put_virtual_service(store, name)
        assert await until(lambda: _resolves(resolver, name))
        _, synthetic = await ask(resolver, name)
        service = put_cloud_map_service(store, "Demo.Local", "ColorTeller")
        put_instance(store, service, "i-1", "198.18.0.7", "HEALTHY")
        put_instance(store, service, "i-2", "198.18.0.8", "HEALTHY")
        assert await until(lambda: _answers(resolver, name, ["198.18.0.7", "198.18.0.8"]))
        put_instance(store, service, "i-1", "198.18.0.7", "UNHEALTHY")
        assert await until(lambda: _answers(resolver, name, ["198.18.0.8"]))
        put_instance(store, service, "i-2", "198.18.0.8", "UNHEALTHY")  # nothing healthy
        assert await until(lambda: _answers(resolver, name, synthetic))
        assert await ask(resolver, "demo.local") == ("NOERROR", [])  # the zone apex exists
        assert await ask(resolver, "other.demo.local") == ("NXDOMAIN", [])

    run_with_resolver(tmp_path, body)


def test_a_deregistered_instance_leaves_the_answer(tmp_path: Path) -> None:
    async def body(store: SqlStore, resolver: Resolver) -> None:
        service = put_cloud_map_service(store, "cloudmap.local", "api")
        put_instance(store, service, "i-1", "198.18.0.9", "UNKNOWN")
        assert await until(lambda: _answers(resolver, "api.cloudmap.local", ["198.18.0.9"]))
        with store.transaction() as tx:
            tx.delete(cloudmap.INSTANCE, cloudmap.instance_key(service, "i-1"))
        assert await until(lambda: _nxdomain(resolver, "api.cloudmap.local"))

    run_with_resolver(tmp_path, body)


def test_a_reply_too_big_for_udp_comes_whole_over_tcp(tmp_path: Path) -> None:
    async def body(store: SqlStore, resolver: Resolver) -> None:
        label = "a" * 60
        service = put_cloud_map_service(store, f"{label}.{label}.local", "api")
        with store.transaction() as tx:
            srv = tx.get(cloudmap.SERVICE, service)
            assert srv is not None
            dns = {"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "SRV", "TTL": 10}]}
            tx.put(replace(srv, body={**srv.body, "DnsConfig": dns}))
        for n in range(8):
            put_instance(store, service, f"{label}{n}", f"198.18.0.{n + 2}", "HEALTHY")
        with store.transaction() as tx:  # the SRV port: RegisterInstance requires it
            for n in range(8):
                key = cloudmap.instance_key(service, f"{label}{n}")
                found = tx.get(cloudmap.INSTANCE, key)
                assert found is not None
                attributes = {**found.body["Attributes"], "AWS_INSTANCE_PORT": "80"}
                tx.put(replace(found, body={**found.body, "Attributes": attributes}))
        name = f"api.{label}.{label}.local"
        udp = DNSRecord.question(name, "SRV")
        address = resolver.addresses[0]

        async def truncated() -> bool:
            raw = await asyncio.to_thread(udp.send, address[0], address[1], timeout=5)
            return bool(DNSRecord.parse(raw).header.tc)

        assert await until(truncated)
        reply = await asyncio.to_thread(query, name, address, "SRV")  # retries over TCP
        assert reply.header.tc == 0
        assert len(reply.rr) == 8

    run_with_resolver(tmp_path, body)


def test_the_host_address_is_written_for_the_cli_and_removed_at_stop(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    async def body(store: SqlStore, resolver: Resolver) -> None:
        seen.append(read_address_file(tmp_path / ADDRESS_FILE))
        assert seen[0] == resolver.addresses[0]
        request = DNSRecord.question("x.local")
        host, port = seen[0]
        raw = await asyncio.to_thread(request.send, host, port, tcp=True, timeout=5)
        reply = DNSRecord.parse(raw)
        assert reply.header.rcode == RCODE.NXDOMAIN  # TCP on the same port

    run_with_resolver(tmp_path, body)
    assert seen[0][0] == "127.0.0.1"
    assert not (tmp_path / ADDRESS_FILE).exists()


async def _resolves(resolver: Resolver, name: str) -> bool:
    return (await ask(resolver, name))[0] == "NOERROR"


async def _nxdomain(resolver: Resolver, name: str) -> bool:
    return (await ask(resolver, name))[0] == "NXDOMAIN"


async def _answers(resolver: Resolver, name: str, expected: list[str]) -> bool:
    rcode, found = await ask(resolver, name)
    return rcode == "NOERROR" and sorted(found) == sorted(expected)
