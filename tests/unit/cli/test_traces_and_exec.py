"""The pure parts of `meshway traces` (segments → a span tree) and `meshway exec` (/proc)."""

from __future__ import annotations

from pathlib import Path

from meshway.cli.exec_command import find_process, parse_environ, parse_status
from meshway.cli.traces import span_tree, summary_row


def test_segments_become_a_tree_with_each_call_under_its_caller() -> None:
    front = {
        "id": "a1",
        "name": "front",
        "start_time": 100.0,
        "end_time": 100.5,
        "http": {"response": {"status": 200}},
        "subsegments": [
            {"id": "s1", "name": "color.local", "start_time": 100.1, "end_time": 100.4}
        ],
    }
    color = {
        "id": "b1",
        "name": "color",
        "parent_id": "s1",
        "start_time": 100.15,
        "end_time": 100.35,
        "fault": True,
    }
    (root,) = span_tree([color, front])
    assert (root.name, root.offset, root.status, root.outcome) == ("front", 0.0, 200, "ok")
    assert abs((root.duration or 0) - 0.5) < 1e-9
    (call,) = root.children
    (served,) = call.children
    assert (call.name, served.name, served.outcome) == ("color.local", "color", "fault")
    assert abs(served.offset - 0.15) < 1e-9


def test_an_in_progress_segment_has_no_duration_and_an_orphan_is_a_root() -> None:
    found = span_tree(
        [{"id": "x", "name": "late", "start_time": 1.0, "parent_id": "gone", "in_progress": True}]
    )
    assert [(s.name, s.duration) for s in found] == [("late", None)]
    assert span_tree([]) == []


def test_a_summary_row_shows_outcome_and_services() -> None:
    row = summary_row(
        {
            "Id": "1-abc",
            "Duration": 0.25,
            "HasFault": True,
            "Http": {"HttpMethod": "GET", "HttpURL": "http://x/", "HttpStatus": 503},
            "ServiceIds": [{"Name": "front"}, {"Name": "color"}],
        }
    )
    assert row == ("1-abc", "250.0 ms", "GET", "http://x/", 503, "fault", "front,color")


def test_proc_status_gives_the_real_uid_gid_and_groups() -> None:
    text = "Name:\tsh\nUid:\t1337\t1337\t1337\t1337\nGid:\t100\t100\t100\t100\nGroups:\t4 27 \n"
    assert parse_status(text) == (1337, 100, (4, 27))


def test_proc_environ_is_split_on_nul_and_keeps_equals_in_values() -> None:
    assert parse_environ(b"A=1\0B=x=y\0\0junk\0") == {"A": "1", "B": "x=y"}


def test_the_container_process_is_the_session_leader_writing_its_log(tmp_path: Path) -> None:
    log = tmp_path / "app.stdout"
    log.touch()
    proc = tmp_path / "proc"
    for pid, session in ((10, 10), (11, 10), (12, 12)):
        folder = proc / str(pid)
        (folder / "fd").mkdir(parents=True)
        (folder / "fd" / "1").symlink_to(log if pid != 12 else tmp_path / "other")
        (folder / "stat").write_text(f"{pid} (sh (x)) S 1 {session} {session} 0\n")
    (proc / "self").mkdir()
    assert find_process(log, proc) == 10
    assert find_process(tmp_path / "missing", proc) is None
