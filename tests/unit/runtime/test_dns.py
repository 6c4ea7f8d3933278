"""The resolver's wire answers: dnslib-encoded queries in, replies out (no sockets)."""

from __future__ import annotations

import random

from dnslib import OPCODE, QTYPE, RCODE, DNSRecord

from meshway.model.servicediscovery.dns import RecordSet, Srv, Zone, ZoneRecords
from meshway.runtime.dns import TCP_LIMIT, respond
from meshway.runtime.names import NameTable, build_table

MANY = tuple(f"198.18.0.{i}" for i in range(2, 22))
ZONE = Zone(name="demo.local", negative_ttl=30)
LONG = ".".join(["a" * 63] * 3) + ".demo.local"


def srv(instance: str) -> Srv:
    return Srv(priority=1, weight=1, port=8080, target=f"{instance}.{LONG}")


TABLE = build_table(
    registry=ZoneRecords(
        zones={"demo.local": ZONE},
        records={
            "many.demo.local": {"A": RecordSet(ttl=30, healthy=MANY)},
            "api.demo.local": {
                "SRV": RecordSet(ttl=60, healthy=(srv("i-1"),)),
                "AAAA": RecordSet(ttl=60, healthy=("fd00::2",)),
            },
            f"i-1.{LONG}": {"A": RecordSet(ttl=60, healthy=("198.18.0.2",))},
            LONG: {"SRV": RecordSet(ttl=60, healthy=tuple(srv(f"i-{n:02}") for n in range(8)))},
            "www.demo.local": {"CNAME": RecordSet(ttl=300, healthy=("example.com",), limit=1)},
        },
    ),
    virtual_services={"colorteller.demo.local": "198.18.240.9"},
    task_hosts=[],
)


def ask(name: str, qtype: str = "A", table: NameTable = TABLE, limit: int = 512) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    reply = respond(query.pack(), table, random.Random(0), limit)
    assert reply is not None
    assert len(reply) <= limit
    parsed = DNSRecord.parse(reply)
    assert parsed.header.id == query.header.id
    assert parsed.header.qr == 1
    return parsed


def records(reply: DNSRecord, section: str = "rr") -> list[tuple[str, str, str, int]]:
    return [(str(r.rname), QTYPE[r.rtype], str(r.rdata), r.ttl) for r in getattr(reply, section)]


def test_a_known_name_gets_an_authoritative_a_answer_with_the_ttl() -> None:
    reply = ask("colorteller.demo.local")
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.header.aa == 1
    assert records(reply) == [("colorteller.demo.local.", "A", "198.18.240.9", 5)]


def test_the_answer_keeps_the_case_the_client_asked_with() -> None:
    reply = ask("ColorTeller.Demo.Local")
    assert str(reply.rr[0].rname) == "ColorTeller.Demo.Local."


def test_aaaa_for_a_known_name_is_an_empty_noerror() -> None:
    reply = ask("colorteller.demo.local", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.rr == []


def test_an_unknown_name_is_nxdomain_for_every_type() -> None:
    for qtype in ("A", "AAAA", "MX", "SRV"):
        reply = ask("example.com", qtype)
        assert reply.header.rcode == RCODE.NXDOMAIN
        assert reply.rr == []
        assert reply.auth == []


def test_inside_a_zone_negative_answers_carry_the_soa_with_the_negative_ttl() -> None:
    missing = ask("nothing.demo.local")
    assert missing.header.rcode == RCODE.NXDOMAIN
    (soa,) = records(missing, "auth")
    assert (soa[0], soa[1], soa[3]) == ("demo.local.", "SOA", 30)
    assert soa[2].endswith(" 30")  # MINIMUM, the negative-caching TTL (RFC 2308)
    apex = ask("demo.local")
    assert (apex.header.rcode, apex.rr) == (RCODE.NOERROR, [])
    assert ask("demo.local", "SOA").rr[0].rtype == QTYPE.SOA


def test_srv_aaaa_and_cname_answers_go_on_the_wire() -> None:
    reply = ask("api.demo.local", "SRV")
    assert records(reply) == [("api.demo.local.", "SRV", f"1 1 8080 i-1.{LONG}.", 60)]
    assert records(reply, "ar") == [(f"i-1.{LONG}.", "A", "198.18.0.2", 60)]
    assert records(ask("api.demo.local", "AAAA")) == [("api.demo.local.", "AAAA", "fd00::2", 60)]
    assert records(ask("www.demo.local", "A")) == [
        ("www.demo.local.", "CNAME", "example.com.", 300)
    ]
    assert {r[1] for r in records(ask("api.demo.local", "ANY"))} == {"SRV", "AAAA"}


def test_at_most_eight_addresses_and_the_reply_fits_in_512_bytes() -> None:
    reply = ask("many.demo.local")
    assert len(reply.rr) == 8
    assert len({str(r.rdata) for r in reply.rr}) == 8
    assert reply.header.tc == 0


def test_a_reply_too_big_for_udp_is_truncated_and_whole_over_tcp() -> None:
    udp = ask(LONG, "SRV")
    assert udp.header.tc == 1
    assert udp.rr == []
    tcp = ask(LONG, "SRV", limit=TCP_LIMIT)
    assert tcp.header.tc == 0
    assert len(tcp.rr) == 8


def test_garbage_and_replies_get_no_answer() -> None:
    assert respond(b"\x00\x01garbage", TABLE, random.Random(0)) is None
    reply = DNSRecord.question("colorteller.demo.local").reply()
    assert respond(reply.pack(), TABLE, random.Random(0)) is None


def test_other_opcodes_are_not_implemented_and_several_questions_are_a_format_error() -> None:
    rng = random.Random(0)
    update = DNSRecord.question("colorteller.demo.local")
    update.header.opcode = OPCODE.UPDATE
    assert DNSRecord.parse(respond(update.pack(), TABLE, rng) or b"").header.rcode == RCODE.NOTIMP
    double = DNSRecord.question("colorteller.demo.local")
    double.add_question(*DNSRecord.question("many.demo.local").questions)
    assert DNSRecord.parse(respond(double.pack(), TABLE, rng) or b"").header.rcode == RCODE.FORMERR
