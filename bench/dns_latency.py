"""Name lookups inside a task: glibc's getaddrinfo against the bridge resolver (198.18.0.1:53).

A real `meshway server` with the task runtime runs one task (a sleeping process in its own
network namespace, with the per-task resolv.conf and hosts file); one mesh holds a virtual
service. In the task, the system python times `socket.getaddrinfo` in a loop (after one warm-up
lookup) for: the virtual service name, A only and A+AAAA as curl asks; an unknown name (NXDOMAIN);
and the task's own hostname (answered from the hosts file, no DNS: the floor). Needs root.
Prints a table and writes bench/results/dns_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
SERVICE = "colorteller.bench.local"
TIMER = """
import json, socket, sys, time
name, family, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def once():
    try:
        socket.getaddrinfo(name, 80, family, socket.SOCK_STREAM)
        return True
    except socket.gaierror:
        return False
ok = once()
took = []
for _ in range(count):
    start = time.perf_counter()
    once()
    took.append(time.perf_counter() - start)
print(json.dumps({"resolved": ok, "took": took}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    images = folder / "images.json"
    images.write_text(json.dumps({"images": {"sleeper": {"entryPoint": ["/bin/sleep", "3600"]}}}))
    argv = [sys.executable, "-m", "meshway", "server", "--data-dir", str(folder / "data")]
    argv += ["--port", str(port), "--images", str(images), "--log-level", "warning"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def client(port: int, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-west-2",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )


def run_task(ecs: Any) -> str:
    definition = ecs.register_task_definition(
        family="dns-bench",
        networkMode="awsvpc",
        memory="128",
        containerDefinitions=[{"name": "sleeper", "image": "sleeper", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(taskDefinition=definition, networkConfiguration=AWSVPC)["tasks"][0]
    ecs.get_waiter("tasks_running").wait(
        tasks=[arn["taskArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return str(arn["taskArn"])


def time_lookups(netns: str, name: str, family: int, count: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            netns,
            "/usr/bin/python3",
            "-c",
            TIMER,
            name,
            str(family),
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, iptables)")
    folder = Path(tempfile.mkdtemp(prefix="meshway-bench-", dir="/tmp"))
    port = free_port()
    server = start_server(folder, port)
    rows: dict[str, dict[str, Any]] = {}
    try:
        appmesh, ecs = client(port, "appmesh"), client(port, "ecs")
        appmesh.create_mesh(meshName="bench")
        appmesh.create_virtual_service(meshName="bench", virtualServiceName=SERVICE, spec={})
        arn = run_task(ecs)
        netns = "mw-" + arn.rsplit("/", 1)[-1][:12]
        hostname = "ip-" + arn.rsplit("/", 1)[-1][:8]
        cases = {
            "virtual service, A (AF_INET)": (SERVICE, socket.AF_INET),
            "virtual service, A+AAAA (AF_UNSPEC)": (SERVICE, socket.AF_UNSPEC),
            "unknown name, NXDOMAIN (AF_INET)": ("nothing.example.com", socket.AF_INET),
            "own hostname, hosts file (AF_INET)": (hostname, socket.AF_INET),
        }
        for label, (name, family) in cases.items():
            rows[label] = time_lookups(netns, name, int(family), args.count)
        ecs.stop_task(task=arn)
        ecs.get_waiter("tasks_stopped").wait(
            tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    result: dict[str, Any] = {"benchmark": "dns_latency", "count": args.count, "cases": {}}
    print(f"{'lookup in a task':<40} {'resolved':>8} {'p50':>9} {'p99':>9} {'max':>9}")
    for label, row in rows.items():
        took = row["took"]
        stats = {
            "resolved": row["resolved"],
            "p50_ms": percentile(took, 0.50) * 1000,
            "p99_ms": percentile(took, 0.99) * 1000,
            "max_ms": max(took) * 1000,
        }
        result["cases"][label] = stats
        print(
            f"{label:<40} {stats['resolved']!s:>8} {stats['p50_ms']:>7.3f}ms "
            f"{stats['p99_ms']:>7.3f}ms {stats['max_ms']:>7.3f}ms"
        )
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    out = ROOT / "bench" / "results" / "dns_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
