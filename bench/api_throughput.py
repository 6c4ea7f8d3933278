"""App Mesh API throughput: Meshway against moto's standalone server, the same workload.

Each target server is started on a free loopback port with a fresh data directory (Meshway with
`--no-runtime`: no ECS tasks run here, so the host's network is left alone), then a few client
processes (multiprocessing, so one client's GIL does not cap the load) each run whole "cycles"
until the time is up. A cycle is a fixed mix of the operations both servers implement (moto has
no virtual services), on a mesh of its own:

    create  mesh, N virtual nodes, a virtual router, M routes          1 + N + 1 + M
    read    describe mesh / each node x2 / router / each route x2      1 + 2N + 1 + 2M
            list meshes, virtual nodes x2, virtual routers, routes x2  6
    update  mesh, each node, each route                                1 + N + M
    delete  routes, router, nodes, mesh (dependency order)             M + 1 + N + 1

Two clients send it. `boto3` is the goal's measure: real boto3 clients. `raw` sends the same
requests (built by botocore's serializer) from http.client, because on a small machine boto3's
own per-call CPU is as large as a server's answer and caps what any server can show; `raw` shows
what the servers themselves can do. Every call must succeed (retries are off, so an error is
counted, never hidden). Reported per target and client: ops/s over the measured window, p50/p99
client-side latency, and where the CPU went: the server process, the client processes, and
anything else on the machine in the window (other load makes a run noisy; the JSON keeps it so a
reader can judge). Runs are interleaved and repeated; the median run by ops/s is shown.

Runs bounded in time and count, against 127.0.0.1 only. Installs nothing: `make bench` installs
moto (the `bench` extra) and runs this script; `--profile DIR` samples the servers with py-spy.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "api_throughput.json"
REGION = "us-west-2"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Mix:
    nodes: int = 4
    routes: int = 4

    def ops_per_cycle(self) -> int:
        creates = 1 + self.nodes + 1 + self.routes
        reads = (1 + 2 * self.nodes + 1 + 2 * self.routes) + 6
        updates = 1 + self.nodes + self.routes
        deletes = self.routes + 1 + self.nodes + 1
        return creates + reads + updates + deletes


def node_spec(index: int, version: int = 1) -> dict[str, Any]:
    return {
        "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": f"node{index}-v{version}.bench.local"}},
    }


def router_spec() -> dict[str, Any]:
    return {"listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]}


def route_spec(index: int, nodes: int, split: bool = False) -> dict[str, Any]:
    targets = [{"virtualNode": f"node{index % nodes}", "weight": 100}]
    if split:
        targets = [
            {"virtualNode": f"node{index % nodes}", "weight": 50},
            {"virtualNode": f"node{(index + 1) % nodes}", "weight": 50},
        ]
    return {
        "httpRoute": {"match": {"prefix": f"/p{index}"}, "action": {"weightedTargets": targets}}
    }


Call = Callable[..., Any]
Timed = Callable[..., None]  # timed(kind, call, **kwargs): call(**kwargs), timed as `kind`


def cycle(timed: Timed, am: Any, mesh: str, mix: Mix) -> None:
    """One cycle of the fixed mix on a fresh mesh; leaves nothing behind."""
    nodes = [f"node{i}" for i in range(mix.nodes)]
    routes = [f"route{i}" for i in range(mix.routes)]
    m = {"meshName": mesh}
    r = {**m, "virtualRouterName": "router"}

    timed("create", am.create_mesh, **m)
    for i, node in enumerate(nodes):
        timed("create", am.create_virtual_node, **m, virtualNodeName=node, spec=node_spec(i))
    timed("create", am.create_virtual_router, **r, spec=router_spec())
    for i, route in enumerate(routes):
        timed("create", am.create_route, **r, routeName=route, spec=route_spec(i, mix.nodes))

    timed("describe", am.describe_mesh, **m)
    timed("list", am.list_meshes, limit=10)
    for _ in range(2):
        for node in nodes:
            timed("describe", am.describe_virtual_node, **m, virtualNodeName=node)
        timed("list", am.list_virtual_nodes, **m)
    timed("describe", am.describe_virtual_router, **r)
    timed("list", am.list_virtual_routers, **m)
    for _ in range(2):
        for route in routes:
            timed("describe", am.describe_route, **r, routeName=route)
        timed("list", am.list_routes, **r)

    timed("update", am.update_mesh, **m, spec={"egressFilter": {"type": "ALLOW_ALL"}})
    for i, node in enumerate(nodes):
        timed("update", am.update_virtual_node, **m, virtualNodeName=node, spec=node_spec(i, 2))
    for i, route in enumerate(routes):
        spec = route_spec(i, mix.nodes, split=True)
        timed("update", am.update_route, **r, routeName=route, spec=spec)

    for route in routes:
        timed("delete", am.delete_route, **r, routeName=route)
    timed("delete", am.delete_virtual_router, **r)
    for node in nodes:
        timed("delete", am.delete_virtual_node, **m, virtualNodeName=node)
    timed("delete", am.delete_mesh, **m)


def untimed(_kind: str, call: Call, **kwargs: Any) -> None:
    call(**kwargs)


# -- one client process ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerJob:
    index: int
    url: str
    client: str  # "boto3", or "raw": the same requests from a minimal HTTP client
    mix: Mix
    duration: float
    max_cycles: int
    warmup_cycles: int


@dataclass(slots=True, kw_only=True)
class WorkerResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    cycles: int = 0
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0


def make_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "appmesh",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench-secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=4),
    )


class RawClient:
    """The same App Mesh requests boto3 would send, from http.client, unparsed answers.

    botocore's own serializer builds each request (so paths, query strings and bodies are
    boto3's); what is left out is the rest of boto3's per-call work (event hooks, signing,
    response parsing), which on this machine costs as much CPU as a server's answer. The
    Authorization header is well-formed with a dummy signature (neither server verifies on
    loopback by default); like boto3, it fills `clientToken` with a fresh UUID.
    """

    def __init__(self, url: str) -> None:
        import http.client

        import botocore.session
        from botocore import xform_name
        from botocore.serialize import create_serializer

        model = botocore.session.get_session().get_service_model("appmesh")
        self._ops = {
            xform_name(name): model.operation_model(name) for name in model.operation_names
        }
        self._serializer = create_serializer("rest-json", include_validation=False)
        host, port = url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=30)
        scope = f"AKIDBENCH/20260101/{REGION}/appmesh/aws4_request"
        self._auth = (
            f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, "
            f"Signature={'0' * 64}"
        )

    def __getattr__(self, name: str) -> Call:
        op = self._ops[name]
        tokens = [
            member
            for member, shape in op.input_shape.members.items()
            if shape.metadata.get("idempotencyToken")
        ]

        def call(**params: Any) -> None:
            import uuid
            from urllib.parse import urlencode

            for member in tokens:
                params.setdefault(member, str(uuid.uuid4()))
            request = self._serializer.serialize_to_request(params, op)
            path = request["url_path"]
            if request["query_string"]:
                path += "?" + urlencode(request["query_string"])
            headers = {**request["headers"], "Authorization": self._auth}
            headers["X-Amz-Date"] = "20260101T000000Z"
            self._conn.request(request["method"], path, body=request["body"], headers=headers)
            response = self._conn.getresponse()
            body = response.read()
            if response.status >= 300:
                raise RuntimeError(f"{op.name}: HTTP {response.status}: {body[:200]!r}")

        return call


def run_worker(job: WorkerJob, barrier: Any) -> WorkerResult:
    am = make_client(job.url) if job.client == "boto3" else RawClient(job.url)
    result = WorkerResult()

    def timed(kind: str, call: Call, **kwargs: Any) -> None:
        start = time.perf_counter()
        try:
            call(**kwargs)
        except Exception as error:  # counted and reported: a benchmark must not hide failures
            result.errors.append(f"{kind}: {type(error).__name__}: {error}"[:300])
            return
        result.latencies.setdefault(kind, []).append(time.perf_counter() - start)

    for n in range(job.warmup_cycles):
        cycle(untimed, am, f"bench-warm-{job.index}-{n}", job.mix)
    barrier.wait()
    result.started = time.monotonic()
    cpu_start = time.process_time()
    deadline = result.started + job.duration
    while result.cycles < job.max_cycles and time.monotonic() < deadline:
        cycle(timed, am, f"bench-{job.index}-{result.cycles}", job.mix)
        result.cycles += 1
    result.finished = time.monotonic()
    result.cpu_seconds = time.process_time() - cpu_start
    return result


def worker_main(job: WorkerJob, barrier: Any, out: Any) -> None:
    out.put((job.index, asdict(run_worker(job, barrier))))


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(target: str, port: int, data_dir: Path) -> list[str]:
    if target == "meshway":
        options = ["--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
        options += ["--no-runtime", "--log-level", "warning"]  # no ECS tasks here: no host netns
        return [sys.executable, "-m", "meshway", "server", *options]
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if moto is None:
        sys.exit("moto_server not found: run `make bench` (installs the `bench` extra)")
    return [moto, "-H", "127.0.0.1", "-p", str(port)]


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it serves (moto has no /health)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start serving within {timeout:.0f}s")


@contextmanager
def running_server(target: str, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    data_dir = workdir / f"{target}-data"
    data_dir.mkdir()
    log = (workdir / f"{target}.log").open("wb")
    process = subprocess.Popen(
        server_command(target, port, data_dir), stdout=log, stderr=subprocess.STDOUT, cwd=workdir
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLK_TCK


def background_cores(seconds: float = 2.0) -> float:
    """How many cores something else keeps busy right now (a run then is noisy)."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds


