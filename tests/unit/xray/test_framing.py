"""The daemon's datagram framing: a JSON header line, then one segment document."""

from __future__ import annotations

import json

import pytest

from meshway.xray.framing import MAX_DATAGRAM, Document, Rejection, parse_datagram

TRACE = "1-5f84c7a1-0123456789abcdef01234567"
SEGMENT = {"name": "front", "id": "70de5b6f19ff9a0a", "trace_id": TRACE, "start_time": 1.0,
           "end_time": 1.5}  # fmt: skip
SDK_HEADER = b'{"format":"json","version":1}'  # aws_xray_sdk's PROTOCOL_HEADER, no spaces


def datagram(body: object, header: bytes = SDK_HEADER) -> bytes:
    text = body if isinstance(body, str) else json.dumps(body)
    return header + b"\n" + text.encode()


def test_a_segment_from_the_python_sdk_is_kept_byte_for_byte() -> None:
    raw = '{"name": "front",  "id": "70de5b6f19ff9a0a", "trace_id": "' + TRACE + '"}'
    assert parse_datagram(datagram(raw)) == Document(raw)


@pytest.mark.parametrize(
    "header",
    [
        b'{"format": "json", "version": 1}',  # the documented form, with spaces
        b'{"version":1,"format":"JSON"}',  # Envoy's protobuf JSON, any key order; any case
        b' { "format" : "json" , "version" : 1 } ',
    ],
)
def test_the_header_is_read_as_json_not_compared_as_text(header: bytes) -> None:
    assert isinstance(parse_datagram(datagram(SEGMENT, header)), Document)


@pytest.mark.parametrize(
    "header",
    [
        b'{"format":"json","version":2}',
        b'{"format":"json","version":"1"}',
        b'{"format":"xml","version":1}',
        b'{"format":"json"}',
        b'["json", 1]',
        b"{format:json}",
        b"",
    ],
)
def test_a_bad_header_is_rejected(header: bytes) -> None:
    assert parse_datagram(datagram(SEGMENT, header)) is Rejection.HEADER


def test_a_datagram_without_a_newline_has_no_header() -> None:
    assert parse_datagram(json.dumps(SEGMENT).encode()) is Rejection.HEADER


def test_a_header_without_a_body_is_a_missing_segment() -> None:
    assert parse_datagram(SDK_HEADER + b"\n") is Rejection.EMPTY
    assert parse_datagram(SDK_HEADER + b"\n  \n") is Rejection.EMPTY


@pytest.mark.parametrize("body", ['{"name": "front", "id": ', "not json", "\xff", "42", '"x"'])
def test_a_body_that_is_not_a_json_document_is_rejected(body: str) -> None:
    data = SDK_HEADER + b"\n" + body.encode("latin-1")
    assert parse_datagram(data) is Rejection.JSON


@pytest.mark.parametrize(
    "change",
    [
        {"id": "70de5b6f19ff9a0"},  # 15 hex digits
        {"id": "70de5b6f19ff9a0g"},
        {"id": 1234567890123456},
        {"trace_id": "1-5f84c7a1-0123"},
        {"trace_id": "5f84c7a1-0123456789abcdef01234567"},
        {"parent_id": "nope"},
        {"type": "subsegment"},  # an independent subsegment needs its parent
    ],
)
def test_a_document_with_bad_ids_is_rejected(change: dict[str, object]) -> None:
    assert parse_datagram(datagram({**SEGMENT, **change})) is Rejection.IDS


def test_an_independent_subsegment_and_an_array_of_subsegments_are_accepted() -> None:
    sub = {**SEGMENT, "type": "subsegment", "parent_id": "0123456789abcdef", "id": "1" * 16}
    assert isinstance(parse_datagram(datagram(sub)), Document)
    assert isinstance(parse_datagram(datagram([sub, {**sub, "id": "2" * 16}])), Document)
    assert parse_datagram(datagram([sub, {"id": "x"}])) is Rejection.IDS
    assert parse_datagram(datagram([])) is Rejection.IDS


def test_a_datagram_over_64_kib_is_oversize_and_one_at_the_limit_is_not() -> None:
    padding = MAX_DATAGRAM - len(datagram({**SEGMENT, "pad": ""}))
    at_limit = datagram({**SEGMENT, "pad": "x" * padding})
    assert len(at_limit) == MAX_DATAGRAM
    assert isinstance(parse_datagram(at_limit), Document)
    assert parse_datagram(datagram({**SEGMENT, "pad": "x" * (padding + 1)})) is Rejection.OVERSIZE
