"""The ADS server authorises streams (issue 9): a proxy presenting task A's credential gets
nothing of node B's configuration, a stream without a credential is refused, and a stream may
not switch node; every refusal is logged and counted on the status board. SotW and Delta."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2

from meshway.xds.cache import SnapshotCache
from meshway.xds.credentials import ProxyCredentials
from meshway.xds.nodes import node_key
from meshway.xds.server import XdsServer
from meshway.xds.status import StatusBoard
from tests import xds_resources as res
from tests.xds_client import CLUSTER, LISTENER, AdsClient
from tests.xds_credentials import token

pytestmark = pytest.mark.anyio
CREDENTIALS = ProxyCredentials.generate()
NODE_A = "mesh/m1/virtualNode/a"
NODE_B = "mesh/m1/virtualNode/b"
KEY_A = "arn:aws:appmesh:us-east-1:000000000000:" + NODE_A
KEY_B = "arn:aws:appmesh:us-east-1:000000000000:" + NODE_B
TASK_A = "arn:aws:ecs:us-east-1:000000000000:task/c/aaaa"


@pytest.fixture
async def xds() -> AsyncIterator[XdsServer]:
    server = XdsServer(SnapshotCache(), StatusBoard(), key_of=node_key, credentials=CREDENTIALS)
    server.cache.set_snapshot(KEY_A, res.snapshot(10000, {"cds_a": [9001]}))
    server.cache.set_snapshot(KEY_B, res.snapshot(10001, {"cds_b": [9002]}))
    await server.start(["127.0.0.1"], 0)
    yield server
    await server.stop(0)


@pytest.fixture(params=[False, True], ids=["sotw", "delta"])
def delta(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def ask(client: AdsClient) -> None:
    if client.delta:
        client.delta_request(CLUSTER)
    else:
        client.request(CLUSTER)


async def refused_with(client: AdsClient) -> grpc.StatusCode:
    """The status the stream ended with, asserting no response came before it."""
    try:
        response = await client.receive()
    except grpc.aio.AioRpcError as error:
        return error.code()
    finally:
        await client.close()
    raise AssertionError(f"a refused stream got {response.type_url}")


async def test_a_proxy_with_its_own_credential_gets_its_own_config(
    xds: XdsServer, delta: bool
) -> None:
    client = AdsClient(
        f"127.0.0.1:{xds.port}", NODE_A, delta=delta, credential=token(CREDENTIALS, NODE_A, TASK_A)
    )
    try:
        ask(client)
        response = await client.receive()
        assert "cds_a" in str(response.resources[0])
        assert xds.board.refusals() == ({}, [])
    finally:
        await client.close()


async def test_task_a_credential_with_node_b_gets_nothing_of_b_and_is_counted(
    xds: XdsServer, delta: bool, caplog: pytest.LogCaptureFixture
) -> None:
    stolen = token(CREDENTIALS, NODE_A, TASK_A)
    client = AdsClient(f"127.0.0.1:{xds.port}", NODE_B, delta=delta, credential=stolen)
    with caplog.at_level(logging.WARNING, logger="meshway.xds.server"):
        ask(client)
        assert await refused_with(client) == grpc.StatusCode.PERMISSION_DENIED
    counts, [refusal] = xds.board.refusals()
    assert counts == {"other-node": 1}
    assert (refusal.node_id, refusal.subject) == (NODE_B, TASK_A)
    assert xds.board.proxies() == []  # never connected as B, never watched B's snapshot
    assert any("refused (other-node)" in r.getMessage() and TASK_A in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert stolen not in caplog.text


async def test_a_stream_without_a_credential_is_refused_and_counted(
    xds: XdsServer, delta: bool, caplog: pytest.LogCaptureFixture
) -> None:
    client = AdsClient(f"127.0.0.1:{xds.port}", NODE_A, delta=delta)
    with caplog.at_level(logging.WARNING, logger="meshway.xds.server"):
        ask(client)
        assert await refused_with(client) == grpc.StatusCode.UNAUTHENTICATED
    counts, [refusal] = xds.board.refusals()
    assert counts == {"missing": 1} and (refusal.node_id, refusal.subject) == (NODE_A, "")
    assert "refused (missing)" in caplog.text


async def test_a_forged_credential_is_refused(xds: XdsServer, delta: bool) -> None:
    forged = token(ProxyCredentials.generate(), NODE_B, TASK_A)
    client = AdsClient(f"127.0.0.1:{xds.port}", NODE_B, delta=delta, credential=forged)
    ask(client)
    assert await refused_with(client) == grpc.StatusCode.UNAUTHENTICATED
    assert xds.board.refusals()[0] == {"invalid": 1}


async def test_a_stream_may_not_switch_to_another_node(xds: XdsServer, delta: bool) -> None:
    client = AdsClient(
        f"127.0.0.1:{xds.port}", NODE_A, delta=delta, credential=token(CREDENTIALS, NODE_A, TASK_A)
    )
    ask(client)
    first = await client.receive()
    client.ack(first)
    # A later request naming another node, on the same stream.
    request_type = discovery_pb2.DeltaDiscoveryRequest if delta else discovery_pb2.DiscoveryRequest
    request = request_type(type_url=LISTENER, node=base_pb2.Node(id=NODE_B))
    client._out.put_nowait(request)
    assert await refused_with(client) == grpc.StatusCode.PERMISSION_DENIED
    assert xds.board.refusals()[0] == {"node-changed": 1}
    assert xds.board.proxies() == []  # the stream is gone from the board


def test_the_consoles_metrics_board_counts_refusals_and_still_lists_them() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from meshway.console.metrics import MetricsBoard

    registry = CollectorRegistry(auto_describe=False)
    board = MetricsBoard(registry)
    board.refused(reason="other-node", node_id=NODE_B, subject=TASK_A, peer="ipv4:127.0.0.1:1")
    counts, [refusal] = board.refusals()
    assert counts == {"other-node": 1} and refusal.subject == TASK_A
    text = generate_latest(registry).decode()
    assert 'meshway_xds_refused_streams_total{reason="other-node"} 1.0' in text
