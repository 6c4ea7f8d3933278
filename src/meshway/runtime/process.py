"""Containers as processes: launch one inside its task's namespaces as its user, and probe.

Launch chain (one PID from start to finish, so the handle's pid is the program's pid):
`ip netns exec <netns>` (the task's netns plus a fresh mount namespace with
/etc/netns/<netns>/{hosts,resolv.conf} bound over /etc) → a tiny launcher run by
`/usr/bin/python3 -I -S` → `execve` of the program. The launcher sets the rlimits (as root, so
hard limits may rise), the groups, gid and uid, the working directory, then looks the program up
in the container's PATH and execs it.

Why a launcher and not `setpriv`: util-linux setpriv keeps every capability effective until
execve, so the exec's path lookup runs with CAP_DAC_READ_SEARCH and a program the user could
never reach would start anyway (runtime-spike.md §2). After the launcher's setresuid to a non-zero
uid the kernel drops all capabilities, so chdir and execve are checked exactly as for that user.
Why /usr/bin/python3: the venv's interpreter lives under root's 0700 home (spike §2); the launcher
runs as root, but the system interpreter keeps it independent of where Meshway is installed.

The launcher reports through a close-on-exec pipe: one byte when it is running, then either EOF
(exec succeeded: the program is running) or a runc-worded error (`exec: "x": executable file not
found in $PATH`), which `LaunchError` wraps in Docker's daemon message for
`CannotStartContainerError`. Exit codes follow Docker: a signal n is reported as 128+n.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

LAUNCHER_PYTHON = "/usr/bin/python3"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROBE_OUTPUT_MAX = 4096  # moby keeps at most this much of a probe's output
SPEC_ENV = "MESHWAY_LAUNCH"

# ECS ulimit names → Linux resource numbers (asm-generic; Python lacks RLIMIT_LOCKS).
ULIMITS: dict[str, int] = {
    "core": resource.RLIMIT_CORE,
    "cpu": resource.RLIMIT_CPU,
    "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE,
    "locks": 10,
    "memlock": resource.RLIMIT_MEMLOCK,
    "msgqueue": resource.RLIMIT_MSGQUEUE,
    "nice": resource.RLIMIT_NICE,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "rss": resource.RLIMIT_RSS,
    "rtprio": resource.RLIMIT_RTPRIO,
    "rttime": resource.RLIMIT_RTTIME,
    "sigpending": resource.RLIMIT_SIGPENDING,
    "stack": resource.RLIMIT_STACK,
}

# Runs as root inside the task's namespaces; everything it needs arrives in $MESHWAY_LAUNCH.
LAUNCHER = r"""
import errno, json, os, resource, signal
spec = json.loads(os.environ.pop("MESHWAY_LAUNCH"))
fd = spec["status_fd"]
os.set_inheritable(fd, False)
os.write(fd, b"L")
def fail(text):
    os.write(fd, text.encode()); os._exit(127)
for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; a program must not
    signal.signal(signum, signal.SIG_DFL)
os.umask(0o022)
for number, soft, hard in spec["rlimits"]:
    try:
        resource.setrlimit(number, (soft, hard))
    except (OSError, ValueError) as e:
        fail(f"error setting rlimit type {number}: {e}")
try:
    os.setgroups(spec["groups"]); os.setresgid(*[spec["gid"]] * 3)
    os.setresuid(*[spec["uid"]] * 3)
except OSError as e:
    fail(f"setuid/setgid: {e.strerror}")
try:
    os.chdir(spec["cwd"])
except OSError as e:
    fail(f'chdir to cwd ("{spec["cwd"]}") set in config.json failed: {e.strerror.lower()}')
