"""X-Ray ingest: segments per second into Meshway's daemon and through it to the store.

The installed daemon runs under the system interpreter (as in a task) with one uploader
connection pool. A sender process fires Envoy-sized segment datagrams (~700 B) at its UDP port:
- `flood`: as fast as one Python sender can, for --seconds;
- `paced`: at each of --rates per second (default 5,000 and 10,000), for --seconds.
For each run: datagrams offered, received by the daemon (the rest were dropped by the kernel's
receive buffer), sent (accepted by the endpoint), dropped inside the daemon (queue full or failed
upload), the daemon's CPU seconds (utime+stime from /proc), and the wall time until the last
document was accepted. Rates: received/s over the send window, segments per daemon CPU-second,
and sent/s end to end.

`--target server` (default) points the daemon at a real `meshway server --no-runtime` (PutTrace
Segments into its SQLite store), `--target stub` at an HTTP stub that only answers, to isolate the
daemon's own cost. Goal (issue 6): >= 10,000 segments/s on one core, zero drops at 5,000/s; the
AWS daemon's published figure is 4,000/s at 38% of a t2.micro. Prints a table and writes
bench/results/xray_ingest.json.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from meshway.xray.install import install  # noqa: E402

ACCOUNT = "222233334444"
COUNTERS = re.compile(r"counters(?: at exit)?: received=(\d+) sent=(\d+) unprocessed=(\d+) "
                      r"dropped=(\d+) backend_errors=(\d+) rejected=(\d+)")  # fmt: skip
SENDER = r"""
import json, os, socket, sys, time
port, mode, seconds, rate, seed = (int(sys.argv[1]), sys.argv[2], float(sys.argv[3]),
                                   float(sys.argv[4]), int(sys.argv[5]))
header = b'{"format":"json","version":1}\n'
now = time.time()
def datagram(i):
    trace = "1-%08x-%024x" % (int(now), seed * 10_000_000 + i)
    body = {"name": "bench/front", "id": "%016x" % (seed * 10_000_000 + i), "trace_id": trace,
            "start_time": now, "end_time": now + 0.002, "origin": "AWS::AppMesh::Proxy",
            "aws": {"app_mesh": {"mesh_name": "bench", "virtual_node_name": "front"}},
            "http": {"request": {"method": "GET", "url": "http://front:9080/", "user_agent":
            "curl/7.88.1", "client_ip": "198.18.0.2"}, "response": {"status": 200,
            "content_length": 12}}, "annotations": {"component": "proxy", "node_id":
            "mesh/bench/virtualNode/front", "upstream_cluster": "cds_ingress_bench_front_http_9080",
            "http.protocol": "HTTP/1.1", "response_flags": "-", "direction": "ingress"}}
    return header + json.dumps(body).encode()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(("127.0.0.1", port))
sent, start = 0, time.perf_counter()
end = start + seconds
if mode == "flood":
    while time.perf_counter() < end:
        for _ in range(100):
            sock.send(datagram(sent)); sent += 1
else:
    while True:
        t = time.perf_counter()
        if t >= end:
            break
        due = int((t - start) * rate)
        while sent < due:
            sock.send(datagram(sent)); sent += 1
        time.sleep(0.0005)
print(json.dumps({"offered": sent, "seconds": time.perf_counter() - start}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_stub() -> tuple[http.server.ThreadingHTTPServer, str]:
    class Answer(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"UnprocessedTraceSegments":[]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    return stub, f"http://127.0.0.1:{stub.server_address[1]}"


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "meshway", "server", "--no-runtime", "--data-dir",
         str(folder / "data"), "--port", str(port), "--xds-port", "0"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watcher:
    """Reads the daemon's log; remembers the latest counters and when `sent` last grew."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.counters = (0, 0, 0, 0, 0, 0)
        self.last_growth = time.perf_counter()
        self.lines: list[str] = []
        assert process.stdout is not None
        self.thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)
            found = COUNTERS.search(line)
            if found:
                values = tuple(int(v) for v in found.groups())
                if values[1] > self.counters[1]:
                    self.last_growth = time.perf_counter()
                self.counters = values  # type: ignore[assignment]


def run_once(mode: str, seconds: float, rate: float, endpoint: str, seed: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="xray-bench-"))
    files = install(folder)
    udp, tcp = free_port(), free_port()
    daemon = subprocess.Popen(
        [files.python, "-E", "-s", files.daemon, "-b", f"127.0.0.1:{udp}", "-t",
         f"127.0.0.1:{tcp}", "-n", "us-west-2", "--endpoint", endpoint, "--account", ACCOUNT,
         "--stats-interval", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    watcher = Watcher(daemon)
    time.sleep(0.5)
    cpu_before = cpu_seconds(daemon.pid)
    start = time.perf_counter()
    sender = subprocess.run(
        ["/usr/bin/python3", "-c", SENDER, str(udp), mode, str(seconds), str(rate), str(seed)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    offered = json.loads(sender.stdout)
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        received, sent, unprocessed, dropped, _, rejected = watcher.counters
        if sent + unprocessed + dropped >= received and time.perf_counter() - start > seconds:
            break
        time.sleep(0.05)
    done = watcher.last_growth
    cpu = cpu_seconds(daemon.pid) - cpu_before
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(20)
    watcher.thread.join(5)
    received, sent, unprocessed, dropped, errors, rejected = watcher.counters
    return {
        "mode": mode,
        "rate_asked": rate if mode == "paced" else None,
        "offered": offered["offered"],
        "send_seconds": round(offered["seconds"], 3),
        "received": received,
        "kernel_dropped": offered["offered"] - received - rejected,
        "daemon_dropped": dropped,
        "unprocessed": unprocessed,
        "sent": sent,
        "backend_errors": errors,
        "received_per_s": round(received / offered["seconds"]),
        "end_to_end_per_s": round(sent / max(1e-9, done - start)),
        "drain_s": round(max(0.0, done - start - offered["seconds"]), 2),
        "daemon_cpu_s": round(cpu, 2),
        "segments_per_cpu_s": round(received / cpu) if cpu else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=("server", "stub"), default="server")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="5000,10000", help="paced rates, comma-separated")
    args = parser.parse_args()
    server = stub = None
    if args.target == "server":
        server, endpoint = start_server(Path(tempfile.mkdtemp(prefix="xray-bench-server-")))
    else:
        stub, endpoint = start_stub()
    try:
        rates = [float(r) for r in args.rates.split(",") if r]
        runs = [run_once("paced", args.seconds, r, endpoint, n) for n, r in enumerate(rates, 1)]
        runs.append(run_once("flood", args.seconds, 0, endpoint, len(rates) + 1))
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        if stub is not None:
            stub.shutdown()
    columns = [
        "mode", "rate_asked", "offered", "received", "kernel_dropped", "daemon_dropped",
        "unprocessed", "sent", "received_per_s", "end_to_end_per_s", "drain_s", "daemon_cpu_s",
        "segments_per_cpu_s",
    ]  # fmt: skip
    print(f"target: {args.target}  ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs)")  # fmt: skip
    print(" | ".join(columns))
    for run in runs:
        print(" | ".join(str(run[c]) for c in columns))
    out = ROOT / "bench" / "results" / "xray_ingest.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing[args.target] = {"runs": runs, "seconds": args.seconds, "when": time.time()}
    out.write_text(json.dumps(existing, indent=1))


if __name__ == "__main__":
    main()
