"""GetServiceGraph over a realistic App Mesh trace set: client → front → backend via Envoy."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from tests.api.xray import envoy

PROXY = "AWS::AppMesh::Proxy"
# What the backend answered, request by request (the front passes the status back).
STATUSES = [200] * 150 + [500] * 17 + [503] * 8 + [404] * 12 + [400] * 5 + [429] * 8


def expected_statistics() -> dict[str, Any]:
    faults = sum(s >= 500 for s in STATUSES)
    throttles = STATUSES.count(429)
    errors = sum(400 <= s < 500 for s in STATUSES)
    return {
        "OkCount": STATUSES.count(200),
        "ErrorStatistics": {
            "ThrottleCount": throttles,
            "OtherCount": errors - throttles,
            "TotalCount": errors,
        },
        "FaultStatistics": {"OtherCount": faults, "TotalCount": faults},
        "TotalCount": len(STATUSES),
    }


def send_shuffled(xray: Any, requests: list[envoy.Request]) -> None:
    """As daemons in three tasks would: batches of up to 50, in no particular order, with some
    segments first reported in progress."""
    docs = [s for r in requests for s in r.segments]
    rng = random.Random(7)
    early = [
        {k: v for k, v in s.items() if k not in ("end_time", "http", "fault", "error", "throttle")}
        | {"in_progress": True}
        for s in rng.sample(docs, min(40, len(docs) // 2))
    ]
    rng.shuffle(docs)
    for batch in (early, *[docs[at : at + 50] for at in range(0, len(docs), 50)]):
        answer = xray.put_trace_segments(TraceSegmentDocuments=envoy.documents(batch))
        assert answer["UnprocessedTraceSegments"] == []


def statistics(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if k != "TotalResponseTime"}


def test_the_graph_shows_client_front_backend_with_exactly_the_outcomes_sent(xray: Any) -> None:
    epoch = time.time() - 120
    requests = [envoy.request(epoch + i * 0.05, s) for i, s in enumerate(STATUSES)]
    send_shuffled(xray, requests)
    graph = xray.get_service_graph(StartTime=epoch - 5, EndTime=epoch + 60)
    services = {(s["Name"], s.get("Type")): s for s in graph["Services"]}
    assert set(services) == {
        ("mesh/front", "client"),
        ("mesh/front", PROXY),
        ("mesh/backend", PROXY),
    }
    client, front, backend = (
        services[("mesh/front", "client")],
        services[("mesh/front", PROXY)],
        services[("mesh/backend", PROXY)],
    )
    expected = expected_statistics()
    assert statistics(front["SummaryStatistics"]) == expected
    assert statistics(backend["SummaryStatistics"]) == expected
    (to_front,) = client["Edges"]
    (to_backend,) = front["Edges"]
    assert to_front["ReferenceId"] == front["ReferenceId"]
    assert to_backend["ReferenceId"] == backend["ReferenceId"]
    assert statistics(to_front["SummaryStatistics"]) == expected
    assert statistics(to_backend["SummaryStatistics"]) == expected
    assert backend["Edges"] == []
    total = front["SummaryStatistics"]["TotalResponseTime"]
    assert total == pytest.approx(0.030 * len(STATUSES), abs=1e-3)
    assert sum(h["Count"] for h in backend["ResponseTimeHistogram"]) == len(STATUSES)
    assert sum(h["Count"] for h in to_backend["ResponseTimeHistogram"]) == len(STATUSES)


def test_batch_get_traces_returns_segments_that_chain_by_parent_id(xray: Any) -> None:
    epoch = time.time() - 120
    requests = [envoy.request(epoch, s) for s in (200, 503)]
    send_shuffled(xray, requests)
    traces = xray.batch_get_traces(TraceIds=[r.trace_id for r in requests])["Traces"]
    for trace in traces:
        docs = [json.loads(s["Document"]) for s in trace["Segments"]]
        assert [s["Id"] for s in trace["Segments"]] == [d["id"] for d in docs]
        by_id = {d["id"]: d for d in docs}
        (root,) = [d for d in docs if "parent_id" not in d]
        chain = [root]
        while len(chain) < len(docs):
            (nxt,) = [d for d in docs if d.get("parent_id") == chain[-1]["id"]]
            chain.append(nxt)
        assert [d["name"] for d in chain] == ["mesh/front", "mesh/front", "mesh/backend"]
        assert all("in_progress" not in d and "end_time" in d for d in by_id.values())


def test_an_instrumented_app_behind_the_backend_proxy_joins_the_trace(xray: Any) -> None:
    epoch = time.time() - 120
    req = envoy.request(epoch, 200)
    backend = req.segments[2]
    app = {
        "name": "colorteller",
        "id": envoy.new_id(),
        "trace_id": req.trace_id,
        "parent_id": backend["id"],
        "origin": "AWS::ECS::Container",
        "start_time": epoch + 0.006,
        "end_time": epoch + 0.019,
        "http": {
            "request": {"method": "GET", "url": "http://backend.local/color"},
            "response": {"status": 200},
        },
        "subsegments": [
            {
                "name": "api.example.com",
                "id": envoy.new_id(),
                "namespace": "remote",
                "start_time": epoch + 0.007,
                "end_time": epoch + 0.010,
                "http": {
                    "request": {"url": "https://api.example.com/x"},
                    "response": {"status": 502},
                },
                "fault": True,
            }
        ],
    }
    answer = xray.put_trace_segments(TraceSegmentDocuments=envoy.documents([*req.segments, app]))
    assert answer["UnprocessedTraceSegments"] == []
    services = xray.get_trace_graph(TraceIds=[req.trace_id])["Services"]
    named = {(s["Name"], s.get("Type")): s for s in services}
    ids = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}
    assert ("api.example.com", "remote") in named
    backend_edges = [ids[e["ReferenceId"]] for e in named[("mesh/backend", PROXY)]["Edges"]]
    assert backend_edges == [("colorteller", "AWS::ECS::Container")]
    app_edges = named[("colorteller", "AWS::ECS::Container")]["Edges"]
    assert [ids[e["ReferenceId"]] for e in app_edges] == [("api.example.com", "remote")]
    assert app_edges[0]["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1


def test_a_group_narrows_the_graph_to_its_traces(xray: Any) -> None:
    epoch = time.time() - 120
    requests = [envoy.request(epoch + i * 0.01, s) for i, s in enumerate([200, 200, 500])]
    send_shuffled(xray, requests)
    xray.create_group(GroupName="faults", FilterExpression="fault")
    graph = xray.get_service_graph(StartTime=epoch - 5, EndTime=epoch + 60, GroupName="faults")
    front = next(
        s for s in graph["Services"] if s.get("Type") == PROXY and s["Name"] == "mesh/front"
    )
    assert front["SummaryStatistics"]["TotalCount"] == 1
    assert front["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1


def test_an_empty_window_has_an_empty_graph(xray: Any) -> None:
    graph = xray.get_service_graph(StartTime=1_000_000, EndTime=1_000_060)
    assert graph["Services"] == [] and graph["ContainsOldGroupVersions"] is False
