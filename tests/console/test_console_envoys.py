"""Real Envoys in real tasks (root): each one's own stats reach `/metrics` tagged as App Mesh tags
them (mesh, virtual node), and the console shows their proxies in sync and their tasks running."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess, make_client
from tests.console.conftest import requires_chromium
from tests.console.meshes import view
from tests.e2e.conftest import requires_root
from tests.e2e.test_mesh_traffic import (
    ACCOUNT,
    load_from,
    make_demo_mesh,
    result,
    run_node_task,
    wait_running,
)

pytestmark = [pytest.mark.e2e, requires_root, requires_chromium]


def envoy_samples(server: ServerProcess) -> list[Any]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=15) as response:
        text = response.read().decode()
    return [s for f in text_string_to_metric_families(text) for s in f.samples]


def test_each_envoys_stats_are_in_metrics_with_app_mesh_tags_and_the_console_shows_them(
    mesh_server: ServerProcess, page: Page, shoot: Any
) -> None:
    appmesh = make_client(mesh_server.url, "appmesh", aws_access_key_id=ACCOUNT)
    ecs = make_client(mesh_server.url, "ecs", aws_access_key_id=ACCOUNT)
    make_demo_mesh(appmesh)
    arns = [run_node_task(ecs, node) for node in ("back-v1", "front")]
    wait_running(ecs, arns)
    sent = result(load_from(arns[1], 1.0))
    for _ in range(10):  # the first lookups may race the resolver learning the new tasks
        if sent["seen"].get("back-v1", 0) > 0:
            break
        sent = result(load_from(arns[1], 1.0))
    assert sent["seen"].get("back-v1", 0) > 0, sent

    samples = envoy_samples(mesh_server)
    cluster = "cds_egress_demo_back-v1_http_9080"
    found = [
        s
        for s in samples
        if s.name == "envoy_cluster_upstream_rq_total"
        and s.labels.get("envoy_cluster_name") == cluster
        and s.labels.get("appmesh_virtual_node") == "front"
        and "envoy_response_code" not in s.labels  # the per-code split is another sample
    ]
    assert len(found) == 1, [(s.name, s.labels, s.value, s.timestamp) for s in found]
    upstream = found[0]
    assert upstream.labels["appmesh_mesh"] == "demo"
    assert upstream.labels["ecs_task_id"] == arns[1].rsplit("/", 1)[-1]
    assert upstream.value >= sent["seen"]["back-v1"]  # Envoy counted every request we saw
    tagged = {s.labels.get("appmesh_virtual_node") for s in samples if s.name.startswith("envoy_")}
    assert {"front", "back-v1"} <= tagged

    page.goto(view(mesh_server.url, "proxies"))
    for node in ("front", "back-v1"):
        proxy = page.locator(f'.proxy[data-node="mesh/demo/virtualNode/{node}"]')
        expect(proxy).to_have_attribute("data-state", "in-sync")
    shoot(page, "proxies")
    page.goto(view(mesh_server.url, "tasks"))
    for arn in arns:
        expect(page.locator(f'tr[data-task="{arn.rsplit("/", 1)[-1]}"]')).to_contain_text("RUNNING")
    shoot(page, "tasks")
