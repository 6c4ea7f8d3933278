"""Proxy status through a real `meshway server`: an ADS client connected to its xDS port shows
up in `GET /meshway/proxies` with what it was sent and what it ACKed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.xds_client import CLUSTER, LISTENER, AdsClient
from tests.xds_credentials import minter

pytestmark = pytest.mark.anyio


def get(server: ServerProcess, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=5) as response:
        return json.loads(response.read())


def xds_address(server: ServerProcess) -> str:
    return (server.data_dir / "xds-address").read_text().strip()


async def test_a_connected_proxy_is_listed_with_its_acks(
    server: ServerProcess, unique: str
) -> None:
    node = f"mesh/{unique}/virtualNode/front"
    client = AdsClient(xds_address(server), node, credential=minter(server.data_dir))
    try:
        client.request(CLUSTER)
        clusters = await client.receive()
        client.ack(clusters)
        client.request(LISTENER)
        listeners = await client.receive()
        client.ack(listeners)
        assert await client.nothing(0.2)
        [proxy] = [p for p in get(server, "/meshway/proxies")["proxies"] if p["nodeId"] == node]
        assert proxy["key"] == f"arn:aws:appmesh:us-east-1:000000000000:{node}"
        assert proxy["protocol"] == "sotw" and proxy["inSync"] and proxy["lastNack"] is None
        assert proxy["types"]["CDS"]["ackedVersion"] == clusters.version_info
        assert proxy["types"]["LDS"]["resources"] == 0
    finally:
        await client.close()


def test_the_config_of_a_key_nobody_published_is_empty(server: ServerProcess) -> None:
    config = get(
        server, "/meshway/proxies/config?key=arn:aws:appmesh:us-east-1:1:mesh/x/virtualNode/y"
    )
    assert config["published"] is False and config["resources"] == {}


def test_the_config_path_needs_a_key(server: ServerProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        get(server, "/meshway/proxies/config")
    assert caught.value.code == 400


async def test_the_cli_lists_proxies_and_dumps_a_nodes_config(
    server: ServerProcess, unique: str
) -> None:
    import subprocess
    import sys

    node = f"mesh/{unique}/virtualNode/cli"
    client = AdsClient(xds_address(server), node, credential=minter(server.data_dir))
    try:
        client.request(CLUSTER)
        client.ack(await client.receive())
        assert await client.nothing(0.2)  # the ACK is in by then
        listed = subprocess.run(
            [sys.executable, "-m", "meshway", "proxies", "--endpoint-url", server.url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        [line] = [x for x in listed.stdout.splitlines() if x.startswith(node + " ")]
        assert "sotw" in line and "IN SYNC" in line
        dumped = subprocess.run(
            [sys.executable, "-m", "meshway", "proxy-config", node, "--endpoint-url", server.url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        config = json.loads(dumped.stdout)
        assert config["key"] == f"arn:aws:appmesh:us-east-1:000000000000:{node}"
    finally:
        await client.close()