def machine_busy_seconds() -> float:
    """CPU seconds spent not idle, all cores, since boot (first line of /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def start_profiler(
    out_dir: Path | None, target: str, pid: int, duration: float
) -> subprocess.Popen[bytes] | None:
    """py-spy on the server for the measured window (diagnosis only: sampling costs CPU)."""
    if out_dir is None:
        return None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("--profile needs py-spy (pip install py-spy)")
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "-p", str(pid), "-d", str(max(1, int(duration))), "-r", "250"]
    command += ["-f", "raw", "--threads", "-o", str(out_dir / f"{target}.collapsed")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# -- one measured run --------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
    }


def measure(target: str, client: str, args: argparse.Namespace, mix: Mix) -> dict[str, Any]:
    """One run: a fresh server, `args.workers` client processes, the measured window."""
    ctx = mp.get_context("spawn")
    idle_load = background_cores()
    if idle_load > 0.25:
        print(f"warning: {idle_load:.2f} cores busy before the {target} run; expect noise")
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{target}-") as tmp,
        running_server(target, Path(tmp)) as (url, server),
    ):
        barrier = ctx.Barrier(args.workers + 1)
        out = ctx.Queue()
        jobs = [
            WorkerJob(
                index=i,
                url=url,
                client=client,
                mix=mix,
                duration=args.duration,
                max_cycles=args.max_cycles,
                warmup_cycles=args.warmup_cycles,
            )
            for i in range(args.workers)
        ]
        procs = [ctx.Process(target=worker_main, args=(job, barrier, out)) for job in jobs]
        for proc in procs:
            proc.start()
        barrier.wait(timeout=120)
        profiler = start_profiler(args.profile, f"{target}-{client}", server.pid, args.duration)
        server_cpu0, busy0, wall0 = (
            process_cpu_seconds(server.pid),
            machine_busy_seconds(),
            time.monotonic(),
        )
        results = [WorkerResult(**out.get(timeout=args.duration + 300)[1]) for _ in procs]
        window = time.monotonic() - wall0
        server_cpu = process_cpu_seconds(server.pid) - server_cpu0
        busy = machine_busy_seconds() - busy0
        for proc in procs:
            proc.join(30)
        if profiler is not None:
            profiler.wait(60)
    cpu = CpuSplit(server=server_cpu, busy=busy, window=window)
    return {**report(target, client, results, cpu, mix), "background_cores_before": idle_load}


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuSplit:
    server: float  # CPU seconds of the server process in the window
    busy: float  # CPU seconds of the whole machine in the window
    window: float  # wall seconds of the window


def report(
    target: str, client: str, results: list[WorkerResult], cpu: CpuSplit, mix: Mix
) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = {}
    for result in results:
        for kind, values in result.latencies.items():
            by_kind.setdefault(kind, []).extend(values)
    everything = [v for values in by_kind.values() for v in values]
    wall = max(r.finished for r in results) - min(r.started for r in results)
    client_cpu = sum(r.cpu_seconds for r in results)
    errors = [e for r in results for e in r.errors]
    ops = len(everything)
    per_op = 1000 / ops if ops else float("nan")
    return {
        "target": target,
        "client": client,
        "workers": len(results),
        "cycles": sum(r.cycles for r in results),
        "ops": ops,
        "ops_per_cycle": mix.ops_per_cycle(),
        "errors": len(errors),
        "error_samples": errors[:5],
        "wall_s": wall,
        "ops_per_s": ops / wall if wall > 0 else 0.0,
        **{k: v for k, v in summarize(everything).items() if k != "count"},
        "by_kind": {kind: summarize(values) for kind, values in sorted(by_kind.items())},
        "cpu": {
            "server_cores": cpu.server / wall,
            "client_cores": client_cpu / wall,
            "other_cores": max(0.0, cpu.busy - cpu.server - client_cpu) / cpu.window,
            "server_ms_per_op": cpu.server * per_op,
            "client_ms_per_op": client_cpu * per_op,
        },
    }


# -- output ------------------------------------------------------------------------------------


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        "| server | client | ops/s | p50 ms | p99 ms | ops | errors | server CPU ms/op "
        "| client CPU ms/op | server cores | client cores | other cores |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {r['target']} | {r['client']} | {r['ops_per_s']:.0f} | {r['p50_ms']:.1f} "
        f"| {r['p99_ms']:.1f} | {r['ops']} | {r['errors']} | {r['cpu']['server_ms_per_op']:.2f} "
        f"| {r['cpu']['client_ms_per_op']:.2f} | {r['cpu']['server_cores']:.2f} "
        f"| {r['cpu']['client_cores']:.2f} | {r['cpu']['other_cores']:.2f} |"
        for r in runs
    ]
    return "\n".join([head, *rows])


def kind_table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| server | client | operation | calls | p50 ms | p99 ms |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in runs:
        for kind, s in r["by_kind"].items():
            lines.append(
                f"| {r['target']} | {r['client']} | {kind} | {s['count']} "
                f"| {s['p50_ms']:.1f} | {s['p99_ms']:.1f} |"
            )
    return "\n".join(lines)


def ratios(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Meshway against moto, per client kind, where both ran."""
    out: dict[str, dict[str, float]] = {}
    for client in sorted({r["client"] for r in runs}):
        by_target = {r["target"]: r for r in runs if r["client"] == client}
        if not {"meshway", "moto"} <= by_target.keys():
            continue
        mw, moto = by_target["meshway"], by_target["moto"]
        out[client] = {
            "throughput_meshway_over_moto": mw["ops_per_s"] / moto["ops_per_s"],
            "p50_meshway_over_moto": mw["p50_ms"] / moto["p50_ms"],
            "p99_meshway_over_moto": mw["p99_ms"] / moto["p99_ms"],
            "server_cpu_per_op_moto_over_meshway": (
                moto["cpu"]["server_ms_per_op"] / mw["cpu"]["server_ms_per_op"]
            ),
        }
    return out


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["ops_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--targets", default="moto,meshway", help="comma-separated, in run order")
    parser.add_argument(
        "--clients", default="boto3,raw", help="boto3 (the goal's measure), raw (server capacity)"
    )
    parser.add_argument("--workers", type=int, default=4, help="client processes per run")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per pair (median is shown)")
    parser.add_argument("--max-cycles", type=int, default=2000, help="cap per worker per run")
    parser.add_argument("--warmup-cycles", type=int, default=1, help="unmeasured cycles per worker")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--routes", type=int, default=4)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the servers; collapsed stacks to DIR"
    )
    return parser.parse_args(argv)


