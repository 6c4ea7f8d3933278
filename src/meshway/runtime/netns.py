"""Task networking (awsvpc on one host): the bridge, one network namespace per task, addresses.

Every task gets a netns `mw-<first 12 of the task id>`, a veth pair whose host side
`mwh<the address in hex>` is a port of the bridge and whose peer is `eth0` in the netns, one IPv4
address from the bridge's CIDR and only the connected route: no NAT, no default route, so task
traffic never leaves the host. IPv6 is off in every netns (the App Mesh rules are IPv4-only, so
IPv6 would bypass the mesh). `/etc/netns/<netns>/{hosts,resolv.conf}` are the task's name files;
`ip netns exec` bind-mounts them over /etc in a fresh mount namespace (process.py launches so).
The files are rewritten in place, never renamed: a bind mount pins the inode.
Facts behind each step: reference/runtime-spike.md §1, §5, §8, §10. Commands go through a
commands.Runner, so unit tests compare them with golden lists; iptables.py makes the rule text.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from meshway.runtime.commands import Runner
from meshway.runtime.iptables import EMPTY_NAT
from meshway.runtime.names import synthetic_block

NETNS_PREFIX = "mw-"
VETH_PREFIX = "mwh"
DEFAULT_BRIDGE = "meshway0"
DEFAULT_CIDR = "198.18.0.0/16"
ETC_NETNS = Path("/etc/netns")
# One try, one second: the bridge resolver answers at once or not at all (runtime/dns.py).
RESOLV_OPTIONS = "options timeout:1 attempts:1"
IPV6_OFF = (
    "sysctl",
    "-q",
    "-w",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
)


class NetworkError(RuntimeError):
    """The host refused a networking step, or a teardown would leave something behind."""


class AddressPoolExhaustedError(NetworkError):
    pass


class AddressInUseError(NetworkError):
    """The address's interface exists already: another server on the same bridge uses it."""


class NetnsBusyError(NetworkError):
    """Processes still run in the namespace; deleting it now would only remove its name."""

    def __init__(self, netns: str, pids: Sequence[int]) -> None:
        self.netns = netns
        self.pids = tuple(pids)
        super().__init__(f"network namespace {netns} still has processes {list(pids)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskNetwork:
    task_id: str
    netns: str
    ip: str
    prefix: int
    gateway: str
    host_veth: str
    mac: str  # eth0's address inside the task (the ENI's macAddress)
    hostname: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Leftovers:
    """What a crashed server left: recorded networks, our veths, and what still runs in them."""

    networks: tuple[TaskNetwork, ...] = ()
    netns: tuple[str, ...] = ()  # recorded namespaces that still exist
    veths: tuple[str, ...] = ()  # our veths (recorded, or ports of our bridge)
    pids: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.networks or self.netns or self.veths)


def netns_name(task_id: str) -> str:
    return NETNS_PREFIX + task_id.replace("-", "")[:12]


def veth_name(ip: str) -> str:
    """`mwh` + the address in hex: unique per address, 11 characters (IFNAMSIZ allows 15)."""
    return VETH_PREFIX + ipaddress.IPv4Address(ip).packed.hex()


def mac_for(ip: str) -> str:
    """A locally administered MAC derived from the address: a reused address keeps its MAC, so
    neighbours' ARP caches never go stale."""
    return "02:6d:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


def default_hostname(ip: str) -> str:
    return "ip-" + ip.replace(".", "-")  # what EC2 names an address


def hosts_text(
    net: TaskNetwork, entries: Iterable[tuple[str, str]] = (), host_name: str = ""
) -> str:
    """The task's /etc/hosts: localhost (IPv4 only: IPv6 is off), the task's own names, then
    `entries` as (address, name) lines in the order given."""
    own = [net.hostname] + ([host_name] if host_name and host_name != net.hostname else [])
    lines = ["127.0.0.1\tlocalhost", f"{net.ip}\t{' '.join(own)}"]
    lines += [f"{ip}\t{name}" for ip, name in entries]
    return "\n".join(lines) + "\n"


