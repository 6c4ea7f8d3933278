"""`TaskHost` on Linux: a network namespace per task on the `meshway0` bridge, the APPMESH rules
with one iptables-restore, containers as processes in the namespace as their own user.

The pieces are `netns.Networking`, `process.spawn`/`run_probe`, `users` and `logs`; this module
only keeps the task id → network map and turns their errors into ECS's reasons.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from meshway.runtime import process, users
from meshway.runtime.host import Launch, TaskAddress
from meshway.runtime.iptables import EMPTY_NAT, Interception, restore_text
from meshway.runtime.logs import log_files
from meshway.runtime.netns import AddressInUseError, Networking, TaskNetwork
from meshway.runtime.supervisor import LaunchError

IN_USE_RETRIES = 64


def _identity(user: str | None) -> users.Identity:
    try:
        return users.resolve_host_user(user)
    except users.UserError as error:
        raise LaunchError(f"CannotStartContainerError: {error}") from error


class LinuxHost:
    def __init__(self, networking: Networking, state_dir: Path) -> None:
        self.networking = networking
        self.state_dir = state_dir
        self._nets: dict[str, TaskNetwork] = {}

    def network(self, task_id: str) -> TaskNetwork:
        return self._nets[task_id]

    async def provision(self, task_id: str, hostname: str) -> TaskAddress:
        net = await self._create(task_id, hostname)
        self._nets[task_id] = net
        return TaskAddress(ip=net.ip, mac=net.mac, interface_id=f"eni-{task_id[:17]}")

    async def _create(self, task_id: str, hostname: str) -> TaskNetwork:
        """A network on the first free address. An address whose interface exists belongs to
        another server sharing the bridge: it stays set aside here and the next one is tried."""
        for _ in range(IN_USE_RETRIES):
            ip = self.networking.allocate(task_id)
            try:
                return await self.networking.create(task_id, ip, hostname=hostname)
            except AddressInUseError:
                self.networking.release(task_id)
                self.networking.reserve(ip, f"in-use-elsewhere:{ip}")
            except BaseException:
                self.networking.release(task_id)
                raise
        raise AddressInUseError(f"no free task address after {IN_USE_RETRIES} tries")

    async def intercept(self, task_id: str, interception: Interception) -> None:
        await self.networking.apply_iptables(self._nets[task_id], restore_text(interception))

    async def start(self, launch: Launch) -> process.ProcessHandle:
        net = self._nets[launch.task_id]
        identity = _identity(launch.user)
        files = log_files(self.state_dir, launch.task_id, launch.container)
        env = {"HOME": identity.home, **launch.env}
        spec = process.ProcessSpec(
            argv=launch.argv,
            env=env,
            cwd=launch.cwd or "/",
            uid=identity.uid,
            gid=identity.gid,
            groups=identity.groups,
            rlimits=dict(launch.rlimits),
            netns=net.netns,
            stdout_path=files.stdout,
            stderr_path=files.stderr,
        )
        try:
            return await process.spawn(spec)
        except process.LaunchError as error:
            raise LaunchError(f"CannotStartContainerError: {error}") from error

    async def probe(
        self, task_id: str, argv: Sequence[str], user: str | None, timeout: float
    ) -> tuple[int, str]:
        net = self._nets.get(task_id)
        if net is None:
            return -1, "task network is gone"
        identity = _identity(user)
        return await process.run_probe(
            net.netns, argv, identity.uid, identity.gid, timeout, groups=identity.groups
        )

    async def release(self, task_id: str) -> None:
        net = self._nets.pop(task_id, None)
        if net is None:
            self.networking.release(task_id)
            return
        for pid in await self.networking.pids(net.netns):  # stragglers (forked children)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await self.networking.apply_iptables(net, EMPTY_NAT)  # CNI DEL before the netns goes
        await self.networking.destroy(net)
        self.networking.release(task_id)
