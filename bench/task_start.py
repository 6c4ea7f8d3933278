"""Task start latency: RunTask → every container RUNNING, for the seed's task definition.

The seed task (App Mesh proxyConfiguration, Envoy with the `curl .../server_info | grep LIVE`
health check, app dependsOn Envoy HEALTHY) runs on a real `meshway server` with the task runtime:
network namespace, veth, the APPMESH iptables rules, both containers as processes, and the app
gated on the Envoy container's first passing health check. The Envoy image is mapped to the
test stand-in (tests/e2e/programs) until the sidecar issue lands. Measured client-side through
boto3: from the RunTask call to the first DescribeTasks that shows lastStatus RUNNING (polled
every 5 ms). Needs root. Prints a table and writes bench/results/task_start.json.
Goal (issue 4): p50 under 1.5 s, p99 under 3 s on a 2-core machine (Fargate: tens of seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
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
SEED = ROOT / "tests" / "data" / "seed" / "appmesh-task-definition.json"
PROGRAMS = ROOT / "tests" / "e2e" / "programs"
ENVOY_IMAGE = "111345817488.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy"
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalog(folder: Path) -> Path:
    for source in PROGRAMS.glob("*.py"):
        shutil.copy(source, folder / source.name)
        (folder / source.name).chmod(0o644)
    python = "/usr/bin/python3"
    path = folder / "images.json"
    path.write_text(
        json.dumps(
            {
                "images": {
                    "application_image": {"entryPoint": [python, "-u", str(folder / "app.py")]},
                    ENVOY_IMAGE: {"entryPoint": [python, "-u", str(folder / "envoy_standin.py")]},
                }
            }
        )
    )
    return path


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "meshway",
            "server",
            "--data-dir",
            str(folder / "data"),
            "--port",
            str(port),
            "--images",
            str(catalog(folder)),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def run_once(ecs: Any, definition_arn: str) -> float:
    started = time.perf_counter()
    arn = ecs.run_task(taskDefinition=definition_arn, networkConfiguration=AWSVPC)["tasks"][0][
        "taskArn"
    ]
    while True:
        task = ecs.describe_tasks(tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "RUNNING":
            elapsed = time.perf_counter() - started
            break
        if task["lastStatus"] == "STOPPED":
            raise SystemExit(f"task stopped: {task.get('stoppedReason')}")
        time.sleep(0.005)
    ecs.stop_task(task=arn)
    ecs.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, iptables)")
    folder = Path(tempfile.mkdtemp(prefix="meshway-bench-", dir="/tmp"))
    folder.chmod(0o755)
    port = free_port()
    server = start_server(folder, port)
    try:
        ecs = boto3.client(
            "ecs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-west-2",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 1}),
        )
        definition = json.loads(SEED.read_text())
        arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
        run_once(ecs, arn)  # warm-up: bridge creation, first imports
        times = [run_once(ecs, arn) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    result = {
        "benchmark": "task_start",
        "runs": len(times),
        "p50_s": percentile(times, 0.50),
        "p99_s": percentile(times, 0.99),
        "mean_s": statistics.fmean(times),
        "min_s": min(times),
        "max_s": max(times),
        "goal": {"p50_s": 1.5, "p99_s": 3.0},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    print(f"{'what':<40} {'p50':>8} {'p99':>8} {'min':>8} {'max':>8}")
    print(
        f"{'RunTask -> RUNNING (seed task, HEALTHY gate)':<40} "
        f"{result['p50_s']:>7.3f}s {result['p99_s']:>7.3f}s "
        f"{result['min_s']:>7.3f}s {result['max_s']:>7.3f}s"
    )
    out = ROOT / "bench" / "results" / "task_start.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
