"""Hostile datagrams for the X-Ray daemon (issue 9, part 5): its parser never raises, whatever
the bytes, and a real daemon process fed garbage keeps delivering good segments to the server.

The parser runs in the daemon's only receiving thread: an exception escaping it would end that
thread and every later trace of the task would be lost silently. Deeply nested JSON (a
RecursionError, not a ValueError, in Python's json) did exactly that; it is a regression case here.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshway.xray.framing import MAX_DATAGRAM, Document, Rejection, parse_datagram
from tests.api.test_xray_daemon import Daemon, daemon  # noqa: F401 (the fixture)
from tests.conftest import ServerProcess
from tests.security.fuzzing import budget, tried

HEADER = b'{"format":"json","version":1}\n'
TARGET = "xray daemon datagrams"
DEEP = 50_000  # far past Python's recursion limit, well inside one 64 KiB datagram

REGRESSIONS = [
    HEADER + b"[" * DEEP,
    HEADER + b'{"a":' * (DEEP // 5),
    b"[" * DEEP + b"\n{}",
    HEADER + b"[" * 900 + b"]" * 900,  # parses; nested arrays are not subsegments
    HEADER + b"[" + b"[" * 500 + b"]" * 500 + b"]",
    HEADER + b"\xff\xfe\x00",
    HEADER + b'"\\ud800"',
    HEADER + b"x" * (MAX_DATAGRAM + 1),
    b"\n",
    b"",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
headers = st.one_of(
    st.just(HEADER[:-1]),
    st.binary(max_size=40),
    json_values.map(lambda v: json.dumps(v).encode()),
)
bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 60_000).map(lambda n: b"[" * n),
    st.fixed_dictionaries(
        {"id": st.text(max_size=20), "trace_id": st.text(max_size=40)},
        optional={"parent_id": json_values, "type": st.sampled_from(["subsegment", 3, None])},
    ).map(lambda d: json.dumps(d).encode()),
)
datagrams = st.one_of(
    st.binary(max_size=MAX_DATAGRAM + 2),
    st.tuples(headers, bodies).map(lambda hb: hb[0] + b"\n" + hb[1]),
)


@pytest.mark.parametrize("data", REGRESSIONS, ids=lambda d: repr(d[:24]))
def test_a_crafted_hostile_datagram_is_rejected_not_raised(data: bytes) -> None:
    tried(TARGET)
    assert isinstance(parse_datagram(data), Rejection)


@budget(400)
@given(data=datagrams)
def test_no_datagram_makes_the_parser_raise(data: bytes) -> None:
    tried(TARGET)
    found = parse_datagram(data)
    assert isinstance(found, Document | Rejection)
    if isinstance(found, Document):  # only a well-formed document is forwarded, unchanged
        assert data.endswith(found.body.encode())
        assert len(data) <= MAX_DATAGRAM


# -- the daemon as a process -----------------------------------------------------------------


def _segment(trace: str) -> bytes:
    now = time.time()
    body = {"name": "fuzz", "id": "70de5b6f19ff9a0a", "trace_id": trace, "start_time": now,
            "end_time": now + 0.01}  # fmt: skip
    return HEADER + json.dumps(body).encode()


def test_the_daemon_survives_hostile_datagrams_and_still_delivers_good_ones(
    daemon: Daemon,  # noqa: F811 (the imported fixture)
    server: ServerProcess,
    account: str,
) -> None:
    udp, process = daemon.udp, daemon.process
    hostile = [*REGRESSIONS[:-2], bytes(range(256)) * 200]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in hostile:
            tried("xray daemon process")
            sock.sendto(data[:65000], ("127.0.0.1", udp))
        trace = f"1-{int(time.time()):08x}-{'ab' * 12}"
        time.sleep(0.2)
        sock.sendto(_segment(trace), ("127.0.0.1", udp))
    xray = server.client("xray", aws_access_key_id=account)
    deadline = time.monotonic() + 10
    while not xray.batch_get_traces(TraceIds=[trace])["Traces"]:
        assert process.poll() is None, "the daemon exited"
        assert time.monotonic() < deadline, "a good segment after the garbage never arrived"
        time.sleep(0.2)
    assert process.poll() is None


SAMPLING = b"POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
TCP_HOSTILE = [
    b"POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    b"POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
    b"POST /GetSamplingRules HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{}",
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(200),  # a TLS hello
]


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_the_sampling_proxy_answers_hostile_requests_with_a_4xx_and_keeps_serving(
    daemon: Daemon,  # noqa: F811 (the imported fixture)
) -> None:
    """A bad or negative Content-Length made the proxy's handler raise (a traceback in the
    task's log, the connection dropped) or read until the client gave up."""
    tcp, process = daemon.tcp, daemon.process
    for data in TCP_HOSTILE:
        tried("xray daemon tcp")
        answer = _exchange(tcp, data)
        if answer.startswith(b"HTTP/"):
            status = answer.split(b" ", 2)[1]
        else:  # no HTTP version in the request line: http.server answers as HTTP/0.9, body only
            status = b"4" if b"Error code: 4" in answer else b""
        assert status[:1] == b"4", (data[:60], answer[:200])
    good = _exchange(tcp, SAMPLING)
    assert good.startswith(b"HTTP/1.1 200"), good[:200]
    process.terminate()
    output = process.communicate(timeout=20)[0]
    assert "Traceback" not in output, output[-2000:]
