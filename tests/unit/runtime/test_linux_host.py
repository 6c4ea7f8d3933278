"""LinuxHost over recorded commands: an address another server on the bridge holds is skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from meshway.runtime.commands import RecordingRunner, Result
from meshway.runtime.linux import LinuxHost
from meshway.runtime.netns import Networking, veth_name


def test_an_address_in_use_by_another_server_is_skipped(tmp_path: Path) -> None:
    runner = RecordingRunner()
    taken, free = "198.18.0.2", "198.18.0.3"
    runner.on(["ip", "-j", "link", "show", "dev", veth_name(taken)], Result(0, "[{}]"))
    runner.on(["ip", "-j", "link", "show", "dev"], Result(1, "", "not there"))  # all others
    networking = Networking(
        runner, state_dir=tmp_path / "state", etc_netns=tmp_path / "etc", host_name="testhost"
    )
    host = LinuxHost(networking, tmp_path / "state")
    address = asyncio.run(host.provision("0123456789abcdef0123456789abcdef", "ip-01234567"))
    assert address.ip == free
    second = asyncio.run(host.provision("fedcba9876543210fedcba9876543210", "ip-fedcba98"))
    assert second.ip not in (taken, free)