def resolv_text(nameservers: Sequence[str], search: Sequence[str] = ()) -> str:
    lines = [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    return "\n".join([*lines, RESOLV_OPTIONS]) + "\n"


def write_in_place(path: Path, text: str) -> None:
    """Rewrite without rename: running processes see the file through a bind mount of this
    inode (runtime-spike.md §5); a renamed replacement would never reach them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    with open(path, "r+b" if path.exists() else "wb") as f:
        f.write(data)
        f.truncate(len(data))


class AddressPool:
    """Addresses of the CIDR minus network, gateway (first host), broadcast and the block kept
    for the resolver's synthetic addresses (names.synthetic_block), handed out round-robin so a
    released address is reused as late as possible."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        if self.network.num_addresses < 4:
            raise NetworkError(f"task CIDR {cidr} has no room for tasks")
        self.gateway = self.network.network_address + 1
        self._first = int(self.gateway) + 1
        reserved = synthetic_block(cidr)
        end = reserved.network_address if reserved else self.network.broadcast_address
        self._last = int(end) - 1
        self._cursor = self._first
        self._by_task: dict[str, int] = {}
        self._used: set[int] = set()

    def allocate(self, task_id: str) -> str:
        if task_id in self._by_task:
            return str(ipaddress.IPv4Address(self._by_task[task_id]))
        size = self._last - self._first + 1
        for step in range(size):
            candidate = self._first + (self._cursor - self._first + step) % size
            if candidate not in self._used:
                self._take(task_id, candidate)
                self._cursor = candidate + 1 if candidate < self._last else self._first
                return str(ipaddress.IPv4Address(candidate))
        raise AddressPoolExhaustedError(f"no free address left in {self.network}")

    def reserve(self, ip: str, task_id: str) -> None:
        """Mark an address in use again (recovery after a restart)."""
        value = int(ipaddress.IPv4Address(ip))
        if not self._first <= value <= self._last:
            raise NetworkError(f"{ip} is not a task address of {self.network}")
        owner = next((t for t, v in self._by_task.items() if v == value), None)
        if owner not in (None, task_id):
            raise NetworkError(f"{ip} is already allocated to task {owner}")
        self.release(task_id)
        self._take(task_id, value)

    def release(self, task_id: str) -> None:
        value = self._by_task.pop(task_id, None)
        if value is not None:
            self._used.discard(value)

    def _take(self, task_id: str, value: int) -> None:
        self._by_task[task_id] = value
        self._used.add(value)


class Networking:
    """The bridge and the per-task namespaces of one Meshway server."""

    def __init__(
        self,
        runner: Runner,
        *,
        bridge: str = DEFAULT_BRIDGE,
        cidr: str = DEFAULT_CIDR,
        state_dir: Path,
        etc_netns: Path = ETC_NETNS,
        host_name: str | None = None,
    ) -> None:
        self.runner = runner
        self.bridge = bridge
        self.pool = AddressPool(cidr)
        self.state_dir = Path(state_dir)
        self.etc_netns = etc_netns
        self.host_name = socket.gethostname() if host_name is None else host_name

    @property
    def gateway(self) -> str:
        return str(self.pool.gateway)

    @property
    def prefix(self) -> int:
        return self.pool.network.prefixlen

    # -- bridge ------------------------------------------------------------------------------

    async def ensure_bridge(self) -> None:
        """Create or repair the bridge: gateway address, fixed MAC (a bridge otherwise takes a
        port's MAC, which changes as tasks come and go), IPv6 off, up. Idempotent."""
        found = await self.runner.run(["ip", "-j", "link", "show", "dev", self.bridge], check=False)
        mac = mac_for(self.gateway)
        if found.code != 0:
            await self.runner.run(
                ["ip", "link", "add", self.bridge, "address", mac, "type", "bridge"]
            )
        await self.runner.run(["sysctl", "-q", "-w", f"net.ipv6.conf.{self.bridge}.disable_ipv6=1"])
        await self.runner.run(
            ["ip", "addr", "replace", f"{self.gateway}/{self.prefix}", "dev", self.bridge]
        )
        await self.runner.run(["ip", "link", "set", self.bridge, "address", mac, "up"])
        await self._ensure_forward()

    def _forward_rule(self) -> list[str]:
        return ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]

    async def _ensure_forward(self) -> None:
        """With br_netfilter, bridged task↔task packets pass the host's FORWARD hook; a DROP
        policy (Docker sets one) would silently cut them (runtime-spike.md §1)."""
        listing = await self.runner.run(["iptables", "-w", "-S", "FORWARD"])
        if "-P FORWARD ACCEPT" in listing.stdout.splitlines():
            return
        present = await self.runner.run(
            ["iptables", "-w", "-C", *self._forward_rule()], check=False
        )
        if present.code != 0:
            await self.runner.run(["iptables", "-w", "-I", *self._forward_rule()])

    async def remove_bridge(self) -> None:
        """Delete the bridge and our FORWARD exception (if any). Tasks must be gone first."""
        await self.runner.run(["iptables", "-w", "-D", *self._forward_rule()], check=False)
        await self.runner.run(["ip", "link", "delete", self.bridge], check=False)

    # -- addresses ---------------------------------------------------------------------------

    def allocate(self, task_id: str) -> str:
        return self.pool.allocate(task_id)

    def release(self, task_id: str) -> None:
        self.pool.release(task_id)

    def reserve(self, ip: str, task_id: str) -> None:
        self.pool.reserve(ip, task_id)

    # -- per task ----------------------------------------------------------------------------

    def network_for(self, task_id: str, ip: str, hostname: str | None = None) -> TaskNetwork:
        return TaskNetwork(
            task_id=task_id,
            netns=netns_name(task_id),
            ip=ip,
            prefix=self.prefix,
            gateway=self.gateway,
            host_veth=veth_name(ip),
            mac=mac_for(ip),
            hostname=hostname or default_hostname(ip),
        )

    async def create(self, task_id: str, ip: str, *, hostname: str | None = None) -> TaskNetwork:
        """netns + veth into the bridge + address + lo, IPv6 off, name files.

        Names already on the host are refused before anything is touched (they belong to
        someone else); once building starts, a failure removes everything built. The record is
        written first, so a crash at any step leaves something `leftovers()` finds."""
        if ipaddress.IPv4Address(ip) not in self.pool.network:
            raise NetworkError(f"{ip} is not in the task CIDR {self.pool.network}")
        net = self.network_for(task_id, ip, hostname)
        await self._refuse_existing(net)
        self._write_record(net)
        try:
            await self._build(net)
        except BaseException:
            await self._remove(net)
            raise
        self.write_hosts(net, ())
        self.write_resolv_conf(net, [net.gateway])
        return net

    async def _refuse_existing(self, net: TaskNetwork) -> None:
        if net.netns in await self._netns_names():
            raise NetworkError(f"network namespace {net.netns} already exists")
        found = await self.runner.run(
            ["ip", "-j", "link", "show", "dev", net.host_veth], check=False
        )
        if found.code == 0:
            raise AddressInUseError(f"interface {net.host_veth} for {net.ip} already exists")

    async def _build(self, net: TaskNetwork) -> None:
        await self.runner.run(
            ["ip", "-batch", "-"],
            stdin=_lines(
                f"netns add {net.netns}",
                f"link add {net.host_veth} type veth peer name eth0 address {net.mac} "
                f"netns {net.netns}",
                f"link set {net.host_veth} master {self.bridge} up",
            ),
        )
        # Before eth0 comes up, so it never gets a link-local address (IPv6 would bypass the mesh).
        await self.runner.run(["ip", "netns", "exec", net.netns, *IPV6_OFF])
        await self.runner.run(
            ["ip", "-n", net.netns, "-batch", "-"],
            stdin=_lines(
                "link set lo up",
                f"addr add {net.ip}/{net.prefix} dev eth0",
                "link set eth0 up",
            ),
        )

    def etc_dir(self, net: TaskNetwork) -> Path:
        return self.etc_netns / net.netns

    def write_hosts(self, net: TaskNetwork, entries: Iterable[tuple[str, str]]) -> None:
        """Replace the task's hosts entries ((address, name) pairs), in place."""
        write_in_place(self.etc_dir(net) / "hosts", hosts_text(net, entries, self.host_name))

    def write_resolv_conf(
        self, net: TaskNetwork, nameservers: Sequence[str], search: Sequence[str] = ()
    ) -> None:
        """The default nameserver is the bridge address: with nothing listening there a lookup
        fails at once (port unreachable) instead of timing out toward an unreachable host."""
        write_in_place(self.etc_dir(net) / "resolv.conf", resolv_text(nameservers, search))

    async def apply_iptables(self, net: TaskNetwork, text: str) -> None:
        """One `iptables-restore` replacing the task's nat table atomically (no --noflush:
        the table is the task's own, and a rerun stays idempotent; runtime-spike.md §4)."""
        await self.runner.run(
            ["ip", "netns", "exec", net.netns, "iptables-restore"], stdin=text.encode()
        )

    async def clear_iptables(self, net: TaskNetwork) -> None:
        await self.apply_iptables(net, EMPTY_NAT)

    async def nat_rules(self, net: TaskNetwork) -> str:
        result = await self.runner.run(
            ["ip", "netns", "exec", net.netns, "iptables-save", "-t", "nat"]
        )
        return result.stdout

    async def pids(self, netns: str) -> tuple[int, ...]:
        """Processes in the namespace; none if it does not exist."""
        result = await self.runner.run(["ip", "netns", "pids", netns], check=False)
        if result.code != 0:
            return ()
        return tuple(int(word) for word in result.stdout.split())

    async def destroy(self, net: TaskNetwork) -> None:
        """Remove the veth, netns, name files and record. Kills nothing: processes still in the
        namespace would keep it (and the veth) alive after its name is gone, so refuse."""
        remaining = await self.pids(net.netns)
        if remaining:
            raise NetnsBusyError(net.netns, remaining)
        await self._remove(net)

    async def _remove(self, net: TaskNetwork) -> None:
        # The veth first: deleting it is synchronous, a netns's own teardown is not.
        await self._delete_link(net.host_veth)
        await self._delete_netns(net.netns)
        shutil.rmtree(self.etc_dir(net), ignore_errors=True)
        self._record_path(net.netns).unlink(missing_ok=True)

    async def _delete_link(self, name: str) -> None:
        result = await self.runner.run(["ip", "link", "delete", name], check=False)
        if result.code != 0 and "Cannot find device" not in result.stderr:
            raise NetworkError(f"ip link delete {name}: {result.stderr.strip()}")

    async def _delete_netns(self, name: str) -> None:
        result = await self.runner.run(["ip", "netns", "delete", name], check=False)
        if result.code != 0 and "No such file" not in result.stderr:
            raise NetworkError(f"ip netns delete {name}: {result.stderr.strip()}")

    # -- crash recovery ----------------------------------------------------------------------

    async def leftovers(self) -> Leftovers:
        """Our recorded networks still on disk, their namespaces and veths, and the processes
        still in those namespaces. Namespaces and veths that merely share the prefix or the
        bridge but belong to another server (another state dir) are left alone: several servers
        may share `meshway0`, and one's start must not cut another's running tasks off.
        Call it at start-up, before any task is created: live tasks' records count too."""
        networks = self._records()
        existing = set(await self._netns_names())
        netns = tuple(n.netns for n in networks if n.netns in existing)
        recorded_veths = {n.host_veth for n in networks}
        veths = tuple(sorted(name for name in (await self._veths()) if name in recorded_veths))
        pids = {name: found for name in netns if (found := await self.pids(name))}
        return Leftovers(networks=networks, netns=netns, veths=veths, pids=pids)

    async def cleanup_leftovers(self) -> Leftovers:
        """Kill what still runs in our leftover namespaces, then remove everything found.
        Returns what was found (the supervisor marks those tasks STOPPED)."""
        found = await self.leftovers()
        for pids in found.pids.values():
            await self.runner.run(["kill", "-KILL", *map(str, pids)], check=False)
        for name in found.veths:
            await self._delete_link(name)
        for net in found.networks:
            await self._delete_netns(net.netns)
            shutil.rmtree(self.etc_dir(net), ignore_errors=True)
            self._record_path(net.netns).unlink(missing_ok=True)
        return found

    async def _netns_names(self) -> list[str]:
        result = await self.runner.run(["ip", "-j", "netns", "list"], check=False)
        entries = json.loads(result.stdout) if result.stdout.strip() else []
        return [str(e["name"]) for e in entries]

    async def _veths(self) -> dict[str, str]:
        """Our veths (by prefix) → their bridge ("" when detached)."""
        result = await self.runner.run(["ip", "-j", "link", "show", "type", "veth"], check=False)
        links = json.loads(result.stdout) if result.stdout.strip() else []
        return {
            str(link["ifname"]): str(link.get("master", ""))
            for link in links
            if str(link["ifname"]).startswith(VETH_PREFIX)
        }

    def _record_path(self, netns: str) -> Path:
        return self.state_dir / "networks" / f"{netns}.json"

    def _write_record(self, net: TaskNetwork) -> None:
        path = self._record_path(net.netns)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(net), sort_keys=True))

    def _records(self) -> tuple[TaskNetwork, ...]:
        folder = self.state_dir / "networks"
        if not folder.is_dir():
            return ()
        return tuple(
            TaskNetwork(**json.loads(p.read_text()))
            for p in sorted(folder.glob(f"{NETNS_PREFIX}*.json"))
        )


def _lines(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()
