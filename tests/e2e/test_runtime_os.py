"""The task runtime's operating-system layer, for real: bridge, namespaces, veths, iptables,
processes as other users, teardown and crash leftovers. Root only; only 198.18.0.0/16 and
loopback addresses are used. Every test removes what it made, even when it fails."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from meshway.runtime.commands import SubprocessRunner
from meshway.runtime.logs import log_files, tail
from meshway.runtime.netns import NetnsBusyError, Networking, TaskNetwork
from meshway.runtime.process import LaunchError, ProcessHandle, ProcessSpec, run_probe, spawn

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.anyio,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates namespaces, veths, bridges"),
]

SEED_RULES = Path(__file__).parents[1] / "golden" / "iptables" / "seed.rules"
# A bridge and /24 of our own (inside 198.18.0.0/16), so a server running meanwhile on
# meshway0 and this run never touch each other's tasks.
BRIDGE = f"mwt{os.getpid() % 100000}"
CIDR = f"198.18.{200 + os.getpid() % 50}.0/24"

# A TCP server that answers each connection with "<tag> <peer address>" and closes.
SERVER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(16)\n"
    "while True:\n"
    "    c, a = s.accept(); c.sendall(f'{sys.argv[2]} {a[0]}\\n'.encode()); c.close()\n"
)
CLIENT = (
    "import socket,sys\n"
    "s=socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)\n"
    "print(s.recv(200).decode().strip())\n"
)
PY = "/usr/bin/python3"


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def netns_list() -> set[str]:
    return {line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line}


def links() -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\d+: ([^:@]+)", sh("ip", "-o", "link"), re.M)}


class Tasks:
    """Creates task networks and processes for one test and removes them all afterwards."""

    def __init__(self, nets: Networking) -> None:
        self.nets = nets
        self.made: list[TaskNetwork] = []
        self.handles: list[ProcessHandle] = []

    async def network(self) -> TaskNetwork:
        task_id = secrets.token_hex(16)
        net = await self.nets.create(task_id, self.nets.allocate(task_id))
        self.made.append(net)
        return net

    async def start(
        self, net: TaskNetwork, argv: list[str], *, uid: int = 1337, name: str = "c", **kw: object
    ) -> ProcessHandle:
        logs = self.nets.state_dir / "logs" / net.netns
        spec = ProcessSpec(
            argv=tuple(argv),
            env={"PATH": "/usr/bin:/bin"},
            uid=uid,
            gid=uid,
            netns=net.netns,
            stdout_path=logs / f"{name}.stdout",
            stderr_path=logs / f"{name}.stderr",
            **kw,
        )  # type: ignore[arg-type]
        handle = await spawn(spec)
        self.handles.append(handle)
        return handle

    async def serve(self, net: TaskNetwork, port: int, tag: str) -> ProcessHandle:
        handle = await self.start(net, [PY, "-c", SERVER, str(port), tag], name=f"srv{port}")
        await wait_listening(net, port)
        return handle

    async def cleanup(self) -> None:
        for handle in self.handles:
            handle.kill_group()
        for handle in self.handles:
            await asyncio.wait_for(handle.wait(), 10)
        for net in self.made:
            for pid in await self.nets.pids(net.netns):
                os.kill(pid, 9)
            for _ in range(100):
                if not await self.nets.pids(net.netns):
                    break
                await asyncio.sleep(0.02)
            await self.nets.destroy(net)
            self.nets.release(net.task_id)


async def wait_listening(net: TaskNetwork, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while f":{port} " not in sh("ip", "netns", "exec", net.netns, "ss", "-Htln"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {port} in {net.netns}")
        await asyncio.sleep(0.02)


async def connect_from(net: TaskNetwork, ip: str, port: int, uid: int = 0) -> str:
    code, out = await run_probe(net.netns, [PY, "-c", CLIENT, ip, str(port)], uid, uid, 5)
    assert code == 0, out
    return out.strip()


def connect_from_host(ip: str, port: int) -> str:
    with socket.create_connection((ip, port), 2) as sock:
        return sock.recv(200).decode().strip()


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Networking]:
    nets = Networking(
        SubprocessRunner(),
        bridge=BRIDGE,
        cidr=CIDR,
        state_dir=tmp_path_factory.mktemp("runtime-state"),
    )
    asyncio.run(nets.ensure_bridge())
    try:
        yield nets
    finally:
        asyncio.run(nets.remove_bridge())


@pytest.fixture
async def tasks(bridge: Networking) -> AsyncIterator[Tasks]:
    made = Tasks(bridge)
    try:
        yield made
    finally:
        await made.cleanup()


# -- the bridge ----------------------------------------------------------------------------------


async def test_the_bridge_has_the_gateway_address_a_fixed_mac_and_no_ipv6(
    bridge: Networking,
) -> None:
    await bridge.ensure_bridge()  # a second run changes nothing
    info = sh("ip", "-o", "addr", "show", "dev", BRIDGE)
    assert f"inet {bridge.gateway}/24" in info
    assert "inet6" not in info
    assert Path(f"/proc/sys/net/ipv6/conf/{BRIDGE}/disable_ipv6").read_text().strip() == "1"
    assert "link/ether 02:6d:c6:12:" in sh("ip", "-o", "link", "show", "dev", BRIDGE)
    assert sh("ip", "-o", "addr", "show", "dev", BRIDGE).count("inet ") == 1


# -- task networks -------------------------------------------------------------------------------


async def test_two_tasks_reach_each_other_and_the_host_reaches_both(tasks: Tasks) -> None:
    a, b = await tasks.network(), await tasks.network()
    await tasks.serve(a, 9081, "A")
    await tasks.serve(b, 9081, "B")
    assert await connect_from(a, b.ip, 9081) == f"B {a.ip}"
    assert await connect_from(b, a.ip, 9081) == f"A {b.ip}"
    assert connect_from_host(a.ip, 9081) == f"A {tasks.nets.gateway}"
    assert connect_from_host(b.ip, 9081) == f"B {tasks.nets.gateway}"
    with socket.create_server((tasks.nets.gateway, 0)) as host_server:  # the control plane's side
        port = host_server.getsockname()[1]
        reply = asyncio.create_task(connect_from(a, tasks.nets.gateway, port))
        conn, peer = await asyncio.to_thread(host_server.accept)
        with conn:
            conn.sendall(b"host\n")
        assert (await reply, peer[0]) == ("host", a.ip)


async def test_a_task_has_only_the_connected_route_and_no_ipv6(tasks: Tasks) -> None:
    net = await tasks.network()
    routes = sh("ip", "-n", net.netns, "route", "show").strip().splitlines()
    assert routes == [f"{CIDR} dev eth0 proto kernel scope link src {net.ip}"]
    assert sh("ip", "-n", net.netns, "route", "show", "default") == ""
    assert sh("ip", "-n", net.netns, "-6", "addr") == ""
    for key in ("all", "default", "eth0", "lo"):
        value = sh(
            "ip", "netns", "exec", net.netns, "cat", f"/proc/sys/net/ipv6/conf/{key}/disable_ipv6"
        )
        assert value.strip() == "1", key
    eth0 = sh("ip", "-n", net.netns, "-o", "link", "show", "dev", "eth0")
    assert f"link/ether {net.mac}" in eth0
    assert f"master {BRIDGE}" in sh("ip", "-o", "link", "show", "dev", net.host_veth)


def _rules(save_output: str) -> list[str]:
    return [line for line in save_output.splitlines() if line.startswith(("-A", ":APPMESH"))]


async def test_the_seed_rules_equal_the_cni_plugins_command_sequence(tasks: Tasks) -> None:
    restored, replayed = await tasks.network(), await tasks.network()
    text = SEED_RULES.read_text()
    await tasks.nets.apply_iptables(restored, text)
    await tasks.nets.apply_iptables(restored, text)  # idempotent: still one copy of each rule
    # The same rules as the plugin issues them: one `iptables -t nat` command per line.
    for line in text.splitlines()[1:-1]:
        sh("ip", "netns", "exec", replayed.netns, "iptables", "-t", "nat", *line.split())
    got = _rules(await tasks.nets.nat_rules(restored))
    assert got == _rules(await tasks.nets.nat_rules(replayed))
    assert (
        "-A APPMESH_INGRESS -p tcp -m multiport --dports 9080 -j REDIRECT --to-ports 15000" in got
    )
    assert len(got) == 9
    assert "APPMESH" not in sh("iptables-save")  # nothing leaked onto the host


async def test_another_tasks_connection_to_the_app_port_lands_on_15000_but_localhost_does_not(
    tasks: Tasks,
) -> None:
    client, server = await tasks.network(), await tasks.network()
    await tasks.serve(server, 9080, "app")
    await tasks.serve(server, 15000, "proxy")
    await tasks.nets.apply_iptables(server, SEED_RULES.read_text())
    assert await connect_from(client, server.ip, 9080) == f"proxy {client.ip}"
    assert connect_from_host(server.ip, 9080) == f"proxy {tasks.nets.gateway}"
    assert await connect_from(server, "127.0.0.1", 9080) == "app 127.0.0.1"
    assert await connect_from(server, server.ip, 9080) == f"app {server.ip}"
    await tasks.nets.clear_iptables(server)
    assert _rules(await tasks.nets.nat_rules(server)) == []
    assert await connect_from(client, server.ip, 9080) == f"app {client.ip}"


# -- processes -----------------------------------------------------------------------------------


async def test_a_process_runs_as_1337_in_the_task_and_sees_its_hosts_file(tasks: Tasks) -> None:
    net = await tasks.network()
    handle = await tasks.start(net, ["sleep", "60"], rlimits={"nofile": (4096, 8192)})
    status = Path(f"/proc/{handle.pid}/status").read_text()
    assert re.search(r"^Uid:\s+1337\s+1337\s+1337\s+1337$", status, re.M)
    assert re.search(r"^CapEff:\s+0+$", status, re.M)
    assert Path(f"/proc/{handle.pid}/cmdline").read_bytes() == b"sleep\x0060\x00"
    assert os.stat(f"/proc/{handle.pid}/ns/net").st_ino == os.stat(f"/run/netns/{net.netns}").st_ino
    assert os.getpgid(handle.pid) == handle.pid and os.getsid(handle.pid) == handle.pid
    limits = Path(f"/proc/{handle.pid}/limits").read_text()
    assert re.search(r"^Max open files\s+4096\s+8192", limits, re.M)
    hosts = Path(f"/proc/{handle.pid}/root/etc/hosts")
    assert f"{net.ip}\t{net.hostname}" in hosts.read_text()
    assert "localhost" in hosts.read_text()
    assert hosts.read_text() != Path("/etc/hosts").read_text()
    tasks.nets.write_hosts(net, [("198.18.0.77", "colorteller.demo.local")])
    assert "colorteller.demo.local" in hosts.read_text()  # seen by the running process
    code, out = await run_probe(
        net.netns, ["getent", "hosts", "colorteller.demo.local"], 1337, 1337, 5
    )
    assert (code, out.split()) == (0, ["198.18.0.77", "colorteller.demo.local"])
    handle.signal(15)
    assert await handle.wait() == 143


async def test_a_program_the_user_cannot_reach_fails_like_a_real_exec(
    tasks: Tasks, tmp_path: Path
) -> None:
    net = await tasks.network()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    program = private / "prog"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    with pytest.raises(LaunchError, match=r'exec: "[^"]*prog": permission denied'):
        await tasks.start(net, [str(program)])
    with pytest.raises(LaunchError, match=r'exec: "nosuchprog": executable file not found'):
        await tasks.start(net, ["nosuchprog"])
    root_run = await tasks.start(net, [str(program)], uid=0)  # root may
    assert await root_run.wait() == 0


async def test_a_probe_that_outlives_its_timeout_is_killed_with_its_group(tasks: Tasks) -> None:
    net = await tasks.network()
    code, out = await run_probe(
        net.netns, ["/bin/sh", "-c", "sleep 30 & sleep 30"], 1337, 1337, 0.3
    )
    assert (code, out) == (-1, "Health check exceeded timeout (300ms)")
    for _ in range(50):
        if not await tasks.nets.pids(net.netns):
            break
        await asyncio.sleep(0.02)
    assert await tasks.nets.pids(net.netns) == ()


async def test_kill_group_stops_the_program_and_its_children(tasks: Tasks) -> None:
    net = await tasks.network()
    handle = await tasks.start(net, ["/bin/sh", "-c", "sleep 30 & sleep 30 & wait"])
    for _ in range(50):
        if len(await tasks.nets.pids(net.netns)) == 3:
            break
        await asyncio.sleep(0.02)
    handle.kill_group()
    assert await handle.wait() == 137
    for _ in range(50):
        if not await tasks.nets.pids(net.netns):
            break
        await asyncio.sleep(0.02)
    assert await tasks.nets.pids(net.netns) == ()


# -- teardown and crash leftovers ----------------------------------------------------------------


async def test_destroy_refuses_with_processes_and_then_leaves_nothing(tasks: Tasks) -> None:
    net = await tasks.network()
    handle = await tasks.start(net, ["sleep", "60"])
    with pytest.raises(NetnsBusyError):
        await tasks.nets.destroy(net)
    handle.kill_group()
    await handle.wait()
    await tasks.nets.destroy(net)
    tasks.made.remove(net)
    assert net.netns not in netns_list()
    assert net.host_veth not in links()
    assert not Path(f"/etc/netns/{net.netns}").exists()
    assert not Path(f"/proc/{handle.pid}").exists()


async def test_leftovers_of_a_crashed_server_are_found_and_cleaned(
    bridge: Networking, tmp_path: Path
) -> None:
    crashed = Networking(SubprocessRunner(), bridge=BRIDGE, cidr=CIDR, state_dir=tmp_path)
    net = await crashed.create(secrets.token_hex(16), str(ipaddress.ip_network(CIDR)[250]))
    orphan = subprocess.Popen(
        ["ip", "netns", "exec", net.netns, "sleep", "60"], start_new_session=True
    )
    try:
        for _ in range(100):
            if await crashed.pids(net.netns):
                break
            await asyncio.sleep(0.02)
        restarted = Networking(SubprocessRunner(), bridge=BRIDGE, cidr=CIDR, state_dir=tmp_path)
        found = await restarted.leftovers()
        assert found.networks == (net,)
        assert found.netns == (net.netns,)
        assert net.host_veth in found.veths
        assert found.pids == {net.netns: (orphan.pid,)}
        await restarted.cleanup_leftovers()
        assert orphan.wait(timeout=5) == -9
        assert net.netns not in netns_list()
        assert net.host_veth not in links()
        assert not Path(f"/etc/netns/{net.netns}").exists()
        assert not await restarted.leftovers()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
        subprocess.run(["ip", "link", "delete", net.host_veth], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "delete", net.netns], check=False, capture_output=True)
        shutil.rmtree(f"/etc/netns/{net.netns}", ignore_errors=True)


async def test_stdout_and_stderr_land_in_the_containers_log_files(tasks: Tasks) -> None:
    net = await tasks.network()
    files = log_files(tasks.nets.state_dir, net.task_id, "app")
    spec = ProcessSpec(
        argv=("/bin/sh", "-c", "echo out; echo err >&2; exit 3"),
        env={"PATH": "/usr/bin:/bin"},
        uid=1337,
        gid=1337,
        netns=net.netns,
        stdout_path=files.stdout,
        stderr_path=files.stderr,
    )
    handle = await spawn(spec)
    assert await handle.wait() == 3
    assert (tail(files.stdout, 10), tail(files.stderr, 10)) == (["out"], ["err"])


async def test_a_missing_namespace_is_a_launch_error(tmp_path: Path) -> None:
    spec = ProcessSpec(
        argv=("true",),
        netns="mw-doesnotexist",
        stdout_path=tmp_path / "o",
        stderr_path=tmp_path / "e",
    )
    with pytest.raises(LaunchError, match="cannot enter network namespace mw-doesnotexist"):
        await spawn(spec)
