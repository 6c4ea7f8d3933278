"""Task networking as commands: the exact `ip`/`iptables` sequence, pinned by golden transcripts,
plus the address pool, the name files and crash-leftover detection (recorded runner, tmp dirs)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from meshway.runtime.commands import CommandError, RecordingRunner, Result
from meshway.runtime.netns import (
    AddressPool,
    AddressPoolExhaustedError,
    NetnsBusyError,
    NetworkError,
    Networking,
    mac_for,
    netns_name,
    veth_name,
)

GOLDEN = Path(__file__).parents[2] / "golden" / "netns"
TASK = "0123456789abcdef0123456789abcdef"


def transcript(runner: RecordingRunner) -> str:
    """Each command on a line; its stdin lines below it, prefixed by `  < `."""
    out = []
    for call in runner.calls:
        out.append(" ".join(call.argv))
        if call.stdin is not None:
            out += ["  < " + line for line in call.stdin.decode().splitlines()]
    return "\n".join(out) + "\n"


def check_golden(name: str, text: str, request: pytest.FixtureRequest) -> None:
    golden = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-goldens"):
        golden.write_text(text)
    assert text == golden.read_text()


def fresh_host() -> RecordingRunner:
    """A runner on which no task interface exists yet."""
    runner = RecordingRunner()
    runner.on(["ip", "-j", "link", "show", "dev", "mwhc612000a"], Result(1, "", "not there"))
    return runner


def networking(tmp_path: Path, runner: RecordingRunner) -> Networking:
    return Networking(
        runner, state_dir=tmp_path / "state", etc_netns=tmp_path / "etc-netns", host_name="testhost"
    )


def test_names_fit_ifnamsiz_and_derive_from_task_and_address() -> None:
    assert netns_name(TASK) == "mw-0123456789ab"
    assert veth_name("198.18.0.10") == "mwhc612000a"
    assert len(veth_name("198.18.255.254")) <= 15
    assert mac_for("198.18.0.10") == "02:6d:c6:12:00:0a"


def test_a_new_bridge_is_created_with_its_address_fixed_mac_and_ipv6_off(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = fresh_host()
    runner.on(["ip", "-j", "link", "show"], Result(1, "", 'Device "meshway0" does not exist.'))
    runner.on(["iptables", "-w", "-S"], Result(0, "-P FORWARD ACCEPT\n"))
    asyncio.run(networking(tmp_path, runner).ensure_bridge())
    check_golden("ensure-bridge-new", transcript(runner), request)


def test_a_drop_forward_policy_gets_one_bridge_to_bridge_accept(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = fresh_host()
    runner.on(["iptables", "-w", "-S"], Result(0, "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n"))
    runner.on(["iptables", "-w", "-C"], Result(1, "", "Bad rule"))
    asyncio.run(networking(tmp_path, runner).ensure_bridge())
    check_golden("ensure-bridge-forward-drop", transcript(runner), request)


def test_an_existing_forward_accept_is_not_added_twice(tmp_path: Path) -> None:
    runner = fresh_host()
    runner.on(["iptables", "-w", "-S"], Result(0, "-P FORWARD DROP\n"))
    asyncio.run(networking(tmp_path, runner).ensure_bridge())
    assert not any(line.startswith("iptables -w -I") for line in runner.lines())
    assert "ip link add" not in "\n".join(runner.lines())  # the bridge existed


def test_create_builds_the_namespace_then_disables_ipv6_before_eth0_comes_up(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = fresh_host()
    net = asyncio.run(networking(tmp_path, runner).create(TASK, "198.18.0.10"))
    assert (net.netns, net.ip, net.prefix, net.gateway, net.host_veth, net.mac) == (
        "mw-0123456789ab",
        "198.18.0.10",
        16,
        "198.18.0.1",
        "mwhc612000a",
        "02:6d:c6:12:00:0a",
    )
    check_golden("create", transcript(runner), request)


def test_create_writes_the_task_name_files_and_a_record(tmp_path: Path) -> None:
    net = asyncio.run(networking(tmp_path, fresh_host()).create(TASK, "198.18.0.10"))
    etc = tmp_path / "etc-netns" / net.netns
    assert (etc / "hosts").read_text() == (
        "127.0.0.1\tlocalhost\n198.18.0.10\tip-198-18-0-10 testhost\n"
    )
    assert (etc / "resolv.conf").read_text() == (
        "nameserver 198.18.0.1\noptions timeout:1 attempts:1\n"
    )
    record = json.loads((tmp_path / "state" / "networks" / f"{net.netns}.json").read_text())
    assert record["task_id"] == TASK


def test_an_address_outside_the_cidr_is_refused(tmp_path: Path) -> None:
    runner = fresh_host()
    with pytest.raises(NetworkError, match="not in the task CIDR"):
        asyncio.run(networking(tmp_path, runner).create(TASK, "10.0.0.5"))
    assert runner.calls == []


def test_write_hosts_rewrites_the_same_inode(tmp_path: Path) -> None:
    nets = networking(tmp_path, fresh_host())
    net = asyncio.run(nets.create(TASK, "198.18.0.10"))
    hosts = tmp_path / "etc-netns" / net.netns / "hosts"
    inode = hosts.stat().st_ino
    nets.write_hosts(
        net, [("198.18.0.11", "colorteller.demo.local"), ("198.18.0.12", "colorteller.demo.local")]
    )
    assert hosts.stat().st_ino == inode
    assert hosts.read_text().splitlines()[2:] == [
        "198.18.0.11\tcolorteller.demo.local",
        "198.18.0.12\tcolorteller.demo.local",
    ]
    nets.write_hosts(net, [])  # shorter than before: no stale tail remains
    assert hosts.stat().st_ino == inode
    assert len(hosts.read_text().splitlines()) == 2


def test_iptables_are_applied_with_one_restore_and_cleared_with_an_empty_nat(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = fresh_host()
    nets = networking(tmp_path, runner)
    net = nets.network_for(TASK, "198.18.0.10")
    seed = (Path(__file__).parents[2] / "golden" / "iptables" / "seed.rules").read_text()
    asyncio.run(nets.apply_iptables(net, seed))
    asyncio.run(nets.clear_iptables(net))
    check_golden("iptables", transcript(runner), request)


def test_destroy_refuses_while_processes_remain(tmp_path: Path) -> None:
    runner = fresh_host()
    runner.on(["ip", "netns", "pids"], Result(0, "4242\n4243\n"))
    nets = networking(tmp_path, runner)
    net = nets.network_for(TASK, "198.18.0.10")
    with pytest.raises(NetnsBusyError) as caught:
        asyncio.run(nets.destroy(net))
    assert caught.value.pids == (4242, 4243)
    assert runner.lines() == ["ip netns pids mw-0123456789ab"]


def test_destroy_removes_veth_then_netns_then_files(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = fresh_host()
    nets = networking(tmp_path, runner)
    net = asyncio.run(nets.create(TASK, "198.18.0.10"))
    runner.calls.clear()
    asyncio.run(nets.destroy(net))
    check_golden("destroy", transcript(runner), request)
    assert not (tmp_path / "etc-netns" / net.netns).exists()
    assert not list((tmp_path / "state" / "networks").iterdir())


def test_destroy_fails_loudly_when_the_host_refuses(tmp_path: Path) -> None:
    runner = fresh_host()
    runner.on(["ip", "netns", "delete"], Result(1, "", "Cannot remove namespace: Busy"))
    nets = networking(tmp_path, runner)
    with pytest.raises(NetworkError, match="Busy"):
        asyncio.run(nets.destroy(nets.network_for(TASK, "198.18.0.10")))


def test_leftovers_are_our_recorded_networks_and_their_veths_only(tmp_path: Path) -> None:
    runner = fresh_host()
    nets = networking(tmp_path, runner)
    net = asyncio.run(nets.create(TASK, "198.18.0.10"))
    links = [
        {"ifname": "mwhc612000a", "master": "meshway0"},  # the recorded task's veth
        {"ifname": "mwhc6120063", "master": "meshway0"},  # same bridge, another server's task
        {"ifname": "mwhc612c801", "master": "otherbridge"},  # another server's
        {"ifname": "vethabc", "master": "docker0"},
    ]
    runner.on(
        ["ip", "-j", "netns", "list"],
        Result(0, json.dumps([{"name": net.netns}, {"name": "mw-someoneelse"}])),
    )
    runner.on(["ip", "-j", "link", "show", "type", "veth"], Result(0, json.dumps(links)))
    runner.on(["ip", "netns", "pids", net.netns], Result(0, "777\n"))
    found = asyncio.run(nets.leftovers())
    assert found.networks == (net,)
    assert found.netns == (net.netns,)
    assert found.veths == ("mwhc612000a",)
    assert found.pids == {net.netns: (777,)}


def test_cleanup_kills_leftover_processes_and_removes_everything(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = fresh_host()
    nets = networking(tmp_path, runner)
    net = asyncio.run(nets.create(TASK, "198.18.0.10"))
    runner.calls.clear()
    runner.on(["ip", "-j", "netns", "list"], Result(0, json.dumps([{"name": net.netns}])))
    runner.on(
        ["ip", "-j", "link", "show", "type", "veth"],
        Result(0, json.dumps([{"ifname": "mwhc612000a", "master": "meshway0"}])),
    )
    runner.on(["ip", "netns", "pids", net.netns], Result(0, "777\n778\n"))
    found = asyncio.run(nets.cleanup_leftovers())
    assert found.networks == (net,)
    check_golden("cleanup-leftovers", transcript(runner), request)
    assert not (tmp_path / "etc-netns" / net.netns).exists()
    assert not list((tmp_path / "state" / "networks").iterdir())


def test_no_leftovers_on_a_clean_host(tmp_path: Path) -> None:
    found = asyncio.run(networking(tmp_path, fresh_host()).leftovers())
    assert not found


def test_the_pool_skips_network_gateway_and_broadcast_and_wraps() -> None:
    pool = AddressPool("198.18.7.0/29")  # .0 network, .1 gateway, .7 broadcast
    got = [pool.allocate(f"t{i}") for i in range(5)]
    assert got == [f"198.18.7.{n}" for n in range(2, 7)]
    with pytest.raises(AddressPoolExhaustedError):
        pool.allocate("t5")
    pool.release("t2")
    assert pool.allocate("t6") == "198.18.7.4"  # reused once free


def test_the_pool_hands_out_released_addresses_last() -> None:
    pool = AddressPool("198.18.0.0/16")
    first = pool.allocate("a")
    pool.release("a")
    assert pool.allocate("b") != first
    assert pool.allocate("b") == "198.18.0.3"  # the same task keeps its address


def test_reserve_restores_an_address_and_refuses_a_taken_one() -> None:
    pool = AddressPool("198.18.0.0/16")
    pool.reserve("198.18.0.2", "old")
    assert pool.allocate("new") == "198.18.0.3"
    with pytest.raises(NetworkError, match="already allocated"):
        pool.reserve("198.18.0.2", "other")
    with pytest.raises(NetworkError, match="not a task address"):
        pool.reserve("198.18.0.1", "gw")


def test_create_refuses_names_already_on_the_host_without_touching_them(tmp_path: Path) -> None:
    runner = RecordingRunner()  # every `ip link show` succeeds: the veth exists
    with pytest.raises(NetworkError, match=r"mwhc612000a for 198\.18\.0\.10 already exists"):
        asyncio.run(networking(tmp_path, runner).create(TASK, "198.18.0.10"))
    assert runner.lines() == ["ip -j netns list", "ip -j link show dev mwhc612000a"]
    runner = fresh_host()
    runner.on(["ip", "-j", "netns", "list"], Result(0, json.dumps([{"name": "mw-0123456789ab"}])))
    with pytest.raises(NetworkError, match="mw-0123456789ab already exists"):
        asyncio.run(networking(tmp_path, runner).create(TASK, "198.18.0.10"))
    assert not any("delete" in line for line in runner.lines())


def test_a_failed_create_removes_what_it_built(tmp_path: Path) -> None:
    runner = fresh_host()
    runner.on(["ip", "-n"], Result(2, "", "RTNETLINK answers: Permission denied"))
    with pytest.raises(CommandError):
        asyncio.run(networking(tmp_path, runner).create(TASK, "198.18.0.10"))
    assert runner.lines()[-2:] == ["ip link delete mwhc612000a", "ip netns delete mw-0123456789ab"]
    assert not (tmp_path / "etc-netns" / "mw-0123456789ab").exists()
    assert not list((tmp_path / "state" / "networks").iterdir())
