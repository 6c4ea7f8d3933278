"""`/metrics` read the way Prometheus reads it (prometheus_client's own text parser): control-plane
figures move with what happens — a route change is pushed and ACKed, a NACK is counted, API calls
are timed per operation, a stopped task is counted."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess
from tests.console.ads import LoopThread, acknowledge, connect, subscribe
from tests.console.meshes import make_mesh, node_spec, route_spec
from tests.xds_client import CLUSTER, LISTENER, ROUTE


@pytest.fixture
def loop() -> Any:
    """ADS clients run on a loop of their own: a session's Playwright holds this thread's."""
    found = LoopThread()
    yield found
    found.close()


ROUTES = ["rds_egress_http_8080"]  # the egress route config for the backend's port


def scrape(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_push_to_ack_histogram_moves_when_a_route_changes(
    server: ServerProcess, appmesh: Any, unique: str, loop: LoopThread
) -> None:
    mesh = f"{unique}-m"
    arn = make_mesh(appmesh, mesh, {"blue": 50, "green": 50})
    appmesh.create_virtual_node(
        meshName=mesh, virtualNodeName="front", spec=node_spec("front.local", ("colors.local",))
    )
    client = loop.run(connect(server, f"{arn}/virtualNode/front"))
    try:
        loop.run(subscribe(client, CLUSTER))
        loop.run(subscribe(client, LISTENER))
        loop.run(subscribe(client, ROUTE, names=ROUTES))
        before = scrape(server)
        appmesh.update_route(
            meshName=mesh,
            virtualRouterName="colors",
            routeName="split",
            spec=route_spec({"blue": 10, "green": 90}),
        )
        pushed = loop.run(acknowledge(client, ROUTES))
        assert pushed.type_url == ROUTE
        after = scrape(server)
    finally:
        loop.run(client.close())
    ack = "meshway_xds_push_to_ack_seconds"
    assert value(after, f"{ack}_count", type="RDS") == value(before, f"{ack}_count", type="RDS") + 1
    assert value(after, f"{ack}_sum", type="RDS") > value(before, f"{ack}_sum", type="RDS")
    assert value(after, f"{ack}_bucket", type="RDS", le="+Inf") == value(
        after, f"{ack}_count", type="RDS"
    )
    pushes = "meshway_xds_pushes_total"
    assert value(after, pushes, type="RDS") >= value(before, pushes, type="RDS") + 1
    timed = "meshway_api_request_seconds_count"
    update = {"service": "appmesh", "operation": "UpdateRoute"}
    assert value(after, timed, **update) >= value(before, timed, **update) + 1


def test_a_nack_and_a_connected_proxy_are_counted(
    server: ServerProcess, appmesh: Any, unique: str, loop: LoopThread
) -> None:
    arn = make_mesh(appmesh, f"{unique}-m", {"blue": 1})
    before = scrape(server)
    client = loop.run(connect(server, f"{arn}/virtualNode/blue"))
    try:
        loop.run(subscribe(client, CLUSTER, nack="bad cluster"))
        during = scrape(server)
    finally:
        loop.run(client.close())
    nacks = "meshway_xds_nacks_total"
    assert value(during, nacks, type="CDS") == value(before, nacks, type="CDS") + 1
    connected = "meshway_xds_connected_proxies"
    assert value(during, connected, protocol="sotw") >= 1
    assert value(during, "meshway_xds_proxies_out_of_sync") >= 1


def test_a_stopped_task_and_a_failed_call_are_counted(
    server: ServerProcess, ecs: Any, appmesh: Any, unique: str
) -> None:
    before = scrape(server)
    definition = ecs.register_task_definition(
        family=unique[:60],
        containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}],
    )
    arn = ecs.run_task(taskDefinition=definition["taskDefinition"]["taskDefinitionArn"])
    ecs.stop_task(task=arn["tasks"][0]["taskArn"])
    with pytest.raises(appmesh.exceptions.NotFoundException):
        appmesh.describe_mesh(meshName=f"{unique}-absent")
    after = scrape(server)
    stops = "meshway_ecs_task_stops_total"
    assert value(after, stops) >= value(before, stops) + 1
    assert value(after, "meshway_ecs_tasks", status="STOPPED") >= 1
    errors = "meshway_api_errors_total"
    missing = {"service": "appmesh", "operation": "DescribeMesh", "status": "404"}
    assert value(after, errors, **missing) == value(before, errors, **missing) + 1
