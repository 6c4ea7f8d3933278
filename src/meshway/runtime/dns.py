"""The resolver tasks use: an authoritative DNS server on the bridge address (198.18.0.1:53, UDP
and TCP) and on a loopback port for the host (`meshway dns NAME`).

It answers only from its name table (names.py): A, AAAA, SRV, CNAME, SOA and ANY; a known name
without data of the asked type gets an empty NOERROR (with the zone's SOA inside a Cloud Map
zone), anything else NXDOMAIN at once. It never forwards: a task's queries must not leave the
host, and must fail fast. Replies fit 512 bytes (at most 8 values per set); a reply that would
not loses its additional data, then sets TC (RFC 2181 §9). TCP is served too (the host and uid
1337 can use it), but a task's TCP to port 53 is redirected to Envoy by the APPMESH rules
(runtime-spike.md §5).

The table is rebuilt from the store's change feed (as engine.py follows it), each source only
when its kinds changed: virtual services, live tasks, Cloud Map namespaces/services/instances
(written by the Cloud Map API and the ECS service registries). The host-side address is kept in a
file under the data directory for the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from dnslib import (
    AAAA,
    CNAME,
    OPCODE,
    QTYPE,
    RCODE,
    RD,
    RR,
    SOA,
    SRV,
    A,
    DNSHeader,
    DNSLabel,
    DNSRecord,
)

from meshway.core.files import write_private
from meshway.model.appmesh.kinds import KINDS, KindName
from meshway.model.servicediscovery import records as cloudmap
from meshway.model.servicediscovery.dns import Srv, Zone, ZoneRecords, build_zone_records
from meshway.runtime.names import (
    DEFAULT_TTL,
    NameTable,
    Rr,
    assign_synthetic,
    build_table,
    resolve,
    task_hosts,
    virtual_service_names,
)
from meshway.service.ecs.base import LIVE_PHASES, TASK, tasks_in
from meshway.store.base import Store, iter_all

log = logging.getLogger(__name__)

VIRTUAL_SERVICE = KINDS[KindName.VIRTUAL_SERVICE].store_kind
CLOUD_MAP = frozenset({cloudmap.NAMESPACE, cloudmap.SERVICE, cloudmap.INSTANCE})
WATCHED = frozenset({VIRTUAL_SERVICE, TASK}) | CLOUD_MAP
UDP_LIMIT = 512  # RFC 1035 §4.2.1; the resolver does not offer EDNS
TCP_LIMIT = 65535
ADDRESS_FILE = "dns-address"  # under the data directory: "127.0.0.1:PORT" of the host listener
SAFETY_POLL = 5.0  # seconds; commits wake the resolver at once
TCP_IDLE = 10.0  # seconds a TCP client may stay silent between queries


def respond(
    data: bytes, table: NameTable, rng: random.Random, limit: int = UDP_LIMIT
) -> bytes | None:
    """The reply to one DNS message, or None when it deserves none (garbage, or a reply).
    `limit` is the largest reply the transport takes (512 bytes on UDP without EDNS, RFC 1035)."""
    try:
        query = DNSRecord.parse(data)
    except Exception:  # hostile bytes of any shape must never reach the event loop
        return None
    if query.header.qr:
        return None
    # NOTE: not query.reply(): it copies the query's whole flag word, so a query with RCODE,
    # TC or Z bits set got them back (NXDOMAIN beside answers, a bogus truncation).
    header = DNSHeader(id=query.header.id, qr=1, aa=1, ra=0)
    header.opcode, header.rd = query.header.opcode, query.header.rd
    reply = DNSRecord(header, q=query.q)
    if query.header.opcode != OPCODE.QUERY:
        reply.header.rcode = RCODE.NOTIMP
    elif len(query.questions) != 1:
        reply.header.rcode = RCODE.FORMERR
    else:
        _answer(reply, table, rng)
    return _fit(reply, limit)


def _answer(reply: DNSRecord, table: NameTable, rng: random.Random) -> None:
    question = reply.q
    qtype = str(QTYPE.get(question.qtype))
    found = resolve(table, str(question.qname), qtype, rng)
    if not found.exists:
        reply.header.rcode = RCODE.NXDOMAIN
    if found.soa is not None:
        reply.add_answer(_soa(found.soa))
    for rr in found.answers:
        owner = question.qname if rr.name == str(question.qname) else DNSLabel(rr.name)
        reply.add_answer(RR(owner, getattr(QTYPE, rr.rtype), rdata=_rdata(rr), ttl=rr.ttl))
    for rr in found.additional:
        reply.add_ar(RR(rr.name, getattr(QTYPE, rr.rtype), rdata=_rdata(rr), ttl=rr.ttl))
    if found.authority is not None:
        reply.add_auth(_soa(found.authority))


def _rdata(rr: Rr) -> RD:
    value = rr.value
    if isinstance(value, Srv):
        return SRV(value.priority, value.weight, value.port, value.target)
    if rr.rtype == "A":
        return A(value)
    if rr.rtype == "AAAA":
        return AAAA(value)
    return CNAME(value)


def _soa(zone: Zone) -> RR:
    """Route 53's SOA for a private hosted zone; its TTL and MINIMUM are the negative TTL."""
    times = (1, 7200, 900, 1209600, zone.negative_ttl)
    rdata = SOA("ns-1536.awsdns-00.co.uk.", "awsdns-hostmaster.amazon.com.", times)
    return RR(zone.name, QTYPE.SOA, rdata=rdata, ttl=zone.negative_ttl)


