"""Hostile input for the task resolver (issue 9, part 5): random bytes, mutated and truncated
queries, compression loops, lying TCP length prefixes. `respond()` never raises, answers only
what a reply may hold, and never answers for a name outside its table; the UDP and TCP listeners
keep answering good queries after the garbage."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, DNSHeader, DNSQuestion, DNSRecord
from hypothesis import given
from hypothesis import strategies as st

from meshway.model.servicediscovery.dns import RecordSet, Srv, Zone, ZoneRecords
from meshway.runtime.dns import TCP_LIMIT, UDP_LIMIT, Resolver, respond
from meshway.runtime.names import build_table
from meshway.store.sql import open_store
from tests.security.fuzzing import budget, outcome, tried

ZONE = Zone(name="demo.local", negative_ttl=30)
TABLE = build_table(
    registry=ZoneRecords(
        zones={"demo.local": ZONE},
        records={
            "api.demo.local": {
                "A": RecordSet(ttl=30, healthy=("198.18.0.2", "198.18.0.3")),
                "SRV": RecordSet(
                    ttl=60, healthy=(Srv(priority=1, weight=1, port=80, target="i.demo.local"),)
                ),
            },
            "i.demo.local": {"A": RecordSet(ttl=60, healthy=("198.18.0.4",))},
            "loop-a.demo.local": {"CNAME": RecordSet(ttl=5, healthy=("loop-b.demo.local",))},
            "loop-b.demo.local": {"CNAME": RecordSet(ttl=5, healthy=("loop-a.demo.local",))},
            "out.demo.local": {"CNAME": RecordSet(ttl=5, healthy=("example.com",))},
        },
    ),
    virtual_services={"colorteller.demo.local": "198.18.240.9"},
    task_hosts=[("ip-198-18-0-2", "198.18.0.2")],
)
KNOWN = sorted({*TABLE.records, *TABLE.zones})  # zone apexes answer SOA
HEADER = bytes.fromhex("abcd01000001000000000000")  # id abcd, RD, one question
TARGET = "dns respond()"

COMPRESSION = [
    HEADER + b"\xc0\x0c\x00\x01\x00\x01",  # the name points at itself
    HEADER + b"\x01a\xc0\x0c\x00\x01\x00\x01",  # a label, then back to its own start
    HEADER + b"\xc0\x0e\xc0\x0c\x00\x01\x00\x01",  # two pointers at each other
    HEADER + b"\xc0\xff\x00\x01\x00\x01",  # a pointer past the end
    HEADER + b"\x3fabc",  # a label longer than the message
    HEADER[:7],  # a truncated header
    b"",
]


def _query(name: str, qtype: str, ident: int = 0x3832) -> bytes:
    """DNSRecord.question() draws its id from `random`, which hypothesis strategies must not."""
    question = DNSQuestion(name, getattr(QTYPE, qtype))
    return bytes(DNSRecord(DNSHeader(id=ident, rd=1), q=question).pack())


names = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(KNOWN).map(str.upper),
    st.sampled_from(["example.com", "demo.local", "x.demo.local", "colorteller.demo.local."]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="."),
            min_size=1, max_size=20).map(lambda t: t + ".demo.local"),
)  # fmt: skip
qtypes = st.sampled_from(["A", "AAAA", "SRV", "CNAME", "SOA", "ANY", "TXT", "MX", "PTR"])
valid_queries = st.tuples(names, qtypes).map(lambda q: _query(*q))


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A valid query with bytes flipped, cut short or extended."""
    data = bytearray(draw(valid_queries))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=8))


messages = st.one_of(st.binary(max_size=600), valid_queries, mangled())


def _owners(reply: DNSRecord) -> set[str]:
    return {str(rr.rname).rstrip(".").lower() for rr in [*reply.rr, *reply.ar]}


def _check(data: bytes, limit: int) -> None:
    answer = respond(data, TABLE, random.Random(0), limit)
    if answer is None:
        outcome(TARGET, "no reply")
        return
    assert len(answer) <= limit
    reply = DNSRecord.parse(answer)  # what we send must itself be a well-formed message
    assert reply.header.qr == 1
    assert reply.header.id == int.from_bytes(data[:2], "big")
    outcome(TARGET, str(RCODE.get(reply.header.rcode)))
    owners = _owners(reply)
    assert owners <= set(KNOWN), owners - set(KNOWN)  # nothing answered outside the table
    if reply.header.rcode == RCODE.NXDOMAIN:
        assert not reply.rr


@pytest.mark.parametrize("data", COMPRESSION, ids=lambda d: d[12:].hex() or "empty")
def test_a_compression_loop_or_a_truncated_message_gets_no_reply(data: bytes) -> None:
    tried(TARGET)
    assert respond(data, TABLE, random.Random(0)) is None


