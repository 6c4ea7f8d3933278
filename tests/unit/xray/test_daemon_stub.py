"""The installed daemon under the system interpreter, against a local HTTP stub that records what
it is sent: batching, signing, the sampling proxy and the counters. (The proof against the real
server is tests/api/test_xray_daemon.py; this only pins the daemon's own side.)"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meshway.xray.install import install
from meshway.xray.uplink import Uplink
from tests.conftest import free_port

TRACE = "1-5f84c7a1-0123456789abcdef01234567"
HEADER = b'{"format":"json","version":1}\n'


def segment(i: int) -> bytes:
    body = {"name": "front", "id": f"{i:016x}", "trace_id": TRACE, "start_time": 1.0,
            "end_time": 2.0}  # fmt: skip
    return HEADER + json.dumps(body).encode()


@dataclass
class Recorded:
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def documents(self) -> list[str]:
        with self.lock:
            found = [r for r in self.requests if r[0] == "/TraceSegments"]
        return [d for _, _, body in found for d in json.loads(body)["TraceSegmentDocuments"]]


@pytest.fixture
def stub() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with recorded.lock:
                recorded.requests.append((self.path, dict(self.headers.items()), body))
            answer = b'{"UnprocessedTraceSegments": []}'
            if self.path == "/GetSamplingRules":
                answer = b'{"SamplingRuleRecords": [{"SamplingRule": {"RuleName": "Default"}}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    server.shutdown()
    server.server_close()


@dataclass
class RunningDaemon:
    process: subprocess.Popen[str]
    udp: int
    tcp: int

    def send(self, datagrams: list[bytes]) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for data in datagrams:
                sock.sendto(data, ("127.0.0.1", self.udp))

    def stop(self) -> str:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=15)
        return out


@pytest.fixture
def daemon(stub: tuple[str, Recorded], tmp_path: Path) -> Iterator[RunningDaemon]:
    files = install(tmp_path / "data")
    udp, tcp = free_port(), free_port()
    argv = [
        files.python, "-E", "-s", files.daemon, "-b", f"127.0.0.1:{udp}",
        "-t", f"127.0.0.1:{tcp}", "-n", "us-west-2", "--default-endpoint", stub[0],
        "--account", "111122223333", "--stats-interval", "0.5",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={}
    )
    running = RunningDaemon(process, udp, tcp)
    wait_for_port(tcp)
    yield running
    if process.poll() is None:
        process.kill()
        process.communicate()


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def test_documents_reach_the_endpoint_in_signed_batches_of_at_most_fifty(
    daemon: RunningDaemon, stub: tuple[str, Recorded]
) -> None:
    recorded = stub[1]
    daemon.send([segment(i) for i in range(120)])
    wait_for(lambda: len(recorded.documents()) == 120)  # 50 + 50 at once, 20 after the idle time
    batches = [json.loads(b)["TraceSegmentDocuments"] for p, _, b in recorded.requests]
    assert sorted(len(b) for b in batches) == [20, 50, 50]
    assert sorted(json.loads(d)["id"] for d in recorded.documents()) == [
        f"{i:016x}" for i in range(120)
    ]
    headers = recorded.requests[0][1]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=111122223333/")
    assert "/us-west-2/xray/aws4_request" in headers["Authorization"]
    out = daemon.stop()
    assert "counters at exit: received=120 sent=120 unprocessed=0 dropped=0" in out


def test_malformed_datagrams_are_counted_and_dropped_without_disturbing_good_ones(
    daemon: RunningDaemon, stub: tuple[str, Recorded]
) -> None:
    bad = [
        b'{"format":"json","version":2}\n{}',
        b"no header at all",
        HEADER,
        HEADER + b"{not json",
        HEADER + b'{"id": "short", "trace_id": "1-2-3"}',
    ]
    good = [segment(i) for i in range(10)]
    daemon.send([x for pair in zip(good, bad * 2, strict=True) for x in pair])
    wait_for(lambda: len(stub[1].documents()) == 10)
    out = daemon.stop()
    assert (
        "counters at exit: received=20 sent=10 unprocessed=0 dropped=0 backend_errors=0 "
        "rejected=10 rejected.bad_header=4 rejected.bad_ids=2 rejected.bad_json=2 "
        "rejected.missing_segment=2"
    ) in out


def test_the_counters_are_logged_periodically(daemon: RunningDaemon) -> None:
    daemon.send([segment(1)])
    time.sleep(1.2)
    out = daemon.stop()
    assert out.count("counters: received=") >= 1


def test_the_tcp_port_forwards_sampling_calls_signed_and_relays_the_answer(
    daemon: RunningDaemon, stub: tuple[str, Recorded]
) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{daemon.tcp}/GetSamplingRules",
        data=b"{}",
        headers={"Content-Type": "application/json", "Connection": "keep-alive"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["SamplingRuleRecords"][0]["SamplingRule"]["RuleName"] == "Default"
    path, headers, body = stub[1].requests[-1]
    assert (path, body) == ("/GetSamplingRules", b"{}")
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=111122223333/")
    assert headers["Host"] == stub[0].removeprefix("http://")


def test_an_unreachable_endpoint_drops_the_batch_and_counts_a_backend_error(
    tmp_path: Path,
) -> None:
    files = install(tmp_path / "data")
    udp, tcp = free_port(), free_port()
    argv = [
        files.python, "-E", "-s", files.daemon, "-b", f"127.0.0.1:{udp}",
        "-t", f"127.0.0.1:{tcp}", "--endpoint", f"http://127.0.0.1:{free_port()}",
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running = RunningDaemon(process, udp, tcp)
    try:
        wait_for_port(tcp)
        running.send([segment(i) for i in range(3)])
        time.sleep(1.5)
    finally:
        out = running.stop()
    assert "PutTraceSegments failed, 3 segments dropped" in out
    assert "received=3 sent=0 unprocessed=0 dropped=3 backend_errors=1" in out


def test_a_busy_endpoint_answering_503_gets_the_batch_again_and_nothing_is_lost() -> None:
    """The uplink retries PutTraceSegments answered 5xx (as the SDK retries server errors)."""
    answers = [503, 503, 200]
    bodies: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            status = answers.pop(0)
            payload = b'{"UnprocessedTraceSegments": []}' if status == 200 else b"{}"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uplink = Uplink(f"http://127.0.0.1:{server.server_address[1]}", "us-east-1", None)
        assert uplink.put_trace_segments([segment(1).split(b"\n", 1)[1].decode()]) == []
    finally:
        server.shutdown()
    assert len(bodies) == 3 and bodies[0] == bodies[2]
