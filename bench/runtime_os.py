"""Task runtime OS layer timings: bridge, per-task network create/destroy, iptables-restore,
process spawn (exec → running), probe round trip. Root only; uses its own bridge and a /24 of
198.18.0.0/16 so a running server is not disturbed, and removes everything it made.

Each step is timed around the public call the supervisor makes (netns.Networking,
process.spawn, process.run_probe), over --runs tasks, sequentially; prints p50/p99/max in ms and
writes bench/results/runtime_os.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from meshway.runtime.commands import SubprocessRunner
from meshway.runtime.netns import Networking
from meshway.runtime.process import ProcessSpec, run_probe, spawn

SEED_RULES = Path(__file__).parents[1] / "tests" / "golden" / "iptables" / "seed.rules"
RESULTS = Path(__file__).parent / "results" / "runtime_os.json"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "bridge_create",
            "network_create",
            "iptables_restore",
            "spawn_exec_to_running",
            "probe_round_trip",
            "network_destroy",
        )
    }
    state = Path(tempfile.mkdtemp(prefix="mw-bench-"))
    nets = Networking(
        SubprocessRunner(),
        bridge=f"mwb{os.getpid() % 100000}",
        cidr="198.18.199.0/24",
        state_dir=state,
    )
    t = time.perf_counter()
    await nets.ensure_bridge()
    times["bridge_create"].append(time.perf_counter() - t)
    rules = SEED_RULES.read_text()
    try:
        for _ in range(runs):
            task_id = secrets.token_hex(16)
            t = time.perf_counter()
            net = await nets.create(task_id, nets.allocate(task_id))
            times["network_create"].append(time.perf_counter() - t)
            t = time.perf_counter()
            await nets.apply_iptables(net, rules)
            times["iptables_restore"].append(time.perf_counter() - t)
            handle = await spawn(
                ProcessSpec(
                    argv=("sleep", "30"),
                    env={"PATH": "/usr/bin:/bin"},
                    uid=1337,
                    gid=1337,
                    netns=net.netns,
                    stdout_path=state / "out",
                    stderr_path=state / "err",
                )
            )
            times["spawn_exec_to_running"].append(handle.spawn_seconds)
            t = time.perf_counter()
            await run_probe(net.netns, ["/bin/true"], 1337, 1337, 5)
            times["probe_round_trip"].append(time.perf_counter() - t)
            handle.kill_group()
            await handle.wait()
            t = time.perf_counter()
            await nets.destroy(net)
            times["network_destroy"].append(time.perf_counter() - t)
            nets.release(task_id)
    finally:
        await nets.cleanup_leftovers()
        await nets.remove_bridge()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    times = asyncio.run(measure(args.runs))
    rows = {}
    print(f"{'step':<24}{'n':>4}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for step, values in times.items():
        ms = [v * 1000 for v in values]
        rows[step] = {
            "n": len(ms),
            "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(pct(ms, 0.99), 2),
            "max_ms": round(max(ms), 2),
        }
        print(
            f"{step:<24}{len(ms):>4}{rows[step]['p50_ms']:>9}{rows[step]['p99_ms']:>9}"
            f"{rows[step]['max_ms']:>9}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"machine": platform.uname()._asdict(), "cpus": os.cpu_count(), "steps": rows}, indent=2
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
