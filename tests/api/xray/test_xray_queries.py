"""GetTraceSummaries, BatchGetTraces and GetTraceGraph through boto3."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.xray import envoy


def send(xray: Any, requests: list[envoy.Request]) -> None:
    docs = [s for r in requests for s in r.segments]
    for at in range(0, len(docs), 50):
        chunk = envoy.documents(docs[at : at + 50])
        assert (
            xray.put_trace_segments(TraceSegmentDocuments=chunk)["UnprocessedTraceSegments"] == []
        )


def invalid(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidRequestException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Error"]["Message"])


def test_a_summary_describes_the_root_segment_and_the_whole_trace(xray: Any) -> None:
    epoch = time.time() - 30
    req = envoy.request(epoch, 503)
    send(xray, [req])
    (summary,) = xray.get_trace_summaries(StartTime=epoch - 1, EndTime=epoch + 1)["TraceSummaries"]
    assert summary["Id"] == req.trace_id
    assert (summary["HasFault"], summary["HasError"], summary["HasThrottle"]) == (
        True,
        False,
        False,
    )
    assert summary["ResponseTime"] == pytest.approx(0.030, abs=1e-6)
    assert summary["Duration"] == pytest.approx(0.030, abs=1e-6)
    assert summary["Http"] == {
        "HttpURL": "http://front.local:8080/color",
        "HttpStatus": 503,
        "HttpMethod": "GET",
        "UserAgent": "curl/8",
    }
    assert summary["EntryPoint"] == {
        "Name": "mesh/front",
        "Names": ["mesh/front"],
        "Type": "AWS::AppMesh::Proxy",
    }
    assert {s["Name"] for s in summary["ServiceIds"]} == {"mesh/front", "mesh/backend"}
    values = [a["AnnotationValue"] for a in summary["Annotations"]["direction"]]
    assert sorted(v["StringValue"] for v in values) == ["egress", "ingress"]
    assert summary["IsPartial"] is False


def test_filter_expressions_select_traces(xray: Any) -> None:
    epoch = time.time() - 30
    reqs = [envoy.request(epoch + i * 0.01, s) for i, s in enumerate([200, 200, 500, 404, 429])]
    send(xray, reqs)
    window = {"StartTime": epoch - 1, "EndTime": epoch + 1}

    def ids(expression: str) -> set[str]:
        found = xray.get_trace_summaries(FilterExpression=expression, **window)["TraceSummaries"]
        return {s["Id"] for s in found}

    by_status = {r.status: r.trace_id for r in reqs if r.status != 200}
    assert ids('service("mesh/backend") { fault }') == {by_status[500]}
    assert ids("throttle") == {by_status[429]}
    assert ids("error AND !throttle") == {by_status[404]}
    assert ids("http.status >= 400") == set(by_status.values())
    assert len(ids('edge("mesh/front", "mesh/backend") { ok }')) == 2
    assert ids('annotation.direction = "sideways"') == set()


@pytest.mark.parametrize(
    "expression", ["fault AND", "responsetime > soon", 'service("x"', "colour = 3"]
)
def test_a_malformed_filter_expression_is_an_invalid_request(xray: Any, expression: str) -> None:
    now = time.time()
    message = invalid(
        xray.get_trace_summaries, StartTime=now - 60, EndTime=now, FilterExpression=expression
    )
    assert message.startswith("Invalid filter expression")


def test_a_window_that_ends_before_it_starts_is_an_invalid_request(xray: Any) -> None:
    now = time.time()
    invalid(xray.get_trace_summaries, StartTime=now, EndTime=now - 60)
    invalid(xray.get_service_graph, StartTime=now, EndTime=now - 60)


def test_time_range_types_select_by_trace_id_time_or_event_time(xray: Any) -> None:
    epoch = time.time() - 3600
    req = envoy.request(epoch, 200)
    late = [
        {**s, "start_time": s["start_time"] + 600, "end_time": s["end_time"] + 600}
        for s in req.segments
    ]
    send(xray, [envoy.Request(req.trace_id, 200, tuple(late))])

    def found(start: float, end: float, kind: str) -> bool:
        answer = xray.get_trace_summaries(StartTime=start, EndTime=end, TimeRangeType=kind)
        return req.trace_id in {s["Id"] for s in answer["TraceSummaries"]}

    assert found(epoch - 1, epoch + 1, "TraceId") and not found(epoch - 1, epoch + 1, "Event")
    assert found(epoch + 599, epoch + 601, "Event") and not found(
        epoch + 599, epoch + 601, "TraceId"
    )
    assert found(epoch + 600, epoch + 601, "Service")
    invalid(xray.get_trace_summaries, StartTime=epoch, EndTime=epoch + 1, TimeRangeType="Sideways")


def test_summaries_come_in_pages_of_100_that_the_paginator_follows(xray: Any) -> None:
    epoch = time.time() - 7200
    reqs = [envoy.request(epoch, 200) for _ in range(130)]
    send(xray, reqs)
    first = xray.get_trace_summaries(StartTime=epoch - 1, EndTime=epoch + 1)
    assert len(first["TraceSummaries"]) == 100 and "NextToken" in first
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=epoch - 1, EndTime=epoch + 1
    )
    seen = [s["Id"] for page in pages for s in page["TraceSummaries"]]
    assert sorted(seen) == sorted(r.trace_id for r in reqs)
    invalid(xray.get_trace_summaries, StartTime=epoch - 1, EndTime=epoch + 1, NextToken="garbage")


def test_batch_get_traces_returns_whole_traces_and_lists_unknown_ids(xray: Any) -> None:
    reqs = [envoy.request(time.time() - 30, 200) for _ in range(7)]
    send(xray, reqs)
    unknown = envoy.trace_id(time.time())
    asked = [r.trace_id for r in reqs] + [unknown, "not-a-trace-id"]
    pages = list(xray.get_paginator("batch_get_traces").paginate(TraceIds=asked))
    assert len(pages) == 2
    traces = [t for page in pages for t in page["Traces"]]
    assert sorted(t["Id"] for t in traces) == sorted(r.trace_id for r in reqs)
    assert [u for page in pages for u in page["UnprocessedTraceIds"]] == [unknown, "not-a-trace-id"]
    assert all(len(t["Segments"]) == 3 and t["LimitExceeded"] is False for t in traces)


def test_get_trace_graph_draws_only_the_given_traces(xray: Any) -> None:
    epoch = time.time() - 30
    fault, ok = envoy.request(epoch, 500), envoy.request(epoch, 200)
    send(xray, [fault, ok])
    services = xray.get_trace_graph(TraceIds=[fault.trace_id])["Services"]
    backend = next(s for s in services if s["Name"] == "mesh/backend")
    assert backend["SummaryStatistics"]["TotalCount"] == 1
    assert backend["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1


def test_time_series_statistics_count_a_service_per_period(xray: Any) -> None:
    start = (int(time.time()) // 60) * 60 - 600
    reqs = [
        envoy.request(start + 5, 200),
        envoy.request(start + 10, 500),
        envoy.request(start + 70, 404),
    ]
    send(xray, reqs)
    series = xray.get_time_series_service_statistics(
        StartTime=start,
        EndTime=start + 180,
        EntitySelectorExpression='service(id(name: "mesh/backend", type: "AWS::AppMesh::Proxy"))',
        Period=60,
    )["TimeSeriesServiceStatistics"]
    assert [p["Timestamp"].timestamp() for p in series] == [start, start + 60]
    first, second = (p["ServiceSummaryStatistics"] for p in series)
    assert (first["TotalCount"], first["OkCount"], first["FaultStatistics"]["TotalCount"]) == (
        2,
        1,
        1,
    )
    assert (second["TotalCount"], second["ErrorStatistics"]["OtherCount"]) == (1, 1)
    edge = xray.get_time_series_service_statistics(
        StartTime=start,
        EndTime=start + 180,
        EntitySelectorExpression='edge("mesh/front", "mesh/backend")',
    )["TimeSeriesServiceStatistics"]
    assert sum(p["EdgeSummaryStatistics"]["TotalCount"] for p in edge) == 3
    invalid(xray.get_time_series_service_statistics, StartTime=start, EndTime=start + 60, Period=90)
    invalid(
        xray.get_time_series_service_statistics,
        StartTime=start,
        EndTime=start + 60,
        EntitySelectorExpression="fault",
    )
