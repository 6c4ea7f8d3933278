"""The resolver's wire answers: dnslib-encoded queries in, replies out (no sockets)."""

from __future__ import annotations

from dnslib import OPCODE, QTYPE, RCODE, DNSRecord

from meshway.runtime.dns import respond
from meshway.runtime.names import Answer, NameTable

TABLE = NameTable(
    entries={
        "colorteller.demo.local": Answer(addresses=("198.18.240.9",), ttl=5),
        "many.demo.local": Answer(addresses=tuple(f"198.18.0.{i}" for i in range(2, 22)), ttl=30),
    }
)


def ask(name: str, qtype: str = "A", rotation: int = 0) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    reply = respond(query.pack(), TABLE, rotation)
    assert reply is not None
    parsed = DNSRecord.parse(reply)
    assert parsed.header.id == query.header.id
    assert parsed.header.qr == 1
    return parsed


def test_a_known_name_gets_an_authoritative_a_answer_with_the_ttl() -> None:
    reply = ask("colorteller.demo.local")
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.header.aa == 1
    assert [(str(r.rname), QTYPE[r.rtype], str(r.rdata), r.ttl) for r in reply.rr] == [
        ("colorteller.demo.local.", "A", "198.18.240.9", 5)
    ]


def test_the_answer_keeps_the_case_the_client_asked_with() -> None:
    reply = ask("ColorTeller.Demo.Local")
    assert str(reply.rr[0].rname) == "ColorTeller.Demo.Local."


def test_aaaa_for_a_known_name_is_an_empty_noerror() -> None:
    reply = ask("colorteller.demo.local", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.rr == []


def test_an_unknown_name_is_nxdomain_for_every_type() -> None:
    for qtype in ("A", "AAAA", "MX"):
        reply = ask("example.com", qtype)
        assert reply.header.rcode == RCODE.NXDOMAIN
        assert reply.rr == []


def test_at_most_eight_addresses_rotating_and_the_reply_fits_in_512_bytes() -> None:
    first = ask("many.demo.local", rotation=0)
    second = ask("many.demo.local", rotation=1)
    assert len(first.rr) == 8
    assert [str(r.rdata) for r in second.rr][:7] == [str(r.rdata) for r in first.rr][1:]
    long_name = ".".join(["a" * 63] * 3) + ".x"
    table = NameTable(
        entries={long_name: Answer(addresses=TABLE.entries["many.demo.local"].addresses)}
    )
    reply = respond(DNSRecord.question(long_name).pack(), table)
    assert reply is not None
    assert len(reply) <= 512
    assert DNSRecord.parse(reply).header.tc == 0


def test_garbage_and_replies_get_no_answer() -> None:
    assert respond(b"\x00\x01garbage", TABLE) is None
    reply = DNSRecord.question("colorteller.demo.local").reply()
    assert respond(reply.pack(), TABLE) is None


def test_other_opcodes_are_not_implemented_and_several_questions_are_a_format_error() -> None:
    update = DNSRecord.question("colorteller.demo.local")
    update.header.opcode = OPCODE.UPDATE
    assert DNSRecord.parse(respond(update.pack(), TABLE) or b"").header.rcode == RCODE.NOTIMP
    double = DNSRecord.question("colorteller.demo.local")
    double.add_question(*DNSRecord.question("many.demo.local").questions)
    assert DNSRecord.parse(respond(double.pack(), TABLE) or b"").header.rcode == RCODE.FORMERR
