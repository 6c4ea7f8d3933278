"""The service map and the trace waterfall, from segments sent to the real X-Ray API the way
App Mesh's Envoys write them: the counts on the map are the requests sent, split as X-Ray splits
them (ok, 4xx, 429, 5xx), the edge latencies are the percentiles of the backend's durations, and
a trace opens as a waterfall of its segments in call order."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.api.xray.envoy import documents, envoy_segment, new_id, trace_id
from tests.conftest import ServerProcess, make_client
from tests.console.conftest import requires_chromium
from tests.console.meshes import view

pytestmark = requires_chromium

STATUSES = [200] * 6 + [404, 404, 429, 503]  # what the backend answered, passed back by front


def hop(epoch: float, status: int, backend_seconds: float) -> list[dict[str, Any]]:
    """client → front (ingress, egress) → backend: three segments, as Envoy sends them."""
    tid = trace_id(epoch)
    common = {"status": status, "host": "backend.local:8080"}
    ingress = envoy_segment(
        "front", tid, start=epoch, end=epoch + backend_seconds + 0.01, parent=None,
        direction="ingress", **common,
    )  # fmt: skip
    egress = envoy_segment(
        "front", tid, start=epoch + 0.002, end=epoch + backend_seconds + 0.008,
        parent=ingress["id"], direction="egress", **common,
    )  # fmt: skip
    backend = envoy_segment(
        "backend", tid, start=epoch + 0.004, end=epoch + 0.004 + backend_seconds,
        parent=egress["id"], direction="ingress", **common,
    )  # fmt: skip
    backend["subsegments"] = [
        {
            "id": new_id(),
            "name": "db-query",
            "start_time": epoch + 0.005,
            "end_time": epoch + 0.005 + backend_seconds / 2,
        }
    ]
    return [ingress, egress, backend]


def send(xray: Any, statuses: list[int]) -> list[list[dict[str, Any]]]:
    now = time.time() - 30
    sent = [hop(now + i * 0.1, status, (i + 1) * 0.010) for i, status in enumerate(statuses)]
    for segments in sent:
        answer = xray.put_trace_segments(TraceSegmentDocuments=documents(segments))
        assert answer["UnprocessedTraceSegments"] == []
    return sent


def test_the_service_map_counts_what_was_sent_colours_it_as_xray_does_and_follows_traffic(
    server: ServerProcess, account: str, page: Page, shoot: Any
) -> None:
    xray = make_client(server.url, "xray", aws_access_key_id=account)
    send(xray, STATUSES)
    page.goto(view(server.url, "map", account=account, region="us-west-2"))
    front = page.locator(
        '[data-testid=service-map] g.svc[data-name="mesh/front"][data-type="AWS::AppMesh::Proxy"]'
    )
    expect(front).to_have_attribute("data-total", "10")
    for attribute, expected in [("ok", 6), ("4xx", 2), ("429", 1), ("5xx", 1)]:
        expect(front).to_have_attribute(f"data-{attribute}", str(expected))
    expect(front).to_have_attribute("data-status", "fault")  # the worst answer it gave
    expect(front.locator("circle.ring-ok")).to_have_count(1)
    expect(front.locator("circle.ring-fault")).to_have_count(1)
    expect(front.locator("circle.ring-throttle")).to_have_count(1)
    expect(front.locator("circle.ring-error")).to_have_count(1)
    row = page.locator('[data-testid=map-services] tr[data-service="mesh/backend"]')
    expect(row.locator("td[data-col='total']")).to_have_text("10")
    expect(row.locator("td[data-col='ok']")).to_have_text("6")
    expect(row.locator("td[data-col='5xx']")).to_have_text("1")
    edge = page.locator('[data-testid=map-edges] tr[data-edge="mesh/front → mesh/backend"]')
    expect(edge).to_contain_text("40%")  # 4 of 10 were not OK
    # Backend durations are 10, 20, ... 100 ms: nearest-rank p50 50 ms, p95 and p99 100 ms.
    expect(edge.locator("td[data-col='p50']")).to_have_text("50.0 ms")
    expect(edge.locator("td[data-col='p95']")).to_have_text("100.0 ms")
    expect(edge.locator("td[data-col='p99']")).to_have_text("100.0 ms")
    shoot(page, "service-map")

    send(xray, [200] * 5)  # traffic flows on; the open page follows it
    expect(front).to_have_attribute("data-total", "15")
    expect(front).to_have_attribute("data-ok", "11")
    shoot(page, "service-map-later")


def test_a_trace_opens_as_a_waterfall_of_its_segments_in_call_order(
    server: ServerProcess, account: str, page: Page, shoot: Any
) -> None:
    xray = make_client(server.url, "xray", aws_access_key_id=account)
    [sent] = send(xray, [503])
    tid = sent[0]["trace_id"]
    page.goto(view(server.url, "map", account=account, region="us-west-2"))
    page.locator('g.svc[data-name="mesh/backend"]').click()  # its traces
    expect(page.locator("[data-testid=traces] tr")).to_have_count(2)  # header and the trace
    page.get_by_role("link", name=tid).click()
    expect(page.get_by_test_id("trace-id")).to_have_text(tid)
    rows = page.locator("[data-testid=waterfall] .wf-row")
    expect(rows).to_have_count(4)
    expected = [
        ("mesh/front", "0", sent[0]["id"]),
        ("mesh/front", "1", sent[1]["id"]),
        ("mesh/backend", "2", sent[2]["id"]),
        ("db-query", "3", sent[2]["subsegments"][0]["id"]),
    ]
    for index, (name, depth, span_id) in enumerate(expected):
        row = rows.nth(index)
        expect(row).to_have_attribute("data-name", name)
        expect(row).to_have_attribute("data-depth", depth)
        expect(row).to_have_attribute("data-span", span_id)
    expect(rows.nth(2)).to_have_attribute("data-status", "fault")
    expect(rows.nth(2)).to_contain_text("503")
    rows.nth(2).click()
    expect(page.get_by_test_id("span-detail")).to_contain_text('"direction": "ingress"')
    shoot(page, "waterfall")
