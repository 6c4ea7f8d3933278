"""`meshway traces` against a real server's X-Ray API: a search with a filter expression finds
the traces it should, one trace shows as a tree with durations, and a bad expression is the API's
error with a non-zero exit."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from tests.api.cli_support import meshway
from tests.conftest import ServerProcess


@pytest.fixture
def xray(server: ServerProcess, account: str) -> Any:
    return server.client("xray", aws_access_key_id=account)


def trace_id() -> str:
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def put_trace(xray: Any, status: int) -> str:
    """front (with a subsegment calling color) → color, as two services' segments."""
    tid, now = trace_id(), time.time() - 1
    front, call, color = os.urandom(8).hex(), os.urandom(8).hex(), os.urandom(8).hex()
    documents = [
        {
            "trace_id": tid,
            "id": front,
            "name": "front",
            "start_time": now,
            "end_time": now + 0.3,
            "fault": status >= 500,
            "http": {
                "request": {"method": "GET", "url": "http://front/"},
                "response": {"status": status},
            },
            "subsegments": [
                {
                    "id": call,
                    "name": "color.local",
                    "start_time": now + 0.05,
                    "end_time": now + 0.25,
                    "namespace": "remote",
                }
            ],
        },
        {
            "trace_id": tid,
            "id": color,
            "parent_id": call,
            "name": "color",
            "start_time": now + 0.1,
            "end_time": now + 0.2,
            "fault": status >= 500,
            "http": {
                "request": {"method": "GET", "url": "http://color/"},
                "response": {"status": status},
            },
        },
    ]
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
    assert answer["UnprocessedTraceSegments"] == []
    return tid


def test_traces_searches_with_a_filter_expression(
    server: ServerProcess, account: str, xray: Any
) -> None:
    ok, failed = put_trace(xray, 200), put_trace(xray, 503)
    everything = meshway(server, account, "traces", "-o", "json")
    assert everything.returncode == 0, everything.stderr
    assert {s["Id"] for s in json.loads(everything.stdout)} >= {ok, failed}
    faults = meshway(server, account, "traces", "--filter", "fault", "-o", "json")
    assert faults.returncode == 0, faults.stderr
    assert [s["Id"] for s in json.loads(faults.stdout)] == [failed]
    table = meshway(server, account, "traces", "--filter", 'service("front") AND http.status = 503')
    assert table.returncode == 0, table.stderr
    assert failed in table.stdout and ok not in table.stdout
    assert "1 trace(s)" in table.stdout


def test_one_trace_shows_as_a_tree_with_durations(
    server: ServerProcess, account: str, xray: Any
) -> None:
    tid = put_trace(xray, 200)
    shown = meshway(server, account, "traces", tid)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"trace {tid}")
    front = next(i for i, line in enumerate(lines) if "front  +0.0 ms  300.0 ms [200]" in line)
    call = next(i for i, line in enumerate(lines) if "color.local  +50.0 ms  200.0 ms" in line)
    color = next(i for i, line in enumerate(lines) if "color  +100.0 ms  100.0 ms [200]" in line)
    assert front < call < color
    indent = [len(lines[i]) - len(lines[i].lstrip(" │├└─")) for i in (front, call, color)]
    assert indent[0] < indent[1] < indent[2]  # each under its caller
    as_json = json.loads(meshway(server, account, "traces", tid, "-o", "json").stdout)
    (root,) = as_json["spans"]
    assert root["name"] == "front" and root["children"][0]["children"][0]["name"] == "color"


def test_an_unknown_trace_and_a_bad_expression_fail_with_a_non_zero_exit(
    server: ServerProcess, account: str
) -> None:
    missing = meshway(server, account, "traces", trace_id())
    assert missing.returncode == 1 and "no trace" in missing.stderr
    bad = meshway(server, account, "traces", "--filter", "http.status = = 5")
    assert bad.returncode == 1
    assert "Error: InvalidRequestException: " in bad.stderr
