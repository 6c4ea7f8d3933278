"""ECS service scheduler latencies, for a service of the seed's task definition (desiredCount 3).

On a real `meshway server` with the task runtime (the same setup as bench/task_start.py), each
run measures, client-side through boto3 with DescribeServices/DescribeTasks polled every 10 ms:
- steady: CreateService → one deployment and runningCount == desiredCount (services_stable's test);
- replace: `kill -9` of one task's app process → a new task of the service RUNNING and HEALTHY;
- roll: UpdateService to a new revision → one deployment, COMPLETED, 3 tasks running (also
  recording the lowest count of healthy tasks seen during the roll: it must stay at 3);
- drain: DeleteService --force → INACTIVE.
Needs root. Prints a table and writes bench/results/services.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))
from task_start import AWSVPC, SEED, free_port, percentile, start_server

POLL = 0.01


def until(probe: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if check(found):
            return found
        time.sleep(POLL)
    raise SystemExit("timed out")


def healthy(task: dict[str, Any]) -> bool:
    return (
        task["lastStatus"] == "RUNNING"
        and task["desiredStatus"] == "RUNNING"
        and task["healthStatus"] == "HEALTHY"
    )


class Run:
    def __init__(self, ecs: Any, name: str) -> None:
        self.ecs = ecs
        self.name = name

    def service(self) -> dict[str, Any]:
        return self.ecs.describe_services(services=[self.name])["services"][0]  # type: ignore[no-any-return]

    def tasks(self, arns: list[str] | None = None) -> list[dict[str, Any]]:
        arns = arns if arns is not None else self.ecs.list_tasks(serviceName=self.name)["taskArns"]
        return self.ecs.describe_tasks(tasks=arns)["tasks"] if arns else []  # type: ignore[no-any-return]

    def steady(self) -> float:
        started = time.perf_counter()
        self.ecs.create_service(
            serviceName=self.name,
            taskDefinition="appmesh-gateway:1",
            desiredCount=3,
            networkConfiguration=AWSVPC,
        )
        until(
            self.service,
            lambda s: len(s["deployments"]) == 1 and s["runningCount"] == s["desiredCount"] == 3,
        )
        return time.perf_counter() - started

    def replace(self) -> float:
        before = {t["taskArn"]: t for t in self.tasks()}
        victim = next(iter(before.values()))
        app = next(c for c in victim["containers"] if c["name"] == "app")
        started = time.perf_counter()
        os.kill(int(app["runtimeId"]), signal.SIGKILL)
        until(self.tasks, lambda ts: any(t["taskArn"] not in before and healthy(t) for t in ts))
        elapsed = time.perf_counter() - started
        until(self.service, lambda s: s["runningCount"] == 3 and len(s["deployments"]) == 1)
        return elapsed

    def roll(self, revision: str) -> tuple[float, int]:
        known = {t["taskArn"] for t in self.tasks()}
        started = time.perf_counter()
        self.ecs.update_service(service=self.name, taskDefinition=revision)
        lowest = 3
        while True:
            known.update(self.ecs.list_tasks(serviceName=self.name)["taskArns"])
            lowest = min(lowest, sum(healthy(t) for t in self.tasks(sorted(known))))
            service = self.service()
            deployment = service["deployments"][0]
            if (
                len(service["deployments"]) == 1
                and deployment["rolloutState"] == "COMPLETED"
                and service["runningCount"] == 3
            ):
                return time.perf_counter() - started, lowest

    def drain(self) -> float:
        started = time.perf_counter()
        self.ecs.delete_service(service=self.name, force=True)
        until(self.service, lambda s: s["status"] == "INACTIVE")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, iptables)")
    folder = Path(tempfile.mkdtemp(prefix="meshway-bench-", dir="/tmp"))
    folder.chmod(0o755)
    port = free_port()
    server = start_server(folder, port)
    times: dict[str, list[float]] = {"steady": [], "replace": [], "roll": [], "drain": []}
    lowest_seen = 3
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
        ecs.register_task_definition(**definition)
        revision = ecs.register_task_definition(**definition)["taskDefinition"]
        for n in range(args.runs):
            run = Run(ecs, f"bench-{n}")
            times["steady"].append(run.steady())
            times["replace"].append(run.replace())
            rolled, lowest = run.roll(revision["taskDefinitionArn"])
            times["roll"].append(rolled)
            lowest_seen = min(lowest_seen, lowest)
            times["drain"].append(run.drain())
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    labels = {
        "steady": "CreateService(3) -> steady state",
        "replace": "kill -9 app -> replacement HEALTHY",
        "roll": "UpdateService revision -> COMPLETED",
        "drain": "DeleteService --force -> INACTIVE",
    }
    result: dict[str, Any] = {
        "benchmark": "services",
        "runs": args.runs,
        "lowest_healthy_during_roll": lowest_seen,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    print(f"{'what':<40} {'p50':>8} {'max':>8} {'mean':>8}")
    for key, values in times.items():
        result[key] = {
            "p50_s": percentile(values, 0.5),
            "max_s": max(values),
            "mean_s": statistics.fmean(values),
        }
        print(
            f"{labels[key]:<40} {result[key]['p50_s']:>7.3f}s {result[key]['max_s']:>7.3f}s "
            f"{result[key]['mean_s']:>7.3f}s"
        )
    print(f"lowest healthy task count seen during rolls: {lowest_seen} (minimum: 3)")
    out = Path(__file__).parent / "results" / "services.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