@pytest.mark.parametrize(("bits", "name"), [(0x0003, "RCODE"), (0x0200, "TC"), (0x0040, "Z")])
def test_a_reply_never_echoes_header_bits_the_query_set(bits: int, name: str) -> None:
    """dnslib's reply() copies the query's flag word: a query with RCODE=NXDOMAIN or TC set got
    a reply saying NXDOMAIN (with answers) or truncated (sending the client to TCP)."""
    tried(TARGET)
    data = bytearray(_query("api.demo.local", "A"))
    flags = int.from_bytes(data[2:4], "big") | bits
    data[2:4] = flags.to_bytes(2, "big")
    reply = DNSRecord.parse(respond(bytes(data), TABLE, random.Random(0)))
    assert reply.header.rcode == RCODE.NOERROR, name
    assert reply.header.tc == 0 and reply.header.z == 0, name
    assert len(reply.rr) == 2


def test_a_cname_loop_inside_the_table_is_answered_and_bounded() -> None:
    tried(TARGET)
    reply = DNSRecord.parse(respond(_query("loop-a.demo.local", "A"), TABLE, random.Random(0)))
    assert 0 < len(reply.rr) <= 8


def test_a_cname_to_a_name_outside_the_table_is_not_followed() -> None:
    tried(TARGET)
    reply = DNSRecord.parse(respond(_query("out.demo.local", "A"), TABLE, random.Random(0)))
    assert [QTYPE.get(rr.rtype) for rr in reply.rr] == ["CNAME"]


@budget(600)
@given(data=messages, tcp=st.booleans())
def test_no_message_makes_respond_raise_or_answer_outside_its_table(data: bytes, tcp: bool) -> None:
    tried(TARGET)
    _check(data, TCP_LIMIT if tcp else UDP_LIMIT)


@budget(200)
@given(name=names)
def test_a_name_outside_the_table_gets_nxdomain_and_no_answer(name: str) -> None:
    tried(TARGET)
    reply = DNSRecord.parse(respond(_query(name, "A"), TABLE, random.Random(0)))
    if TABLE.lookup(name.rstrip(".")) is None:
        assert reply.header.rcode == RCODE.NXDOMAIN
        assert not reply.rr and not reply.ar


# -- the listeners ---------------------------------------------------------------------------

pytestmark = pytest.mark.anyio


@pytest.fixture
async def resolver(tmp_path: Path) -> AsyncIterator[Resolver]:
    store = open_store(None, tmp_path / "data")
    found = Resolver(store=store, cidr="198.18.0.0/16", listen=[("127.0.0.1", 0)])
    await found.start()
    try:
        yield found
    finally:
        await found.stop()
        store.close()


def _udp_roundtrip(address: tuple[str, int], data: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(data, address)
        return sock.recv(4096)


async def _tcp_garbage(address: tuple[str, int], data: bytes) -> None:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    await asyncio.wait_for(reader.read(), 15)  # the server closes: garbage ends the connection
    writer.close()


async def test_the_listeners_keep_answering_after_hostile_datagrams_and_streams(
    resolver: Resolver,
) -> None:
    address = resolver.addresses[0]
    rng = random.Random(9)
    garbage = [*COMPRESSION, *(rng.randbytes(rng.randint(1, 700)) for _ in range(200))]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in garbage:
            tried("dns listeners")
            sock.sendto(data, address)
    streams = [
        struct.pack("!H", 65535) + b"x" * 10,  # a length it never sends
        struct.pack("!H", 0),  # an empty message
        struct.pack("!H", len(COMPRESSION[0])) + COMPRESSION[0],
        b"\x00",  # half a length prefix
        rng.randbytes(3000),
    ]
    for data in streams:
        tried("dns listeners")
        await asyncio.wait_for(_tcp_garbage(address, data), 20)
    query = DNSRecord.question("nowhere.example", "A")
    reply = DNSRecord.parse(await asyncio.to_thread(_udp_roundtrip, address, bytes(query.pack())))
    assert reply.header.id == query.header.id
    assert reply.header.rcode == RCODE.NXDOMAIN and not reply.rr


async def test_a_silent_tcp_client_does_not_stop_others_being_answered(
    resolver: Resolver,
) -> None:
    _reader, writer = await asyncio.open_connection(*resolver.addresses[0])
    query = DNSRecord.question("nowhere.example", "A")
    reply = await asyncio.to_thread(_udp_roundtrip, resolver.addresses[0], bytes(query.pack()))
    assert DNSRecord.parse(reply).header.id == query.header.id
    writer.close()
