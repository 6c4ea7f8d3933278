"""The mesh graph and resource views in a real browser against a real server: what a person
checks is what the tests check — the weights on the graph are the route's, a change shows up
without reloading, a resource shows its spec, metadata and tags, and nothing the API stored is
ever run as markup."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.console.conftest import requires_chromium
from tests.console.meshes import make_mesh, node_spec, route_spec, view

pytestmark = requires_chromium


def weight_label(page: Page, node: str) -> Any:
    return page.locator(f'[data-testid=mesh-graph] g[data-route=split][data-node="{node}"]')


def test_the_mesh_graph_shows_the_weights_the_route_sets_and_follows_a_change(
    server: ServerProcess, appmesh: Any, unique: str, page: Page, shoot: Any
) -> None:
    mesh = f"{unique}-m"
    arn = make_mesh(appmesh, mesh, {"blue": 60, "green": 30, "red": 10})
    page.goto(view(server.url, "mesh", arn=arn))
    expect(page.get_by_test_id("mesh-name")).to_have_text(mesh)
    graph = page.get_by_test_id("mesh-graph")
    for kind, name in [
        ("virtualGateway", "edge"),
        ("virtualService", "colors.local"),
        ("virtualRouter", "colors"),
        ("route", "split"),
        ("virtualNode", "blue"),
    ]:
        expect(graph.locator(f'g.box[data-kind={kind}][data-name="{name}"]')).to_be_visible()
    described = appmesh.describe_route(meshName=mesh, virtualRouterName="colors", routeName="split")
    targets = described["route"]["spec"]["httpRoute"]["action"]["weightedTargets"]
    for target in targets:
        label = weight_label(page, target["virtualNode"])
        expect(label).to_have_attribute("data-weight", str(target["weight"]))
        expect(label.locator("text.weight")).to_have_text(
            f"weight {target['weight']} ({target['weight']}%)"
        )
    expect(graph.locator('g[data-from="virtualGateway/edge"] text')).to_have_text("to-colors")
    appmesh.create_virtual_node(
        meshName=mesh, virtualNodeName="front", spec=node_spec("front.local", ("colors.local",))
    )
    expect(graph.locator('g.box[data-name="front"] text.calls')).to_have_text("calls colors.local")
    shoot(page, "graph")

    appmesh.update_route(
        meshName=mesh,
        virtualRouterName="colors",
        routeName="split",
        spec=route_spec({"blue": 0, "green": 1, "red": 3}),
    )  # no reload: the page polls
    expect(weight_label(page, "red").locator("text.weight")).to_have_text("weight 3 (75%)")
    expect(weight_label(page, "green").locator("text.weight")).to_have_text("weight 1 (25%)")
    expect(weight_label(page, "blue")).to_have_attribute("data-weight", "0")
    shoot(page, "graph-after-update")


def test_a_resource_shows_its_spec_metadata_and_tags(
    server: ServerProcess, appmesh: Any, unique: str, page: Page, shoot: Any
) -> None:
    mesh = f"{unique}-m"
    arn = make_mesh(appmesh, mesh, {"blue": 1, "green": 1})
    node = appmesh.describe_virtual_node(meshName=mesh, virtualNodeName="blue")["virtualNode"]
    appmesh.tag_resource(resourceArn=node["metadata"]["arn"], tags=[{"key": "team", "value": "a"}])
    page.goto(view(server.url, "mesh", arn=arn))
    page.locator('g.box[data-kind=virtualNode][data-name="blue"]').click()
    expect(page.get_by_test_id("resource-name")).to_have_text("blue")
    spec = json.loads(page.get_by_test_id("spec").inner_text())
    assert spec == node["spec"]
    resource = page.get_by_test_id("resource")
    expect(resource).to_contain_text(node["metadata"]["arn"])
    expect(resource).to_contain_text(node["metadata"]["uid"])
    expect(page.get_by_test_id("tags")).to_contain_text("team")
    shoot(page, "virtual-node")


def test_the_console_shows_markup_in_names_and_tags_as_text_and_never_runs_it(
    server: ServerProcess, appmesh: Any, unique: str, page: Page, shoot: Any
) -> None:
    mesh = f"{unique}-m"
    evil_node = '<img src=x onerror="window.pwned=1">'
    evil_tag = "<script>window.pwned=2</script>"
    arn = make_mesh(appmesh, mesh, {evil_node: 100})
    node = appmesh.describe_virtual_node(meshName=mesh, virtualNodeName=evil_node)["virtualNode"]
    appmesh.tag_resource(
        resourceArn=node["metadata"]["arn"], tags=[{"key": "note", "value": evil_tag}]
    )
    page.goto(view(server.url, "mesh", arn=arn))
    box = page.locator("g.box[data-kind=virtualNode]")
    expect(box.locator("title")).to_have_text(node["metadata"]["arn"])
    page.get_by_test_id("resources").get_by_text(evil_node, exact=True).click()
    expect(page.get_by_test_id("resource-name")).to_have_text(evil_node)
    expect(page.get_by_test_id("tags")).to_contain_text(evil_tag)
    shoot(page, "escaped")
    assert page.evaluate("window.pwned") is None
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0


def test_every_console_answer_carries_a_content_security_policy(server: ServerProcess) -> None:
    import urllib.request

    for path in ("/", "/meshway/console/static/app.js", "/meshway/console/api/meshes"):
        with urllib.request.urlopen(server.url + path, timeout=5) as response:
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "default-src 'none'" in csp


def test_the_console_changes_nothing_it_only_answers_reads(server: ServerProcess) -> None:
    import urllib.error
    import urllib.request

    for path in ("/", "/meshway/console/api/meshes", "/meshway/console/api/tasks"):
        request = urllib.request.Request(server.url + path, data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 405


def test_the_console_api_refuses_a_host_that_is_not_this_machine(server: ServerProcess) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        server.url + "/meshway/console/api/meshes", headers={"Host": "rebound.example.com"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403
