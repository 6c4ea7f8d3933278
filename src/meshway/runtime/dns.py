"""The resolver tasks use: an authoritative DNS server on the bridge address (198.18.0.1:53, UDP
and TCP) and on a loopback port for the host (`meshway dns NAME`).

It answers only from its name table (names.py): A queries with up to 8 addresses, AAAA and other
types of a known name with an empty NOERROR (tasks are IPv4-only), anything else NXDOMAIN at once.
It never forwards: a task's queries must not leave the host, and must fail fast. Replies stay far
under 512 bytes, so no client ever needs TCP; TCP is served anyway (the host and uid 1337 can use
it), but a task's TCP to port 53 is redirected to Envoy by the APPMESH rules (runtime-spike.md §5).

The table is rebuilt from the store when virtual services or tasks change (change feed, as
engine.py follows it); registry names come in through `set_records` (Cloud Map, ECS service
registries). The host-side address is kept in a file under the data directory for the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from dnslib import OPCODE, QTYPE, RCODE, RR, A, DNSRecord

from meshway.model.appmesh.kinds import KINDS, KindName
from meshway.runtime.names import (
    DEFAULT_TTL,
    Answer,
    NameTable,
    assign_synthetic,
    build_table,
    normalize,
    pick,
    task_hosts,
    virtual_service_names,
)
from meshway.service.ecs.base import LIVE_PHASES, TASK, tasks_in
from meshway.store.base import Store, iter_all

log = logging.getLogger(__name__)

VIRTUAL_SERVICE = KINDS[KindName.VIRTUAL_SERVICE].store_kind
WATCHED = frozenset({VIRTUAL_SERVICE, TASK})
ADDRESS_FILE = "dns-address"  # under the data directory: "127.0.0.1:PORT" of the host listener
SAFETY_POLL = 5.0  # seconds; commits wake the resolver at once
TCP_IDLE = 10.0  # seconds a TCP client may stay silent between queries


def respond(data: bytes, table: NameTable, rotation: int = 0) -> bytes | None:
    """The reply to one DNS message, or None when it deserves none (garbage, or a reply)."""
    try:
        query = DNSRecord.parse(data)
    except Exception:  # hostile bytes of any shape must never reach the event loop
        return None
    if query.header.qr:
        return None
    reply = query.reply(ra=0, aa=1)
    if query.header.opcode != OPCODE.QUERY:
        reply.header.rcode = RCODE.NOTIMP
    elif len(query.questions) != 1:
        reply.header.rcode = RCODE.FORMERR
    else:
        _answer(reply, table, rotation)
    return bytes(reply.pack())


def _answer(reply: DNSRecord, table: NameTable, rotation: int) -> None:
    question = reply.q
    found = table.lookup(str(question.qname))
    if found is None:
        reply.header.rcode = RCODE.NXDOMAIN
    elif question.qtype in (QTYPE.A, QTYPE.ANY):
        for address in pick(found.addresses, rotation):
            reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=found.ttl))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        self._answer = answer
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio.DatagramTransport, but has sendto.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self._answer(data)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)


class Resolver:
    """The name table, kept current, served on the given (host, port) addresses."""

    def __init__(
        self,
        *,
        store: Store,
        cidr: str,
        listen: Sequence[tuple[str, int]] = (),
        address_file: Path | None = None,
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self._store = store
        self._cidr = cidr
        self._listen = list(listen)
        self._address_file = address_file
        self._ttl = ttl
        self._lock = threading.Lock()  # set_records may come from worker threads
        self._registry: dict[str, Answer] = {}
        self._synthetic: dict[str, str] = {}
        self._hosts: list[tuple[str, str]] = []
        self._table = NameTable()
        self._rotation = itertools.count()
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.addresses: list[tuple[str, int]] = []  # where it listens (ports resolved)

    @property
    def table(self) -> NameTable:
        return self._table

    # -- registry names (Cloud Map, ECS service registries) ----------------------------------

    def set_records(self, name: str, addresses: Sequence[str], ttl: int = DEFAULT_TTL) -> None:
        """`name` answers with these (healthy) addresses from now on; thread-safe."""
        with self._lock:
            self._registry[normalize(name)] = Answer(addresses=tuple(addresses), ttl=ttl)
            self._publish()

    def remove_records(self, name: str) -> None:
        with self._lock:
            self._registry.pop(normalize(name), None)
            self._publish()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        revision = await asyncio.to_thread(self._store.revision)
        await asyncio.to_thread(self.reload)
        for host, port in self._listen:
            try:
                self.addresses.append(await self._bind(host, port))
            except OSError as error:  # the server still runs; lookups there get port-unreachable
                log.error("DNS resolver cannot listen on %s:%d: %s", host, port, error)
        if self._address_file is not None and self.addresses:
            host, port = self.addresses[0]
            self._address_file.write_text(f"{host}:{port}\n")

        def wake(_: int) -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self._unsubscribe = self._store.subscribe(wake)
        self._loop_task = asyncio.create_task(self._follow(revision))
        log.info("DNS resolver listening on %s", self.addresses)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.close()
            await server.wait_closed()
        if self._address_file is not None:
            self._address_file.unlink(missing_ok=True)

    # -- the table ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read virtual services and live tasks from the store; rebuild the table."""
        with self._store.read() as tx:
            services = virtual_service_names(iter_all(tx, VIRTUAL_SERVICE))
            hosts = task_hosts(tasks_in(tx, LIVE_PHASES))
        with self._lock:
            self._synthetic = assign_synthetic(services, self._cidr, self._synthetic)
            self._hosts = hosts
            self._publish()

    def _publish(self) -> None:
        self._table = build_table(
            registry=self._registry,
            virtual_services=self._synthetic,
            task_hosts=self._hosts,
            ttl=self._ttl,
        )

    async def _follow(self, revision: int) -> None:
        while True:
            self._wake.clear()
            try:
                revision = await self._catch_up(revision)
            except Exception:
                log.exception("DNS resolver failed to follow the store")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=SAFETY_POLL)

    async def _catch_up(self, revision: int) -> int:
        relevant = False
        while changes := await asyncio.to_thread(self._store.changes_since, revision):
            revision = changes[-1].revision
            relevant = relevant or any(c.kind in WATCHED for c in changes)
        if relevant:
            await asyncio.to_thread(self.reload)
        return revision

    # -- the wire ----------------------------------------------------------------------------

    def answer(self, data: bytes) -> bytes | None:
        return respond(data, self._table, next(self._rotation))

    async def _bind(self, host: str, port: int) -> tuple[str, int]:
        """UDP and TCP on one port (port 0: a free port both protocols can have)."""
        for _ in range(10):
            loop = asyncio.get_running_loop()
            transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _Udp(self.answer), local_addr=(host, port), family=socket.AF_INET
            )
            bound = int(transport.get_extra_info("sockname")[1])
            try:
                server = await asyncio.start_server(self._serve_tcp, host, bound)
            except OSError:
                transport.close()
                if port:
                    raise
                continue  # the free UDP port was taken for TCP: try another
            self._transports.append(transport)
            self._servers.append(server)
            return host, bound
        raise OSError(f"no port on {host} is free for both UDP and TCP")

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """RFC 7766: two-byte length, message; several queries per connection."""
        try:
            while True:
                size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), TCP_IDLE))
                data = await asyncio.wait_for(reader.readexactly(size[0]), TCP_IDLE)
                reply = self.answer(data)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


def read_address_file(path: Path) -> tuple[str, int]:
    host, _, port = path.read_text().strip().rpartition(":")
    return host, int(port)


def query(name: str, server: tuple[str, int], qtype: str = "A", timeout: float = 2.0) -> DNSRecord:
    """One UDP query (the CLI's and the tests' client). ValueError for an unknown type."""
    if qtype not in QTYPE.reverse:
        raise ValueError(f"unknown query type {qtype!r}")
    request = DNSRecord.question(name, qtype)
    return DNSRecord.parse(request.send(server[0], server[1], tcp=False, timeout=timeout))


def rcode_name(reply: DNSRecord) -> str:
    return str(RCODE.get(reply.header.rcode))
