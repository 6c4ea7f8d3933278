"""The command runner: the real one runs argv without a shell; the recording one scripts answers."""

from __future__ import annotations

import asyncio

import pytest

from meshway.runtime.commands import CommandError, RecordingRunner, Result, SubprocessRunner


def test_subprocess_runner_passes_stdin_and_captures_both_streams() -> None:
    script = (
        "import sys; data = sys.stdin.read(); print(data.upper()); print('warn', file=sys.stderr)"
    )
    result = asyncio.run(SubprocessRunner().run(["python3", "-c", script], stdin=b"hello"))
    assert result == Result(0, "HELLO\n", "warn\n")


def test_subprocess_runner_raises_with_the_stderr_when_checked() -> None:
    argv = ["python3", "-c", "import sys; sys.exit('boom')"]
    with pytest.raises(CommandError, match="exited 1: boom") as caught:
        asyncio.run(SubprocessRunner().run(argv))
    assert caught.value.result.code == 1


def test_subprocess_runner_returns_failures_when_unchecked() -> None:
    result = asyncio.run(SubprocessRunner().run(["false"], check=False))
    assert result.code == 1


def test_recording_runner_records_calls_and_answers_by_prefix() -> None:
    runner = RecordingRunner()
    runner.on(["ip", "netns", "pids"], Result(0, "12 13\n"))
    runner.on(["ip", "link"], Result(1, "", "Cannot find device"))

    async def calls() -> tuple[Result, Result]:
        pids = await runner.run(["ip", "netns", "pids", "mw-1"])
        link = await runner.run(["ip", "link", "delete", "x"], check=False)
        await runner.run(["iptables-restore"], stdin=b"*nat\nCOMMIT\n")
        return pids, link

    pids, link = asyncio.run(calls())
    assert pids.stdout == "12 13\n"
    assert link.code == 1
    assert runner.lines() == ["ip netns pids mw-1", "ip link delete x", "iptables-restore"]
    assert runner.calls[2].stdin == b"*nat\nCOMMIT\n"


def test_recording_runner_raises_for_a_scripted_failure_when_checked() -> None:
    runner = RecordingRunner()
    runner.on(["ip"], Result(2, "", "RTNETLINK answers: File exists"))
    with pytest.raises(CommandError, match="File exists"):
        asyncio.run(runner.run(["ip", "link", "add", "x"]))
