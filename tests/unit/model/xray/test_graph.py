"""The service graph of traces: nodes, the client node, edges and their statistics."""

from __future__ import annotations

from typing import Any

from meshway.model.xray.graph import build_graph
from tests.unit.model.xray.docs import seg, sub, trace


def by_name(services: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["Name"], s.get("Type", "")): s for s in services}


def edge_to(services: list[dict[str, Any]], source: dict[str, Any], name: str) -> dict[str, Any]:
    ids = {s["ReferenceId"]: s["Name"] for s in services}
    (edge,) = [e for e in source["Edges"] if ids[e["ReferenceId"]] == name]
    return edge


def envoy_hop(base: int, status_flags: dict[str, Any]) -> list[dict[str, Any]]:
    """front ingress → front egress → backend ingress, as Envoy reports one request."""
    return [
        seg(base, "m/front", start=100.0, end=100.3, **status_flags),
        seg(base + 1, "m/front", parent=base, start=100.01, end=100.25, **status_flags),
        seg(base + 2, "m/backend", parent=base + 1, start=100.02, end=100.2, **status_flags),
    ]


def test_envoy_hops_make_client_front_backend_counted_once_per_request() -> None:
    outcomes = [{}, {}, {"fault": True}, {"error": True}, {"error": True, "throttle": True}]
    traces = [trace(*envoy_hop(10 * (i + 1), flags)) for i, flags in enumerate(outcomes)]
    services = build_graph(traces)
    nodes = by_name(services)
    assert set(nodes) == {
        ("m/front", "client"),
        ("m/front", "AWS::AppMesh::Proxy"),
        ("m/backend", "AWS::AppMesh::Proxy"),
    }
    expected = {
        "OkCount": 2,
        "ErrorStatistics": {"ThrottleCount": 1, "OtherCount": 1, "TotalCount": 2},
        "FaultStatistics": {"OtherCount": 1, "TotalCount": 1},
        "TotalCount": 5,
    }
    front = nodes[("m/front", "AWS::AppMesh::Proxy")]
    backend = nodes[("m/backend", "AWS::AppMesh::Proxy")]
    client = nodes[("m/front", "client")]
    for stats in (
        front["SummaryStatistics"],
        backend["SummaryStatistics"],
        edge_to(services, client, "m/front")["SummaryStatistics"],
        edge_to(services, front, "m/backend")["SummaryStatistics"],
    ):
        assert {k: v for k, v in stats.items() if k != "TotalResponseTime"} == expected
    assert front["Root"] and not backend["Root"]
    assert (
        client["ReferenceId"] == 0 and client["State"] == "unknown" and front["State"] == "active"
    )
    assert "SummaryStatistics" not in client
    assert abs(front["SummaryStatistics"]["TotalResponseTime"] - 1.5) < 1e-6
    assert backend["ResponseTimeHistogram"] == [{"Value": 0.18, "Count": 5}]
    assert backend["Edges"] == []


def test_a_remote_subsegment_nobody_answered_becomes_an_inferred_node() -> None:
    call = sub(
        0x20,
        "api.example.com",
        namespace="remote",
        http={"request": {"url": "https://api.example.com/v1", "method": "GET"}},
        fault=True,
    )
    table = sub(0x21, "DynamoDB", namespace="aws", aws={"table_name": "colors"})
    services = build_graph(
        [trace(seg(1, "app", origin="AWS::ECS::Container", subsegments=[call, table]))]
    )
    nodes = by_name(services)
    remote = nodes[("api.example.com", "remote")]
    assert (
        remote["State"] == "unknown"
        and remote["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1
    )
    assert ("colors", "AWS::DynamoDB::Table") in nodes
    app = nodes[("app", "AWS::ECS::Container")]
    assert edge_to(services, app, "api.example.com")["SummaryStatistics"]["TotalCount"] == 1


def test_a_remote_subsegment_answered_by_a_segment_gives_an_edge_with_the_callers_view() -> None:
    call = sub(0x20, "backend", namespace="remote", start=100.1, end=100.4)
    caller = seg(1, "app", origin=None, subsegments=[call])
    callee = seg(2, "backend", origin=None, parent=0x20, start=100.15, end=100.2)
    services = build_graph([trace(caller, callee)])
    nodes = by_name(services)
    assert set(nodes) == {("app", "client"), ("app", ""), ("backend", "")}
    edge = edge_to(services, nodes[("app", "")], "backend")
    assert abs(edge["SummaryStatistics"]["TotalResponseTime"] - 0.3) < 1e-6  # the subsegment's
    assert "Type" not in nodes[("app", "")]


def test_in_progress_segments_widen_the_node_but_are_not_counted() -> None:
    services = build_graph([trace(seg(1, "front", end=None))])
    front = by_name(services)[("front", "AWS::AppMesh::Proxy")]
    assert front["SummaryStatistics"]["TotalCount"] == 0
    assert front["StartTime"] == 100.0
