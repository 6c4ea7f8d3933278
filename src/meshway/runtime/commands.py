"""Running host commands (`ip`, `iptables-restore`, ...) behind one small Protocol.

`SubprocessRunner` runs them for real with asyncio; `RecordingRunner` records every argv (and its
stdin) and answers from a script, so unit tests of netns.py can compare the exact commands with
golden lists (as istio's iptables tests do). Neighbours: netns.py is the main user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    stdout: str = ""
    stderr: str = ""


class CommandError(RuntimeError):
    """A command that exited non-zero while its caller required success."""

    def __init__(self, argv: Sequence[str], result: Result) -> None:
        self.argv = tuple(argv)
        self.result = result
        detail = result.stderr.strip() or result.stdout.strip()
        super().__init__(f"{' '.join(argv)} exited {result.code}: {detail}")


class Runner(Protocol):
    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, check: bool = True
    ) -> Result: ...


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


class SubprocessRunner:
    """Runs each argv as a child process (no shell), stdin from `stdin` or /dev/null."""

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, check: bool = True
    ) -> Result:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(stdin)
        result = Result(proc.returncode or 0, _decode(out), _decode(err))
        if check and result.code != 0:
            raise CommandError(argv, result)
        return result


@dataclass(frozen=True, slots=True)
class Call:
    argv: tuple[str, ...]
    stdin: bytes | None = None


Responder = Callable[[tuple[str, ...]], Result | None]


@dataclass
class RecordingRunner:
    """Records calls; answers with the first responder that returns a Result, else success.

    `on(prefix, result)` scripts an answer for every argv that starts with `prefix`."""

    responders: list[Responder] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def on(self, prefix: Sequence[str], result: Result) -> None:
        wanted = tuple(prefix)
        self.responders.append(lambda argv: result if argv[: len(wanted)] == wanted else None)

    @property
    def argvs(self) -> list[tuple[str, ...]]:
        return [call.argv for call in self.calls]

    def lines(self) -> list[str]:
        """Each call as one shell-like line (for golden comparisons)."""
        return [" ".join(call.argv) for call in self.calls]

    async def run(
        self, argv: Sequence[str], *, stdin: bytes | None = None, check: bool = True
    ) -> Result:
        call = Call(tuple(argv), stdin)
        self.calls.append(call)
        result = next(
            (r for r in (f(call.argv) for f in self.responders) if r is not None), Result(0)
        )
        if check and result.code != 0:
            raise CommandError(argv, result)
        return result
