"""`meshway exec TASK CONTAINER -- CMD...`: run a command inside a running container, as ECS Exec.

The command runs in the task's network namespace (with the task's /etc/hosts and resolv.conf),
as the container's user and groups, with the container's environment and working directory,
and with this terminal's stdin, stdout and stderr; its exit code is meshway's. It talks to the
local task runtime, not to the API: it needs root (namespaces) and the server's data directory.
The container's process is found as the session leader whose stdout is the container's log file
(runtime/logs.py), and its identity, environment and directory are read from /proc, so the
command sees what the container's program was started with; it then starts through the same
launcher the runtime starts containers with (`runtime.process.run_attached`).

NOTE: authentication. Today exec is local-root only: whoever is root on the host can already
enter any namespace. When the API gains authentication (`--require-auth`), a remote exec must
require the same credentials as the API (ECS ExecuteCommand's IAM check); until then there is no
remote exec.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from meshway.runtime import logs, process
from meshway.runtime.netns import netns_name

PROC = Path("/proc")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerProcess:
    """What a container's program was started with, as /proc shows it."""

    pid: int
    uid: int
    gid: int
    groups: tuple[int, ...]
    env: Mapping[str, str]
    cwd: str


def parse_status(text: str) -> tuple[int, int, tuple[int, ...]]:
    """/proc/PID/status → (real uid, real gid, supplementary groups)."""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    uid = int(fields["Uid"].split()[0])
    gid = int(fields["Gid"].split()[0])
    groups = tuple(int(g) for g in fields.get("Groups", "").split())
    return uid, gid, groups


def parse_environ(data: bytes) -> dict[str, str]:
    """/proc/PID/environ (NUL-separated NAME=value) → a mapping."""
    found = {}
    for item in data.split(b"\0"):
        name, sep, value = item.decode(errors="surrogateescape").partition("=")
        if sep and name:
            found[name] = value
    return found


def _session(pid_dir: Path) -> int:
    # /proc/PID/stat: "pid (comm) state ppid pgrp session ..."; comm may hold spaces or ')'.
    after = pid_dir.joinpath("stat").read_text().rsplit(")", 1)[1].split()
    return int(after[3])


def find_process(stdout_log: Path, proc: Path = PROC) -> int | None:
    """The pid of the session leader whose stdout is `stdout_log` (the container's program;
    processes it started share the file but not the leadership)."""
    target = str(stdout_log.resolve())
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            if str((pid_dir / "fd" / "1").readlink()) == target and _session(pid_dir) == int(
                pid_dir.name
            ):
                return int(pid_dir.name)
        except (OSError, IndexError, ValueError):
            continue  # gone, or not ours to read
    return None


def container_process(state_dir: Path, task_id: str, container: str) -> ContainerProcess:
    if not logs.task_dir(state_dir, task_id).is_dir():
        raise click.ClickException(f"no task {task_id} in {state_dir} (is --data-dir right?)")
    try:
        files = logs.log_files(state_dir, task_id, container)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    pid = find_process(files.stdout)
    if pid is None:
        raise click.ClickException(f"container {container} of task {task_id} is not running")
    pid_dir = PROC / str(pid)
    uid, gid, groups = parse_status(pid_dir.joinpath("status").read_text())
    return ContainerProcess(
        pid=pid,
        uid=uid,
        gid=gid,
        groups=groups,
        env=parse_environ(pid_dir.joinpath("environ").read_bytes()),
        cwd=str((pid_dir / "cwd").readlink()),
    )


def spec_for(task_id: str, found: ContainerProcess, argv: Sequence[str]) -> process.ProcessSpec:
    return process.ProcessSpec(
        argv=tuple(argv),
        env=found.env,
        cwd=found.cwd,
        uid=found.uid,
        gid=found.gid,
        groups=found.groups,
        netns=netns_name(task_id),
        stdout_path=Path(os.devnull),  # unused: the command writes to this terminal
        stderr_path=Path(os.devnull),
    )


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".meshway"),
    show_default=True,
    help="The server's data directory (where task state lives).",
)
@click.argument("task")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(data_dir: Path, task: str, container: str, command: tuple[str, ...]) -> None:
    """Run COMMAND in CONTAINER of TASK (an id or ARN): in the task's network namespace, as the
    container's user, with its environment and working directory, as ECS Exec does. Needs root
    and the server's --data-dir: local root only for now; once the API verifies credentials,
    exec will require the same authentication as the API."""
    if os.geteuid() != 0:
        raise click.ClickException("exec needs root: it enters the task's network namespace")
    task_id = task.rsplit("/", 1)[-1]
    found = container_process(data_dir / "runtime", task_id, container)
    try:
        code = asyncio.run(process.run_attached(spec_for(task_id, found, command)))
    except process.LaunchError as error:
        raise click.ClickException(error.detail) from error
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
