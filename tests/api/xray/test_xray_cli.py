"""The real aws CLI's `aws xray get-service-graph` and `get-trace-summaries` against Meshway."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.api.xray import envoy
from tests.conftest import REGION, ServerProcess, aws_cli


def xray_cli(server: ServerProcess, account: str, home: Path, *args: str) -> Any:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    command = [*aws_cli(), "xray", *args, "--endpoint-url", server.url, "--output", "json"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_cli_reads_the_service_graph_and_trace_summaries(
    server: ServerProcess, xray: Any, account: str, tmp_path: Path
) -> None:
    epoch = int(time.time()) - 60
    requests = [envoy.request(epoch + i * 0.1, s) for i, s in enumerate([200, 200, 500, 404])]
    docs = [s for r in requests for s in r.segments]
    assert (
        xray.put_trace_segments(TraceSegmentDocuments=envoy.documents(docs))[
            "UnprocessedTraceSegments"
        ]
        == []
    )
    window = ["--start-time", str(epoch - 5), "--end-time", str(epoch + 30)]

    graph = xray_cli(server, account, tmp_path, "get-service-graph", *window)
    assert graph.returncode == 0, graph.stderr
    services = {(s["Name"], s.get("Type")): s for s in json.loads(graph.stdout)["Services"]}
    backend = services[("mesh/backend", "AWS::AppMesh::Proxy")]["SummaryStatistics"]
    assert (backend["TotalCount"], backend["OkCount"]) == (4, 2)
    assert (
        backend["FaultStatistics"]["TotalCount"] == 1
        and backend["ErrorStatistics"]["OtherCount"] == 1
    )
    assert ("mesh/front", "client") in services

    found = xray_cli(
        server,
        account,
        tmp_path,
        "get-trace-summaries",
        *window,
        "--filter-expression",
        'service("mesh/backend") { fault }',
    )
    assert found.returncode == 0, found.stderr
    summaries = json.loads(found.stdout)["TraceSummaries"]
    assert [s["Id"] for s in summaries] == [requests[2].trace_id]
    assert summaries[0]["Http"]["HttpStatus"] == 500


def test_the_cli_reports_a_bad_filter_expression_as_aws_would(
    server: ServerProcess, account: str, tmp_path: Path
) -> None:
    now = int(time.time())
    result = xray_cli(
        server,
        account,
        tmp_path,
        "get-trace-summaries",
        "--start-time",
        str(now - 60),
        "--end-time",
        str(now),
        "--filter-expression",
        "fault AND",
    )
    assert result.returncode in (254, 255)
    assert (
        "InvalidRequestException" in result.stderr and "Invalid filter expression" in result.stderr
    )