def split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mix = Mix(nodes=args.nodes, routes=args.routes)
    pairs = [(client, target) for client in split(args.clients) for target in split(args.targets)]
    all_runs: dict[str, list[dict[str, Any]]] = {f"{t}/{c}": [] for c, t in pairs}
    for _ in range(args.repeat):  # interleaved, so drifting background load hits all alike
        for client, target in pairs:
            run = measure(target, client, args, mix)
            all_runs[f"{target}/{client}"].append(run)
            print(
                f"{target} ({client}): {run['ops_per_s']:.0f} ops/s, p99 {run['p99_ms']:.1f} ms, "
                f"{run['errors']} errors",
                flush=True,
            )
    shown = [median_run(runs) for runs in all_runs.values()]
    summary: dict[str, Any] = {
        "benchmark": "api_throughput",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "mix": {**asdict(mix), "ops_per_cycle": mix.ops_per_cycle()},
        "results": shown,
        "ratios": ratios(shown),
        "all_runs": all_runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{table(shown)}\n\n{kind_table(shown)}\n")
    for client, r in summary["ratios"].items():
        print(
            f"Meshway / moto ({client}): throughput {r['throughput_meshway_over_moto']:.2f}x, "
            f"p50 {r['p50_meshway_over_moto']:.2f}x, p99 {r['p99_meshway_over_moto']:.2f}x; "
            f"moto spends {r['server_cpu_per_op_moto_over_meshway']:.2f}x the server CPU per op"
        )
    print(f"\nwrote {args.json}")
    return 1 if any(r["errors"] for r in shown) else 0


if __name__ == "__main__":
    sys.exit(main())
