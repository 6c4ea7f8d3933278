"""Propagation of one `update-route`: API call → every affected proxy ACKed, and → real traffic
shifted (issue 5). Everything real: a `meshway server` with the task runtime, App Mesh
resources through boto3, three tasks of the seed's shape with the built-in Envoy sidecar
(back-v1, back-v2 and front), plus N simulated ADS clients (a second process; each a distinct
virtual node with the same backend, subscribing and ACKing as Envoy does).

One route flips its weights 100/0 ↔ 0/100, `--flips` times (2 s apart). Measured per flip:
time from the UpdateRoute call to each affected proxy's RDS ACK (server-side `ackedAt` in GET
/meshway/proxies, read once the ACKs are in, so the listing does not compete with the push),
to the last affected proxy's ACK (scripted clients and the real Envoy: "every affected proxy
ACKed"), and from the API response to the front task's first response from the new target
(its load loop timestamps every response); p50/p99/max over all flips. Also the server's RSS
per connected client (after the clients synced, minus before they connected), the initial
sync time and the machine's load average. `--profile` samples the server with py-spy during
the flips; `--keep-log` keeps the server logs (the sync logs each rebuild's timings). Needs root. Prints a table, writes
bench/results/xds_propagation.json. Goals: p99 ≤ 100 ms at 1,000 clients, ≤ 1 MB per client,
traffic shifted ≤ 50 ms after the API call returns.
"""

# ruff: noqa: E501 (the embedded client programs and result tables read best unwrapped)

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.conftest import ServerProcess, free_port, make_client  # noqa: E402

from meshway.xds.credentials import ProxyCredentials  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-west-2"
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
HTTP_9080 = [{"portMapping": {"port": 9080, "protocol": "http"}}]
SERVICE = "back.demo.local"
SEED = ROOT / "tests" / "data" / "seed" / "appmesh-task-definition.json"
PER_MESH = 190  # App Mesh allows 200 virtual nodes per mesh; 1,000 clients need 6 meshes
FLIP_GAP_S = 2.0  # seconds from one update-route to the next
FIRST_LOOK_S = 1.0  # seconds after a call before the proxies list is read

LOAD = r"""
import json, sys, time, urllib.request
url, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
log = []
while time.monotonic() < until:
    try:
        body = json.loads(urllib.request.urlopen(url, timeout=5).read())
        log.append((time.time(), body["app"]))
    except Exception as error:
        log.append((time.time(), "error"))
print(json.dumps(log))
"""