argv, env = spec["argv"], spec["env"]
name = argv[0]
try:
    if "/" in name:
        os.execve(name, argv, env)
    for folder in env.get("PATH", spec["default_path"]).split(":"):
        path = os.path.join(folder or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            os.execve(path, argv, env)
    fail(f'exec: "{name}": executable file not found in $PATH')
except OSError as e:
    if e.errno == errno.ENOENT:
        fail(f'exec: "{name}": stat {name}: no such file or directory')
    fail(f'exec: "{name}": {e.strerror.lower()}')
"""

DOCKER_START_PREFIX = (
    "Error response from daemon: failed to create task for container: "
    "failed to create shim task: OCI runtime create failed: runc create "
    "failed: unable to start container process: "
)


class LaunchError(RuntimeError):
    """The program could not be started; `detail` is runc's wording, str() Docker's message
    (ECS puts it after `CannotStartContainerError: `)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{DOCKER_START_PREFIX}{detail}: unknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessSpec:
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()
    rlimits: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # ECS name → (soft, hard)
    netns: str
    stdout_path: Path
    stderr_path: Path


def exit_status(returncode: int) -> int:
    """asyncio's -n for a signal → Docker's 128+n."""
    return 128 - returncode if returncode < 0 else returncode


def _limit(value: int) -> int:
    return resource.RLIM_INFINITY if value < 0 else value  # Docker's -1 means unlimited


def rlimit_triples(rlimits: Mapping[str, tuple[int, int]]) -> list[tuple[int, int, int]]:
    triples = []
    for name, (soft, hard) in sorted(rlimits.items()):
        if name not in ULIMITS:
            raise ValueError(f"unknown ulimit name {name!r}; ECS accepts {sorted(ULIMITS)}")
        triples.append((ULIMITS[name], _limit(soft), _limit(hard)))
    return triples


def launch_argv(netns: str, python: str = LAUNCHER_PYTHON) -> list[str]:
    return ["ip", "netns", "exec", netns, python, "-I", "-S", "-c", LAUNCHER]


def _launch_env(spec: ProcessSpec, status_fd: int) -> dict[str, str]:
    payload = {
        "argv": list(spec.argv),
        "env": dict(spec.env),
        "cwd": spec.cwd,
        "uid": spec.uid,
        "gid": spec.gid,
        "groups": list(spec.groups),
        "rlimits": rlimit_triples(spec.rlimits),
        "status_fd": status_fd,
        "default_path": DEFAULT_PATH,
    }
    return {"PATH": DEFAULT_PATH, SPEC_ENV: json.dumps(payload)}


async def _read_status(read_fd: int) -> bytes:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(read_fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        return await reader.read()
    finally:
        transport.close()


def _check_status(status: bytes, netns: str) -> None:
    if status == b"L":
        return
    if not status:
        raise LaunchError(f"cannot enter network namespace {netns}")
    raise LaunchError(status[1:].decode(errors="replace"))


_SIGKILL = signal.SIGKILL  # the method `signal` below shadows the module in the class body


class ProcessHandle:
    """A running container process (its own session and process group)."""

    def __init__(self, proc: asyncio.subprocess.Process, started: float, running: float) -> None:
        self._proc = proc
        self.pid = proc.pid
        self.spawn_seconds = running - started  # exec of `ip` → program running

    @property
    def exit_code(self) -> int | None:
        code = self._proc.returncode
        return None if code is None else exit_status(code)

    async def wait(self) -> int:
        return exit_status(await self._proc.wait())

    def signal(self, sig: int) -> None:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill_group(self, sig: int = _SIGKILL) -> None:
        """Signal the whole process group (children the program started in its group too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


async def _start(
    spec: ProcessSpec,
    stdout: IO[bytes] | int | None,
    stderr: IO[bytes] | int | None,
    python: str,
    stdin: int | None = asyncio.subprocess.DEVNULL,
) -> tuple[asyncio.subprocess.Process, float]:
    read_fd, write_fd = os.pipe()
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *launch_argv(spec.netns, python),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=_launch_env(spec, write_fd),
            pass_fds=(write_fd,),
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    try:
        _check_status(await _read_status(read_fd), spec.netns)
    except LaunchError:
        await proc.wait()
        raise
    except BaseException:  # cancelled mid-launch: leave no unmanaged process behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc, started


async def spawn(spec: ProcessSpec, *, python: str = LAUNCHER_PYTHON) -> ProcessHandle:
    """Start the program and return once it runs (its exec succeeded); LaunchError if not."""
    for path in (spec.stdout_path, spec.stderr_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with open(spec.stdout_path, "ab") as out, open(spec.stderr_path, "ab") as err:
        proc, started = await _start(spec, out, err, python)
    return ProcessHandle(proc, started, time.perf_counter())


def _duration(seconds: float) -> str:
    return f"{seconds:g}s" if seconds >= 1 else f"{seconds * 1000:g}ms"  # Go's time.Duration


async def run_probe(
    netns: str,
    argv: Sequence[str],
    uid: int,
    gid: int,
    timeout: float,
    *,
    groups: Sequence[int] = (),
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    python: str = LAUNCHER_PYTHON,
) -> tuple[int, str]:
    """Run a health check (or `meshway exec`) in the task as the container's user.

    → (exit code, combined output). A probe that outlives `timeout` has its process group
    killed and gives -1, as Docker's; one that cannot start gives -1 and the reason."""
    spec = ProcessSpec(
        argv=tuple(argv),
        env=env or {"PATH": DEFAULT_PATH},
        cwd=cwd,
        uid=uid,
        gid=gid,
        groups=tuple(groups),
        netns=netns,
        stdout_path=Path(os.devnull),
        stderr_path=Path(os.devnull),
    )
    try:
        proc, _ = await _start(spec, asyncio.subprocess.PIPE, asyncio.subprocess.STDOUT, python)
    except LaunchError as exc:
        return -1, str(exc)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return -1, f"Health check exceeded timeout ({_duration(timeout)})"
    except BaseException:  # the caller gave up (task stopping): the probe goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    text = out[:PROBE_OUTPUT_MAX].decode(errors="replace")
    return exit_status(proc.returncode or 0), text


async def run_attached(spec: ProcessSpec, *, python: str = LAUNCHER_PYTHON) -> int:
    """Run a program in the task with this process's stdin, stdout and stderr (`meshway exec`)
    and wait for it: its exit code as Docker reports it; LaunchError if it cannot start. If the
    caller is interrupted, the program's process group is killed too."""
    proc, _ = await _start(spec, None, None, python, stdin=None)
    try:
        return exit_status(await proc.wait())
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