def _fit(reply: DNSRecord, limit: int) -> bytes:
    """RFC 2181 §9: drop additional data first; if the answer itself does not fit, send the
    header and question with TC set so the client retries over TCP."""
    packed = bytes(reply.pack())
    if len(packed) <= limit:
        return packed
    reply.ar = []
    reply.set_header_qa()
    packed = bytes(reply.pack())
    if len(packed) <= limit:
        return packed
    reply.rr, reply.auth = [], []
    reply.set_header_qa()
    reply.header.tc = 1
    return bytes(reply.pack())


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
        self._lock = threading.Lock()  # reload() may run in worker threads
        self._registry = ZoneRecords()
        self._synthetic: dict[str, str] = {}
        self._hosts: list[tuple[str, str]] = []
        self._table = NameTable()
        self._rng = random.Random()  # noqa: S311 (load spreading, not secrets)
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.addresses: list[tuple[str, int]] = []  # where it listens (ports resolved)

    @property
    def table(self) -> NameTable:
        return self._table

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
            write_private(self._address_file, f"{host}:{port}\n")

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

    def reload(self, kinds: frozenset[str] | None = None) -> None:
        """Reread the sources whose kinds changed (all when None); rebuild the table."""
        with self._store.read() as tx:
            services = hosts = registry = None
            if kinds is None or VIRTUAL_SERVICE in kinds:
                services = virtual_service_names(iter_all(tx, VIRTUAL_SERVICE))
            if kinds is None or TASK in kinds:
                hosts = task_hosts(tasks_in(tx, LIVE_PHASES))
            if kinds is None or kinds & CLOUD_MAP:
                registry = build_zone_records(
                    iter_all(tx, cloudmap.NAMESPACE),
                    iter_all(tx, cloudmap.SERVICE),
                    iter_all(tx, cloudmap.INSTANCE),
                )
        with self._lock:
            if services is not None:
                self._synthetic = assign_synthetic(services, self._cidr, self._synthetic)
            if hosts is not None:
                self._hosts = hosts
            if registry is not None:
                self._registry = registry
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
        changed: set[str] = set()
        while changes := await asyncio.to_thread(self._store.changes_since, revision):
            revision = changes[-1].revision
            changed.update(c.kind for c in changes if c.kind in WATCHED)
        if changed:
            await asyncio.to_thread(self.reload, frozenset(changed))
        return revision

    # -- the wire ----------------------------------------------------------------------------

    def answer(self, data: bytes, limit: int = UDP_LIMIT) -> bytes | None:
        return respond(data, self._table, self._rng, limit)

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
                reply = self.answer(data, TCP_LIMIT)
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
    """One query over UDP, retried over TCP when truncated (the CLI's and the tests' client).
    ValueError for an unknown type."""
    if qtype not in QTYPE.reverse:
        raise ValueError(f"unknown query type {qtype!r}")
    request = DNSRecord.question(name, qtype)
    reply = DNSRecord.parse(request.send(server[0], server[1], tcp=False, timeout=timeout))
    if reply.header.tc:  # too big for UDP: ask again over TCP, as a stub resolver would
        reply = DNSRecord.parse(request.send(server[0], server[1], tcp=True, timeout=timeout))
    return reply


def rcode_name(reply: DNSRecord) -> str:
    return str(RCODE.get(reply.header.rcode))
