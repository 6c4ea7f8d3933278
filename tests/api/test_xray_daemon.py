"""Meshway's X-Ray daemon against a real `meshway server`: datagrams in, traces out of the
X-Ray API (BatchGetTraces, GetTraceSummaries), sampling calls through the daemon's TCP port, and
malformed datagrams counted without disturbing good ones. The daemon runs as installed for
tasks: the system interpreter, standard library only."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from meshway.xray.install import install
from tests.conftest import ServerProcess, free_port

HEADER = b'{"format":"json","version":1}\n'


def trace_id(n: int) -> str:
    return f"1-{int(time.time()):08x}-{n:024x}"


def segment(trace: str, i: int, **extra: Any) -> bytes:
    now = time.time()
    body = {"name": "meshName/front", "id": f"{i:016x}", "trace_id": trace, "start_time": now,
            "end_time": now + 0.01, "origin": "AWS::AppMesh::Proxy",
            "http": {"request": {"method": "GET", "url": "http://front/"},
                     "response": {"status": 200}}, **extra}  # fmt: skip
    return HEADER + json.dumps(body).encode()


@dataclass
class Daemon:
    process: subprocess.Popen[str]
    udp: int
    tcp: int

    def send(self, datagrams: list[bytes]) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for data in datagrams:
                sock.sendto(data, ("127.0.0.1", self.udp))

    def stop(self) -> str:
        self.process.terminate()
        return self.process.communicate(timeout=20)[0]


@pytest.fixture
def daemon(server: ServerProcess, account: str, tmp_path: Path) -> Iterator[Daemon]:
    files = install(tmp_path / "data")
    udp, tcp = free_port(), free_port()
    process = subprocess.Popen(
        [files.python, "-E", "-s", files.daemon, "-b", f"127.0.0.1:{udp}", "-t",
         f"127.0.0.1:{tcp}", "-n", "us-west-2", "--default-endpoint", server.url,
         "--account", account],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={},
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", tcp), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    running = Daemon(process, udp, tcp)
    yield running
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture
def xray(server: ServerProcess, account: str) -> Any:
    return server.client("xray", aws_access_key_id=account)


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def stored_ids(xray: Any, traces: list[str]) -> set[str]:
    found = xray.batch_get_traces(TraceIds=traces)["Traces"]
    return {json.loads(s["Document"])["id"] for t in found for s in t["Segments"]}


def test_segments_sent_to_the_daemon_are_stored_and_come_back_from_the_xray_api(
    daemon: Daemon, xray: Any
) -> None:
    traces = [trace_id(1000 + n) for n in range(3)]
    datagrams = [segment(traces[i % 3], 5000 + i) for i in range(120)]
    daemon.send(datagrams)
    want = {f"{5000 + i:016x}" for i in range(120)}
    assert wait_for(lambda: stored_ids(xray, traces) == want)
    now = time.time()
    summaries = xray.get_trace_summaries(StartTime=now - 600, EndTime=now + 60)
    assert set(traces) <= {s["Id"] for s in summaries["TraceSummaries"]}
    out = daemon.stop()
    assert "counters at exit: received=120 sent=120 unprocessed=0 dropped=0" in out


def test_malformed_datagrams_are_dropped_and_the_good_ones_still_arrive(
    daemon: Daemon, xray: Any
) -> None:
    trace = trace_id(2000)
    good = [segment(trace, 7000 + i) for i in range(5)]
    bad = [
        b'{"format":"json","version":2}\n{}',
        HEADER + b'{"name": "x", "id": ',
        HEADER + b'{"name": "x", "id": "zz", "trace_id": "1-2-3", "start_time": 1}',
        HEADER,
        HEADER + b"x" * 70_000,  # larger than a datagram may be: the sender cannot send it
    ]
    sendable = bad[:4]
    with pytest.raises(OSError):
        daemon.send(bad[4:])
    daemon.send([x for pair in zip(good, [*sendable, sendable[0]], strict=True) for x in pair])
    want = {f"{7000 + i:016x}" for i in range(5)}
    assert wait_for(lambda: stored_ids(xray, [trace]) == want)
    out = daemon.stop()
    assert "received=10 sent=5 unprocessed=0 dropped=0 backend_errors=0 rejected=5" in out


def test_a_document_the_server_refuses_is_counted_as_unprocessed(daemon: Daemon) -> None:
    trace = trace_id(3000)
    # Well framed, so the daemon forwards it; no start_time, so X-Ray refuses it.
    body = {"name": "front", "id": "00000000000000aa", "trace_id": trace, "end_time": 2.0}
    daemon.send([HEADER + json.dumps(body).encode(), segment(trace, 0xAB)])
    time.sleep(2.0)
    out = daemon.stop()
    assert "received=2 sent=1 unprocessed=1" in out
    assert "Unprocessed segment 00000000000000aa" in out


def test_an_unsigned_sdk_sampling_poll_through_the_tcp_port_is_answered(
    daemon: Daemon, account: str
) -> None:
    # What aws_xray_sdk's sampling connector does: an UNSIGNED botocore client on the daemon.
    session = botocore.session.get_session()
    client = session.create_client(
        "xray",
        region_name="us-west-2",
        endpoint_url=f"http://127.0.0.1:{daemon.tcp}",
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )
    rules = client.get_sampling_rules()["SamplingRuleRecords"]
    assert "Default" in {r["SamplingRule"]["RuleName"] for r in rules}
    targets = client.get_sampling_targets(
        SamplingStatisticsDocuments=[
            {"RuleName": "Default", "ClientID": "a" * 24, "Timestamp": time.time(),
             "RequestCount": 10, "SampledCount": 1, "BorrowCount": 0}
        ]
    )  # fmt: skip
    assert "SamplingTargetDocuments" in targets


def test_the_calls_the_stock_aws_daemon_makes_are_answered(
    server: ServerProcess, account: str
) -> None:
    """aws-xray-daemon with `Endpoint` set to Meshway (it cannot run here): PutTraceSegments and,
    every 60 s, PutTelemetryRecords, SigV4-signed for `xray` with whatever keys it holds."""
    xray = server.client("xray", aws_access_key_id=account)
    trace = trace_id(4000)
    document = segment(trace, 0xDA).split(b"\n", 1)[1].decode()
    assert (
        xray.put_trace_segments(TraceSegmentDocuments=[document])["UnprocessedTraceSegments"] == []
    )
    xray.put_telemetry_records(
        TelemetryRecords=[
            {"Timestamp": time.time(), "SegmentsReceivedCount": 1, "SegmentsSentCount": 1,
             "SegmentsSpilloverCount": 0, "SegmentsRejectedCount": 0,
             "BackendConnectionErrors": {"TimeoutCount": 0, "ConnectionRefusedCount": 0,
                                         "HTTPCode4XXCount": 0, "HTTPCode5XXCount": 0,
                                         "UnknownHostCount": 0, "OtherCount": 0}}
        ],
        EC2InstanceId="i-0123456789abcdef0",
        Hostname="ip-10-0-0-1",
        ResourceARN="",
    )  # fmt: skip
    assert wait_for(lambda: stored_ids(xray, [trace]) == {f"{0xDA:016x}"})
