"""What the task supervisor needs from the machine, as one small Protocol.

`LinuxHost` (in `linux.py`) does it with network namespaces, iptables and processes; unit tests
use a fake. Keeping the supervisor on this seam is what lets its ECS semantics be tested without
root, and a Docker driver could later be another `TaskHost`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from meshway.runtime.iptables import Interception


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAddress:
    """The task's network as DescribeTasks shows it."""

    ip: str
    mac: str = ""
    interface_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """One container as a process: everything decided, nothing left to look up."""

    task_id: str
    container: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str | None = None
    user: str | None = None  # ECS `user` in any of its forms
    rlimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)


class Process(Protocol):
    @property
    def pid(self) -> int: ...

    async def wait(self) -> int:
        """The exit code as Docker reports it (128 + n for a signal)."""
        ...

    def signal(self, signum: int) -> None: ...


class TaskHost(Protocol):
    async def provision(self, task_id: str, hostname: str) -> TaskAddress:
        """The task's own network (namespace, address, hosts file); nothing intercepted yet."""
        ...

    async def intercept(self, task_id: str, interception: Interception) -> None:
        """Install the APPMESH rules before any container starts."""
        ...

    async def start(self, launch: Launch) -> Process: ...

    async def probe(
        self, task_id: str, argv: Sequence[str], user: str | None, timeout: float
    ) -> tuple[int, str]:
        """Run a health-check command inside the task: (exit code or -1 on timeout, output)."""
        ...

    async def release(self, task_id: str) -> None:
        """Remove the rules, then the task's network; every process must have exited."""
        ...
