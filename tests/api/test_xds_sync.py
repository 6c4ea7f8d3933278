"""From `aws appmesh` to a proxy, through a real server: an ADS client standing for a virtual
node gets that node's translated config, and an API change reaches it as a push."""

from __future__ import annotations

from typing import Any

import pytest
from envoy.config.core.v3 import base_pb2
from google.protobuf import struct_pb2

from meshway.xds.snapshot import MESSAGE_TYPES
from tests.conftest import REGION, ServerProcess
from tests.xds_client import CLUSTER, LISTENER, AdsClient
from tests.xds_credentials import minter

pytestmark = pytest.mark.anyio


def names(response: Any) -> list[str]:
    out = []
    for packed in response.resources:
        message = MESSAGE_TYPES[packed.type_url]()
        packed.Unpack(message)
        out.append(message.name)
    return out


def node_client(server: ServerProcess, node_id: str, account: str) -> AdsClient:
    client = AdsClient(
        (server.data_dir / "xds-address").read_text().strip(),
        node_id,
        credential=minter(server.data_dir),
    )
    metadata = struct_pb2.Struct()
    metadata.update({"aws.appmesh.account": account})  # what the sidecar agent sends
    client.node.metadata.CopyFrom(metadata)
    client.node.locality.CopyFrom(base_pb2.Locality(region=REGION))
    return client


async def test_a_virtual_node_gets_its_config_and_an_api_change_is_pushed(
    server: ServerProcess, appmesh: Any, account: str, unique: str
) -> None:
    mesh = f"{unique}-mesh"
    appmesh.create_mesh(meshName=mesh)
    listener = {"portMapping": {"port": 9080, "protocol": "http"}}
    spec = {"listeners": [listener], "serviceDiscovery": {"dns": {"hostname": "front.local"}}}
    appmesh.create_virtual_node(meshName=mesh, virtualNodeName="front", spec=spec)
    client = node_client(server, f"mesh/{mesh}/virtualNode/front", account)
    try:
        client.request(CLUSTER)
        clusters = await client.receive()  # the node's own config, never the empty one first
        assert f"cds_ingress_{mesh}_front_http_9080" in names(clusters)
        client.ack(clusters)
        client.request(LISTENER)
        listeners = await client.receive()
        assert "lds_ingress_0.0.0.0_15000" in names(listeners)
        client.ack(listeners)
        spec["listeners"] = [listener, {"portMapping": {"port": 9081, "protocol": "http"}}]
        appmesh.update_virtual_node(meshName=mesh, virtualNodeName="front", spec=spec)
        pushed = await client.receive()
        assert pushed.type_url == CLUSTER
        assert f"cds_ingress_{mesh}_front_http_9081" in names(pushed)
    finally:
        await client.close()
