"""Container log files: layout, tail of the last N lines, following appended lines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from meshway.runtime.logs import containers_with_logs, follow, follow_many, log_files, tail


def test_each_container_gets_a_stdout_and_a_stderr_file_under_its_task(tmp_path: Path) -> None:
    files = log_files(tmp_path, "t1", "app")
    assert files.stdout == tmp_path / "tasks" / "t1" / "logs" / "app.stdout"
    assert files.stderr == tmp_path / "tasks" / "t1" / "logs" / "app.stderr"
    with pytest.raises(ValueError):
        log_files(tmp_path, "t1", "../escape")


def test_containers_with_logs_lists_names_once(tmp_path: Path) -> None:
    for name in ("envoy", "app"):
        files = log_files(tmp_path, "t1", name)
        files.stdout.parent.mkdir(parents=True, exist_ok=True)
        files.stdout.write_text("")
        files.stderr.write_text("")
    assert containers_with_logs(tmp_path, "t1") == ["app", "envoy"]
    assert containers_with_logs(tmp_path, "nosuchtask") == []


def test_tail_gives_the_last_lines_across_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_text("".join(f"line {i} {'x' * 100}\n" for i in range(1000)))
    last = tail(path, 3)
    assert [line.split()[1] for line in last] == ["997", "998", "999"]
    assert len(tail(path, 500)) == 500


def test_tail_keeps_an_unfinished_last_line_and_handles_small_files(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("one\ntwo\npartial")
    assert tail(path, 2) == ["two", "partial"]
    assert tail(path, 10) == ["one", "two", "partial"]
    assert tail(tmp_path / "missing.log", 5) == []
    assert tail(path, 0) == []


def test_follow_yields_lines_appended_after_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_text("old\n")

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        seen: list[str] = []

        async def reader() -> None:
            async for line in follow(path, poll=0.01, stop=stop):
                seen.append(line)
                if len(seen) == 2:
                    stop.set()

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        with open(path, "a") as f:
            f.write("new 1\nnew ")
            f.flush()
            await asyncio.sleep(0.05)
            f.write("2\n")
        await asyncio.wait_for(task, 5)
        return seen

    assert asyncio.run(scenario()) == ["new 1", "new 2"]


def test_follow_many_merges_streams_and_waits_for_missing_files(tmp_path: Path) -> None:
    out, err = tmp_path / "c.stdout", tmp_path / "c.stderr"

    async def scenario() -> list[tuple[str, str]]:
        stop = asyncio.Event()
        seen: list[tuple[str, str]] = []

        async def reader() -> None:
            async for path, line in follow_many([out, err], from_end=False, poll=0.01, stop=stop):
                seen.append((path.suffix, line))
                if len(seen) == 2:
                    stop.set()

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.03)
        out.write_text("to stdout\n")
        await asyncio.sleep(0.05)
        err.write_text("to stderr\n")
        await asyncio.wait_for(task, 5)
        return seen

    assert asyncio.run(scenario()) == [(".stdout", "to stdout"), (".stderr", "to stderr")]
