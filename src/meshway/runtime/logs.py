"""Container logs: where each container's stdout and stderr go, the last N lines, following.

Layout under the runtime's state dir: `tasks/<task id>/logs/<container>.stdout` and
`.stderr` (container names are ECS names: letters, digits, `_`, `-`). process.py appends to them;
`meshway logs TASK [CONTAINER] [-f]` reads them through `tail` and `follow`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STREAMS = ("stdout", "stderr")
_CHUNK = 8192


@dataclass(frozen=True, slots=True)
class LogFiles:
    stdout: Path
    stderr: Path


def task_dir(state_dir: Path, task_id: str) -> Path:
    return Path(state_dir) / "tasks" / task_id


def log_files(state_dir: Path, task_id: str, container: str) -> LogFiles:
    if not container or "/" in container or container.startswith("."):
        raise ValueError(f"not a container name: {container!r}")
    folder = task_dir(state_dir, task_id) / "logs"
    return LogFiles(folder / f"{container}.stdout", folder / f"{container}.stderr")


def containers_with_logs(state_dir: Path, task_id: str) -> list[str]:
    folder = task_dir(state_dir, task_id) / "logs"
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix[1:] in STREAMS})


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines (without newlines), reading backwards from the end; a missing
    file has none."""
    if lines <= 0 or not path.exists():
        return []
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= lines:
            step = min(_CHUNK, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    text = data.decode(errors="replace")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()  # the final newline ends the last line; it does not start another
    return parts[-lines:]


async def follow(
    path: Path, *, from_end: bool = True, poll: float = 0.1, stop: asyncio.Event | None = None
) -> AsyncIterator[str]:
    """Yield complete lines as they are appended (polling: the files are plain appends).
    Waits for a missing file to appear; ends when `stop` is set."""
    offset: int | None = None
    pending = b""
    while stop is None or not stop.is_set():
        if path.exists():
            size = path.stat().st_size
            if offset is None:
                offset = size if from_end else 0
            if size < offset:  # truncated: start again
                offset, pending = 0, b""
            if size > offset:
                with open(path, "rb") as f:
                    f.seek(offset)
                    chunk = f.read(size - offset)
                offset += len(chunk)
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode(errors="replace")
                continue
        await _sleep_or_stop(poll, stop)


async def _sleep_or_stop(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def follow_many(
    paths: Sequence[Path],
    *,
    from_end: bool = True,
    poll: float = 0.1,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[tuple[Path, str]]:
    """Follow several files at once (a container's two streams, or every container's),
    yielding (path, line) in the order lines arrive."""
    queue: asyncio.Queue[tuple[Path, str]] = asyncio.Queue()

    async def pump(path: Path) -> None:
        async for line in follow(path, from_end=from_end, poll=poll, stop=stop):
            await queue.put((path, line))

    tasks = [asyncio.create_task(pump(p)) for p in paths]
    try:
        while stop is None or not stop.is_set() or not queue.empty():
            getter = asyncio.ensure_future(queue.get())
            waiters: set[asyncio.Future[Any]] = {getter}
            if stop is not None:
                waiters.add(asyncio.ensure_future(stop.wait()))
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for fut in pending:
                fut.cancel()
            if getter in done:
                yield getter.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