CLIENTS = r"""
import asyncio, sys
import grpc
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import http_connection_manager_pb2 as hcm
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import struct_pb2
CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"

def eds_names(response):
    out = []
    for a in response.resources:
        c = cluster_pb2.Cluster(); a.Unpack(c)
        if c.type == cluster_pb2.Cluster.EDS:
            out.append(c.name)
    return sorted(out)

def rds_names(response):
    out = set()
    for a in response.resources:
        l = listener_pb2.Listener(); a.Unpack(l)
        for chain in l.filter_chains:
            for f in chain.filters:
                if f.typed_config.Is(hcm.HttpConnectionManager.DESCRIPTOR):
                    m = hcm.HttpConnectionManager(); f.typed_config.Unpack(m)
                    if m.HasField("rds"):
                        out.add(m.rds.route_config_name)
    return sorted(out)

async def client(target, node_id, account, region, ready, token):
    channel = grpc.aio.insecure_channel(target)
    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    out = asyncio.Queue()
    async def requests():
        while True:
            yield await out.get()
    call = stub.StreamAggregatedResources(requests(), metadata=(("x-meshway-proxy-credential", token),))
    meta = struct_pb2.Struct(); meta.update({"aws.appmesh.account": account})
    node = base_pb2.Node(id=node_id, metadata=meta, locality=base_pb2.Locality(region=region))
    out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=CDS, node=node))
    names = {EDS: [], RDS: []}
    asked = {CDS}
    async for r in call:
        t = r.type_url
        if t == CDS:
            new = eds_names(r)
            if new != names[EDS] and EDS in asked:
                out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=EDS, resource_names=new,
                    version_info="", response_nonce=""))
            names[EDS] = new
        if t == LDS:
            new = rds_names(r)
            if new != names[RDS] and RDS in asked:
                out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=RDS, resource_names=new))
            names[RDS] = new
        out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=t, version_info=r.version_info,
            response_nonce=r.nonce, resource_names=names.get(t, [])))
        nxt = {CDS: EDS, EDS: LDS, LDS: RDS}.get(t)
        if nxt and nxt not in asked:
            asked.add(nxt)
            out.put_nowait(discovery_pb2.DiscoveryRequest(type_url=nxt, resource_names=names.get(nxt, [])))
        if t == RDS and not ready.done():
            ready.set_result(None)

PER_MESH = int(sys.argv[5])

def mesh_of(i):
    return "demo" if i < PER_MESH else f"demo{i // PER_MESH}"

async def main(target, count, account, region):
    tokens = sys.stdin.read().split()
    loop = asyncio.get_running_loop()
    readies = [loop.create_future() for _ in range(count)]
    tasks = [asyncio.create_task(client(target, f"mesh/{mesh_of(i)}/virtualNode/n{i}", account, region, readies[i], tokens[i]))
             for i in range(count)]
    await asyncio.gather(*readies)
    print("synced", flush=True)
    await asyncio.gather(*tasks)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(statistics.median(values), 1),
            "p99": round(pct(values, 0.99), 1), "max": round(max(values), 1)}  # fmt: skip


def weights(v1: int, v2: int) -> dict[str, Any]:
    targets = [{"virtualNode": "back-v1", "weight": v1}, {"virtualNode": "back-v2", "weight": v2}]
    return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": targets}}}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proxies(server: ServerProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(server.url + "/meshway/proxies", timeout=30) as response:
        return json.loads(response.read())["proxies"]  # type: ignore[no-any-return]


def mesh_of(i: int) -> str:
    return "demo" if i < PER_MESH else f"demo{i // PER_MESH}"


def tokens(data_dir: Path, clients: int) -> list[str]:
    """Each scripted client's proxy credential (issue 9: every ADS stream needs one)."""
    credentials = ProxyCredentials.load(data_dir)
    return [
        credentials.mint(
            subject=f"external/bench-n{i}",
            node=f"arn:aws:appmesh:{REGION}:{ACCOUNT}:mesh/{mesh_of(i)}/virtualNode/n{i}",
        )
        for i in range(clients)
    ]


def create_mesh(appmesh: Any, mesh: str, callers: list[str]) -> None:
    appmesh.create_mesh(meshName=mesh)
    for node in ("back-v1", "back-v2"):
        spec = {"listeners": HTTP_9080, "serviceDiscovery": {"dns": {"hostname": f"{node}.local"}}}
        appmesh.create_virtual_node(meshName=mesh, virtualNodeName=node, spec=spec)
    appmesh.create_virtual_router(meshName=mesh, virtualRouterName="back",
                                  spec={"listeners": HTTP_9080})  # fmt: skip
    appmesh.create_route(meshName=mesh, virtualRouterName="back", routeName="split",
                         spec=weights(100, 0))  # fmt: skip
    appmesh.create_virtual_service(
        meshName=mesh, virtualServiceName=SERVICE,
        spec={"provider": {"virtualRouter": {"virtualRouterName": "back"}}},
    )  # fmt: skip
    caller = {
        "listeners": HTTP_9080,
        "serviceDiscovery": {"dns": {"hostname": "caller.local"}},
        "backends": [{"virtualService": {"virtualServiceName": SERVICE}}],
    }
    for name in callers:
        appmesh.create_virtual_node(meshName=mesh, virtualNodeName=name, spec=caller)


def create_meshes(appmesh: Any, clients: int) -> None:
    by_mesh: dict[str, list[str]] = {"demo": ["front"]}
    for i in range(clients):
        by_mesh.setdefault(mesh_of(i), []).append(f"n{i}")
    for mesh, callers in by_mesh.items():
        create_mesh(appmesh, mesh, callers)


def run_task(ecs: Any, node: str) -> str:
    definition = json.loads(SEED.read_text())
    definition = copy.deepcopy(definition)
    definition["family"] = node
    app, envoy = definition["containerDefinitions"]
    app["environment"] = [{"name": "APP_NAME", "value": node}]
    envoy["environment"] = [
        {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": f"mesh/demo/virtualNode/{node}"}
    ]
    arn = ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    return str(ecs.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0]["taskArn"])


