"""The console's pure parts: percentiles from X-Ray histograms, the service map's counts and
colours, the waterfall's order, Envoy stats relabelling, the Host check, task transitions."""

from __future__ import annotations

import json
from typing import Any

from meshway.console.app import allowed_host
from meshway.console.envoy_stats import merge, peer_ip, proxy_labels, targets
from meshway.console.metrics import TaskCounter
from meshway.console.xray import counts, percentile, service_map, waterfall


def test_a_percentile_is_the_nearest_rank_of_the_histogram() -> None:
    histogram = [{"Value": v / 100, "Count": 1} for v in range(1, 11)]
    assert percentile(histogram, 0.50) == 0.05
    assert percentile(histogram, 0.95) == 0.10
    assert percentile([{"Value": 0.2, "Count": 99}, {"Value": 3.0, "Count": 1}], 0.99) == 0.2
    assert percentile([], 0.5) is None


def test_counts_split_answers_as_xray_does_and_the_worst_one_colours_the_node() -> None:
    summary = {
        "OkCount": 6,
        "ErrorStatistics": {"ThrottleCount": 1, "OtherCount": 2, "TotalCount": 3},
        "FaultStatistics": {"OtherCount": 1, "TotalCount": 1},
        "TotalCount": 10,
        "TotalResponseTime": 1.0,
    }
    found = counts(summary)
    assert (found["ok"], found["error4xx"], found["throttle429"], found["fault5xx"]) == (6, 2, 1, 1)
    assert found["errorShare"] == 0.4 and found["avgSeconds"] == 0.1
    assert found["status"] == "fault"
    assert counts({"OkCount": 0, "TotalCount": 0})["status"] == "idle"
    throttled = {"OkCount": 1, "ErrorStatistics": {"ThrottleCount": 1}, "TotalCount": 2}
    assert counts(throttled)["status"] == "throttle"


def test_the_service_map_gives_rates_over_its_window_and_edge_percentiles() -> None:
    graph = {
        "StartTime": 0,
        "EndTime": 120,
        "Services": [
            {
                "ReferenceId": 0,
                "Name": "a",
                "SummaryStatistics": {"OkCount": 4, "TotalCount": 4},
                "Edges": [
                    {
                        "ReferenceId": 1,
                        "SummaryStatistics": {"OkCount": 4, "TotalCount": 4},
                        "ResponseTimeHistogram": [{"Value": 0.01, "Count": 4}],
                    }
                ],
            },
            {"ReferenceId": 1, "Name": "b", "SummaryStatistics": {"TotalCount": 0}},
        ],
    }
    found = service_map(graph)
    assert found["nodes"][0]["perMinute"] == 2.0
    [edge] = found["edges"]
    assert (edge["source"], edge["target"], edge["p50"], edge["p99"]) == (0, 1, 0.01, 0.01)


def doc(**fields: Any) -> dict[str, str]:
    return {"Id": fields["id"], "Document": json.dumps(fields)}


def test_the_waterfall_puts_children_under_parents_and_survives_a_cycle() -> None:
    trace = {
        "Id": "1-x",
        "Duration": 1.0,
        "Segments": [
            doc(id="b", parent_id="s1", name="B", start_time=2.0, end_time=2.5, fault=True),
            doc(
                id="a",
                name="A",
                start_time=1.0,
                end_time=3.0,
                subsegments=[{"id": "s1", "name": "call", "start_time": 1.5, "end_time": 2.8}],
            ),
            doc(id="c1", parent_id="c2", name="C1", start_time=5.0, end_time=6.0),
            doc(id="c2", parent_id="c1", name="C2", start_time=5.0, end_time=6.0),
        ],
    }
    rows = waterfall(trace)["rows"]
    assert [(r["name"], r["depth"]) for r in rows][:3] == [("A", 0), ("call", 1), ("B", 2)]
    assert rows[2]["status"] == "fault" and rows[0]["offset"] == 0.0
    assert rows[2]["offset"] == 1.0


def test_envoy_stats_get_app_mesh_tags_and_keep_their_own() -> None:
    text = (
        "# TYPE envoy_cluster_upstream_rq_total counter\n"
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="c"} 3\n'
    )
    labels = {"appmesh_mesh": "m", "appmesh_virtual_node": "n", "ecs_task_id": "t"}
    [family] = merge([(labels, text), ({**labels, "ecs_task_id": "u"}, text), (labels, "bad{")])
    assert [s.labels["ecs_task_id"] for s in family.samples] == ["t", "u"]
    assert family.samples[0].labels["envoy_cluster_name"] == "c"


def test_an_envoy_is_found_by_its_tasks_address() -> None:
    key = "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualGateway/g"
    assert proxy_labels(key) == {"appmesh_mesh": "m", "appmesh_virtual_gateway": "g"}
    assert peer_ip("ipv4:198.18.0.5:40312") == "198.18.0.5" and peer_ip("unix:/x") == ""
    task = {
        "taskArn": "arn:aws:ecs:us-west-2:1:task/default/abcdef0123456789",
        "attachments": [{"details": [{"name": "privateIPv4Address", "value": "198.18.0.5"}]}],
    }
    [found] = targets([("ipv4:198.18.0.5:1", key), ("ipv4:198.18.0.9:1", key)], [task])
    assert found.netns == "mw-abcdef012345"
    assert found.labels["ecs_task_id"] == "abcdef0123456789"


def test_only_a_host_naming_this_machine_may_read_the_console_api() -> None:
    assert allowed_host("127.0.0.1:7700", "127.0.0.1")
    assert allowed_host("localhost:7700", "127.0.0.1")
    assert allowed_host("[::1]:7700", "127.0.0.1")
    assert allowed_host("meshbox:7700", "meshbox")
    assert not allowed_host("evil.example:7700", "127.0.0.1")
    assert not allowed_host("", "127.0.0.1")


def test_task_transitions_count_starts_and_stops_once() -> None:
    counter = TaskCounter.__new__(TaskCounter)
    counter.status, counter.starts, counter.stops = {}, 0, 0
    for status in ("PROVISIONING", "RUNNING", "RUNNING", "STOPPED", "STOPPED"):
        counter._saw("t", status)
    assert (counter.starts, counter.stops) == (1, 1)
