"""Proxies in the console: a proxy that ACKed everything is in sync, one that rejected its
config shows Envoy's error, as an operator needs to see before anything else."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.console.ads import LoopThread, connect, subscribe
from tests.console.conftest import requires_chromium
from tests.console.meshes import make_mesh, view
from tests.xds_client import CLUSTER, LISTENER

pytestmark = requires_chromium

ENVOY_ERROR = (
    "Proto constraint validation failed (ClusterValidationError.ConnectTimeout: "
    'value must be greater than "0s"): <script>window.pwned=1</script>'
)


def test_a_proxy_that_rejects_its_config_shows_envoys_error_beside_one_in_sync(
    server: ServerProcess, appmesh: Any, unique: str, page: Page, shoot: Any
) -> None:
    mesh = f"{unique}-m"
    arn = make_mesh(appmesh, mesh, {"blue": 1, "green": 1})
    good, bad = f"{arn}/virtualNode/blue", f"{arn}/virtualNode/green"
    loop = LoopThread()
    clients = [loop.run(connect(server, good)), loop.run(connect(server, bad))]
    try:
        loop.run(subscribe(clients[0], CLUSTER))
        loop.run(subscribe(clients[0], LISTENER))
        rejected = loop.run(subscribe(clients[1], CLUSTER, nack=ENVOY_ERROR))
        page.goto(view(server.url, "proxies"))
        in_sync = page.locator(f'.proxy[data-node="{good}"]')
        expect(in_sync).to_have_attribute("data-state", "in-sync")
        expect(in_sync).to_contain_text("IN SYNC")
        rejecting = page.locator(f'.proxy[data-node="{bad}"]')
        expect(rejecting).to_have_attribute("data-state", "rejecting")
        expect(rejecting).to_contain_text("REJECTING CONFIG")
        expect(rejecting.get_by_test_id("nack")).to_have_text(
            f"Rejected version {rejected.version_info}: {ENVOY_ERROR}"
        )
        expect(rejecting.locator("tr[data-type=CDS] pre.nack")).to_have_text(ENVOY_ERROR)
        shoot(page, "proxies")
        assert page.evaluate("window.pwned") is None

        loop.run(clients[1].close())  # the proxy goes away; live, the page lets it go
        expect(rejecting).to_have_count(0)
    finally:
        for client in clients:
            loop.run(client.close())
        loop.close()
