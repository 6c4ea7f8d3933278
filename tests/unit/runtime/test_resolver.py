"""The resolver engine in-process: a real SQLite store, real sockets on loopback. The table
follows the store's change feed, and registry names come in through set_records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from dnslib import RCODE, DNSRecord

from meshway.runtime.dns import ADDRESS_FILE, Resolver, query, read_address_file
from meshway.store.base import Record
from meshway.store.sql import SqlStore, open_store

MESH = "arn:aws:appmesh:us-west-2:111122223333:mesh/demo"


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


def test_registry_records_override_and_fall_back_to_the_synthetic_address(tmp_path: Path) -> None:
    async def body(store: SqlStore, resolver: Resolver) -> None:
        put_virtual_service(store, "colorteller.demo.local")
        assert await until(lambda: _resolves(resolver, "colorteller.demo.local"))
        _, synthetic = await ask(resolver, "colorteller.demo.local")
        resolver.set_records("ColorTeller.demo.local", ["198.18.0.7", "198.18.0.8"], ttl=10)
        assert (await ask(resolver, "colorteller.demo.local"))[1] in (
            ["198.18.0.7", "198.18.0.8"],
            ["198.18.0.8", "198.18.0.7"],
        )
        resolver.set_records("colorteller.demo.local", [], ttl=10)  # no healthy instance
        assert (await ask(resolver, "colorteller.demo.local"))[1] == synthetic
        resolver.set_records("api.cloudmap.local", ["198.18.0.9"])
        assert await ask(resolver, "api.cloudmap.local") == ("NOERROR", ["198.18.0.9"])
        resolver.remove_records("api.cloudmap.local")
        assert await ask(resolver, "api.cloudmap.local") == ("NXDOMAIN", [])

    run_with_resolver(tmp_path, body)


def test_the_host_address_is_written_for_the_cli_and_removed_at_stop(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    async def body(store: SqlStore, resolver: Resolver) -> None:
        seen.append(read_address_file(tmp_path / ADDRESS_FILE))
        assert seen[0] == resolver.addresses[0]
        request = DNSRecord.question("x.local")
        raw = await asyncio.to_thread(request.send, *seen[0], tcp=True, timeout=5)
        reply = DNSRecord.parse(raw)
        assert reply.header.rcode == RCODE.NXDOMAIN  # TCP on the same port

    run_with_resolver(tmp_path, body)
    assert seen[0][0] == "127.0.0.1"
    assert not (tmp_path / ADDRESS_FILE).exists()


async def _resolves(resolver: Resolver, name: str) -> bool:
    return (await ask(resolver, name))[0] == "NOERROR"


async def _nxdomain(resolver: Resolver, name: str) -> bool:
    return (await ask(resolver, name))[0] == "NXDOMAIN"