def wait_running(ecs: Any, arns: list[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        tasks = ecs.describe_tasks(tasks=arns)["tasks"]
        if all(t["lastStatus"] == "RUNNING" for t in tasks):
            return
        time.sleep(0.2)
    raise TimeoutError(arns)


def one_run(
    clients: int, folder: Path, flips: int, profile: Path | None, keep_log: Path | None
) -> dict[str, Any]:
    programs = folder / "programs"
    programs.mkdir(parents=True)
    folder.chmod(0o755)
    programs.chmod(0o755)
    app = programs / "app.py"
    app.write_text((ROOT / "tests" / "e2e" / "programs" / "app.py").read_text())
    app.chmod(0o644)
    catalog = folder / "images.json"
    catalog.write_text(json.dumps({"images": {"application_image": {
        "entryPoint": ["/usr/bin/python3", "-u", str(app)]}}}))  # fmt: skip
    server = ServerProcess(
        folder / "data", free_port(), ("--images", str(catalog), "--xds-port", "0")
    )
    server.start()
    assert server.process is not None
    try:
        appmesh = make_client(server.url, "appmesh", aws_access_key_id=ACCOUNT)
        ecs = make_client(server.url, "ecs", aws_access_key_id=ACCOUNT)
        create_meshes(appmesh, clients)
        arns = [run_task(ecs, node) for node in ("back-v1", "back-v2", "front")]
        wait_running(ecs, arns)
        time.sleep(1.0)
        before = rss_kib(server.process.pid)
        xds = (server.data_dir / "xds-address").read_text().strip()
        started = time.monotonic()
        sim = subprocess.Popen(
            [sys.executable, "-c", CLIENTS, xds, str(clients), ACCOUNT, REGION, str(PER_MESH)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # fmt: skip
        assert sim.stdout is not None and sim.stdin is not None
        sim.stdin.write("\n".join(tokens(server.data_dir, clients)))
        sim.stdin.close()
        assert sim.stdout.readline().strip() == "synced"
        sync_s = time.monotonic() - started
        time.sleep(1.0)
        after = rss_kib(server.process.pid)
        netns = "mw-" + arns[2].rsplit("/", 1)[-1][:12]
        load_s = 2.0 + flips * FLIP_GAP_S
        load = subprocess.Popen(
            ["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", LOAD, f"http://{SERVICE}:9080/", str(load_s)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)
        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.process.pid), "--rate", "200",
                 "--format", "speedscope", "--output", str(profile), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)
        affected = min(clients, PER_MESH)  # the route is in mesh demo
        flip_rows = []
        acks_before = {p["nodeId"]: p["types"]["RDS"]["ackedAt"] for p in proxies(server)}
        for flip in range(flips):
            to_v2 = flip % 2 == 0
            flip_started = time.monotonic()
            called = time.time()
            appmesh.update_route(meshName="demo", virtualRouterName="back", routeName="split",
                                 spec=weights(0, 100) if to_v2 else weights(100, 0))  # fmt: skip
            returned = time.time()
            # NOTE: /meshway/proxies lists every proxy; polling it while the push runs would
            # compete with the push for the server's CPU, so it is read once the ACKs are in.
            time.sleep(max(0.0, flip_started + FIRST_LOOK_S - time.monotonic()))
            deadline = time.monotonic() + 30
            while True:
                listed = proxies(server)
                now = {p["nodeId"]: p["types"]["RDS"]["ackedAt"] for p in listed}
                sent = {p["nodeId"]: p["types"]["RDS"]["sentAt"] for p in listed}
                acked = {
                    n: t for n, t in now.items() if t and t != acks_before.get(n) and t >= called
                }
                if len(acked) >= affected + 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            acks_before = now
            flip_rows.append(
                {
                    "called": called,
                    "returned": returned,
                    "to": "back-v2" if to_v2 else "back-v1",
                    "acked": acked,
                    "sent": {n: sent[n] for n in acked},
                }
            )
            time.sleep(max(0.0, flip_started + FLIP_GAP_S - time.monotonic()))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        log = json.loads(load.communicate(timeout=60)[0])
        sim.send_signal(signal.SIGKILL)
        sim.wait()
    finally:
        server.stop(signal.SIGTERM, timeout=60)
        if keep_log is not None:
            for found in folder.glob("server-*.log"):
                keep_log.write_bytes(found.read_bytes())
    latencies: list[float] = []  # every (flip, affected scripted client) pair
    pushes: list[float] = []  # the same pairs: call → the server wrote the RDS response
    all_acked: list[float] = []  # per flip: until the last affected proxy (Envoy included) ACKed
    envoy_acks: list[float] = []
    shifts: list[float] = []
    missing = 0
    unaffected = 0
    for row in flip_rows:
        called, acked = row["called"], row["acked"]
        mine = [
            (t - called) * 1000 for n, t in acked.items() if n.startswith("mesh/demo/virtualNode/n")
        ]
        latencies += mine
        pushes += [
            (t - called) * 1000
            for n, t in row["sent"].items()
            if n.startswith("mesh/demo/virtualNode/n") and t
        ]
        missing += affected - len(mine)
        unaffected += sum(1 for n in acked if not n.startswith("mesh/demo/"))
        envoy = [
            (t - called) * 1000 for n, t in acked.items() if n == "mesh/demo/virtualNode/front"
        ]
        envoy_acks += envoy
        if mine and envoy:
            all_acked.append(max(mine + envoy))
        moved = [t for t, app_name in log if app_name == row["to"] and t >= row["returned"]]
        if moved:
            shifts.append((min(moved) - row["returned"]) * 1000)
    errors = sum(1 for _, app_name in log if app_name == "error")
    return {
        "clients": clients,
        "affected": affected,
        "flips": flips,
        "acks_missing": missing,
        "unaffected_that_got_a_push": unaffected,
        "initial_sync_s": round(sync_s, 2),
        "server_rss_per_client_kib": round((after - before) / max(clients, 1), 1),
        "api_call_ms": summary([(r["returned"] - r["called"]) * 1000 for r in flip_rows]),
        "call_to_ack_ms": summary(latencies),
        "call_to_push_ms": summary(pushes),
        "call_to_all_acked_ms": summary(all_acked),
        "call_to_envoy_ack_ms": summary(envoy_acks),
        "api_return_to_shifted_traffic_ms": summary(shifts),
        "failed_requests": errors,
        "requests": len(log),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--flips", type=int, default=30, help="update-route calls per run")
    parser.add_argument(
        "--profile", type=Path, help="py-spy speedscope file prefix (server, during the flips)"
    )
    parser.add_argument("--keep-log", type=Path, help="copy the server logs to this folder")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results")
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()
    for count in args.clients:
        with tempfile.TemporaryDirectory(prefix="meshway-prop-", dir="/tmp") as tmp:
            profile = Path(f"{args.profile}-{count}.json") if args.profile else None
            keep = args.keep_log / f"server-{count}.log" if args.keep_log else None
            rows.append(one_run(count, Path(tmp), args.flips, profile, keep))
    load_after = os.getloadavg()
    print(
        "clients  affected  flips  sync s  KiB/client  API ms p50  ACK p50  p99  all-ACKed p50  p99  Envoy ACK p50  shift p50  p99 (ms)  failed"
    )
    for r in rows:
        ack, every, envoy, shift = (r["call_to_ack_ms"], r["call_to_all_acked_ms"],
                                    r["call_to_envoy_ack_ms"], r["api_return_to_shifted_traffic_ms"])  # fmt: skip
        print(
            f"{r['clients']:7d}  {r['affected']:8d}  {r['flips']:5d}  {r['initial_sync_s']:6.2f}  {r['server_rss_per_client_kib']:10.1f}"
            f"  {r['api_call_ms'].get('p50', 0):10.1f}  {ack.get('p50', 0):7.1f}  {ack.get('p99', 0):5.1f}"
            f"  {every.get('p50', 0):13.1f}  {every.get('p99', 0):5.1f}  {envoy.get('p50', 0):13.1f}"
            f"  {shift.get('p50', 0):9.1f}  {shift.get('p99', 0):5.1f}  {r['failed_requests']}/{r['requests']}"
            f"  (missing ACKs {r['acks_missing']})"
        )
        push = r["call_to_push_ms"]
        print(
            f"         call → RDS response written p50 {push.get('p50', 0):.1f}  p99 {push.get('p99', 0):.1f} ms"
        )
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} CPUs)"
    )
    if args.no_save:
        return
    out = ROOT / "bench" / "results" / "xds_propagation.json"
    out.parent.mkdir(exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "load_average_1m_before": round(load_before[0], 2),
               "load_average_1m_after": round(load_after[0], 2)}  # fmt: skip
    out.write_text(json.dumps({"machine": machine, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
