"""Hostile clients of the xDS server (issue 9, part 5), on a real `meshway server`: raw bytes
and oversized messages on the ADS methods, wrong type URLs, nonce games (stale, future and
garbage nonces, ACKs of versions never sent, NACK storms), a node id that changes mid-stream, and
many streams for one node. The server stays up, serves other clients correctly afterwards, and
never sends one node's configuration to a stream that did not open as that node.

Two virtual nodes, `alpha` and `bravo`, share a mesh but not a backend: nothing in alpha's
configuration names bravo, so "bravo" in any response to an alpha stream is a leak.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import struct_pb2
from google.rpc import status_pb2
from hypothesis import given
from hypothesis import strategies as st

from meshway.xds.credentials import HEADER
from tests.conftest import REGION, ServerProcess, free_port, make_client
from tests.security.fuzzing import budget, outcome, tried
from tests.xds_client import CLUSTER, ENDPOINT, LISTENER, ROUTE, AdsClient
from tests.xds_credentials import minter

ACCOUNT = "515151515151"
MESH = "xds-fuzz"
ALPHA = f"mesh/{MESH}/virtualNode/alpha"
BRAVO = f"mesh/{MESH}/virtualNode/bravo"
SOTW = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
DELTA = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
TYPES = [CLUSTER, ENDPOINT, LISTENER, ROUTE]
WRONG_TYPES = [
    "",
    "type.googleapis.com/envoy.config.cluster.v2.Cluster",
    "type.googleapis.com/google.protobuf.Empty",
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    "\u0000\uffff" * 20,
    "x" * 10_000,
]
SETTLE = 0.15  # seconds a stream is read after its last request


@pytest.fixture(scope="module")
def xds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("xds-hostile")
    proc = ServerProcess(root / "data", free_port(), ("--no-runtime",)).start()
    appmesh = make_client(proc.url, "appmesh", aws_access_key_id=ACCOUNT)
    appmesh.create_mesh(meshName=MESH)
    for name, port in (("alpha", 9080), ("bravo", 9443)):
        spec = {
            "listeners": [{"portMapping": {"port": port, "protocol": "http"}}],
            "serviceDiscovery": {"dns": {"hostname": f"{name}.local"}},
        }
        appmesh.create_virtual_node(meshName=MESH, virtualNodeName=name, spec=spec)
    yield proc
    proc.stop()


def _address(server: ServerProcess) -> str:
    return (server.data_dir / "xds-address").read_text().strip()


def _node(node_id: str) -> base_pb2.Node:
    metadata = struct_pb2.Struct()
    metadata.update({"aws.appmesh.account": ACCOUNT})
    return base_pb2.Node(
        id=node_id, cluster=node_id, metadata=metadata, locality=base_pb2.Locality(region=REGION)
    )


def _client(server: ServerProcess, node_id: str, *, delta: bool = False) -> AdsClient:
    """A client holding a proxy credential for `node_id` (xds/credentials.py), as a sidecar
    started by Meshway would: the hostile part is what it sends, not who it is."""
    client = AdsClient(_address(server), node_id, delta=delta, credential=minter(server.data_dir))
    client.node.CopyFrom(_node(node_id))
    return client


def _token(server: ServerProcess, node_id: str) -> str:
    return minter(server.data_dir)(_node(node_id))


async def _clusters_of(server: ServerProcess, node_id: str) -> bytes:
    """A well-behaved client's first CDS answer, as bytes."""
    client = _client(server, node_id)
    try:
        client.request(CLUSTER)
        response = await client.receive(10)
        return bytes(response.SerializeToString())
    finally:
        await client.close()


async def _still_serves(server: ServerProcess) -> None:
    alpha = await _clusters_of(server, ALPHA)
    bravo = await _clusters_of(server, BRAVO)
    assert b"alpha" in alpha and b"bravo" not in alpha
    assert b"bravo" in bravo and b"alpha" not in bravo


def _leaks(responses: list[Any]) -> list[str]:
    return [r.type_url for r in responses if b"bravo" in r.SerializeToString()]


# -- raw bytes on the wire ---------------------------------------------------------------------


async def _raw_call(
    address: str, method: str, messages: list[bytes], token: str | None = None
) -> tuple[list[bytes], Any]:
    """Send `messages` as they are (no protobuf encoding) on one stream, with alpha's credential
    when `token` is given; what came back and the status code the stream ended with (None if it
    was still open after the settle time)."""
    async with grpc.aio.insecure_channel(
        address, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        metadata = ((HEADER, token),) if token else None
        call = channel.stream_stream(method)(iter(messages), metadata=metadata)
        got: list[bytes] = []
        try:
            async with asyncio.timeout(2):
                async for response in call:
                    got.append(response)
        except TimeoutError:
            call.cancel()
            return got, None
        except grpc.aio.AioRpcError as error:
            return got, error.code()
        return got, grpc.StatusCode.OK


# One event loop for the module, never closed: grpc.aio dispatches a call's late events to the
# loop the call was made on, and with `asyncio.run` per test (a new loop closed at the end) such
# an event reached a closed loop and failed a later test with "Event loop is closed".
T = TypeVar("T")
_LOOP = asyncio.new_event_loop()


def _run(work: Coroutine[Any, Any, T]) -> T:
    return _LOOP.run_until_complete(work)


RAW_REGRESSIONS = [
    b"\xff" * 64,  # not a protobuf
    b"\x0a\xff\xff\xff\xff\x0f",  # a field claiming a 4 GiB length
    b"\x12\x05ab",  # a truncated string
    bytes(range(256)),
    b"\x1a" + b"\x80" * 20,  # a varint that never ends
]


@pytest.mark.parametrize("signed", [True, False], ids=["credential", "none"])
@pytest.mark.parametrize("method", [SOTW, DELTA], ids=["sotw", "delta"])
@pytest.mark.parametrize("message", RAW_REGRESSIONS, ids=lambda m: m[:6].hex())
def test_a_message_that_is_not_a_discovery_request_ends_only_its_own_stream(
    xds_server: ServerProcess, method: str, message: bytes, signed: bool
) -> None:
    token = _token(xds_server, ALPHA) if signed else None

    async def run() -> None:
        got, code = await _raw_call(_address(xds_server), method, [message], token)
        tried("xds raw bytes")
        outcome("xds raw bytes", str(code))
        assert not got
        await _still_serves(xds_server)

    _run(run())


def test_an_oversized_request_is_refused_and_the_server_serves_on(
    xds_server: ServerProcess,
) -> None:
    """Past the 16 MiB receive limit: RESOURCE_EXHAUSTED for that stream, nothing else."""
    request = discovery_pb2.DiscoveryRequest(
        node=_node(ALPHA), type_url=CLUSTER, resource_names=["n" * 1024] * (17 * 1024)
    )

    async def run() -> None:
        token = _token(xds_server, ALPHA)
        got, code = await _raw_call(
            _address(xds_server), SOTW, [request.SerializeToString()], token
        )
        tried("xds raw bytes")
        assert not got and code == grpc.StatusCode.RESOURCE_EXHAUSTED
        await _still_serves(xds_server)

    _run(run())


@budget(25, deadline_ms=None)
@given(messages=st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=4))
def test_no_random_bytes_on_the_ads_method_take_the_server_down(
    xds_server: ServerProcess, messages: list[bytes]
) -> None:
    token = _token(xds_server, ALPHA)

    async def run() -> None:
        got, code = await _raw_call(_address(xds_server), SOTW, messages, token)
        tried("xds raw bytes")
        outcome("xds raw bytes", str(code))
        # Random bytes can parse as a request; if one did, it may get an answer, never bravo's.
        assert not [g for g in got if b"bravo" in g]

    _run(run())


# -- well-formed but hostile sequences -------------------------------------------------------

nonces = st.one_of(
    st.just(""),
    st.sampled_from(["1", "2", "3", "999999", "-1", "0", "1e9"]),  # stale, future, odd
    st.text(max_size=40),
    st.just("\u0000" * 5),
)
type_urls = st.one_of(st.sampled_from(TYPES), st.sampled_from(WRONG_TYPES))
names = st.lists(
    st.one_of(st.sampled_from(["*", "", "cds_ingress_x", f"{BRAVO}"]), st.text(max_size=30)),
    max_size=5,
)


@st.composite
def sotw_request(draw: st.DrawFn) -> discovery_pb2.DiscoveryRequest:
    request = discovery_pb2.DiscoveryRequest(
        type_url=draw(type_urls),
        resource_names=draw(names),
        version_info=draw(st.one_of(st.just(""), st.text(max_size=20))),
        response_nonce=draw(nonces),
    )
    if draw(st.integers(0, 3)) == 0:  # a NACK (a storm, when drawn many times)
        request.error_detail.CopyFrom(status_pb2.Status(code=3, message=draw(st.text())))
    if draw(st.integers(0, 5)) == 0:  # a node again, maybe another one: it must not count
        request.node.CopyFrom(_node(draw(st.sampled_from([ALPHA, BRAVO, "", "x" * 300]))))
    return request


@st.composite
def delta_request(draw: st.DrawFn) -> discovery_pb2.DeltaDiscoveryRequest:
    request = discovery_pb2.DeltaDiscoveryRequest(
        type_url=draw(type_urls),
        resource_names_subscribe=draw(names),
        resource_names_unsubscribe=draw(names),
        response_nonce=draw(nonces),
        initial_resource_versions=draw(
            st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)
        ),
    )
    if draw(st.integers(0, 3)) == 0:
        request.error_detail.CopyFrom(status_pb2.Status(code=13, message=draw(st.text())))
    if draw(st.integers(0, 5)) == 0:
        request.node.CopyFrom(_node(draw(st.sampled_from([ALPHA, BRAVO, ""]))))
    return request


async def _play(server: ServerProcess, requests: list[Any], *, delta: bool, echo: bool) -> None:
    """Open a stream as alpha, send `requests` (echoing the nonce of the last response back when
    `echo`, as real ACK/NACK games would), and check every response."""
    client = _client(server, ALPHA, delta=delta)
    got: list[Any] = []
    try:
        # The stream opens as alpha (the client's _node sets the node and starts the call with
        # alpha's credential); what follows may name other nodes, which must end the stream.
        client._node(requests[0])
        for request in requests:
            if echo and got and not request.response_nonce:
                request.response_nonce = got[-1].nonce
            client._out.put_nowait(request)
            got += await _drain(client, 0.02)
        got += await _drain(client, SETTLE)
    finally:
        await client.close()
    sent_types = {r.type_url for r in requests}
    target = "xds delta" if delta else "xds sotw"
    tried(target)
    outcome(target, f"{len(got)} responses")
    assert not _leaks(got), "bravo's configuration went to an alpha stream"
    assert all(r.type_url in sent_types for r in got)


async def _drain(client: AdsClient, wait: float) -> list[Any]:
    out = []
    while True:
        try:
            out.append(await client.receive(wait))
        except TimeoutError:
            return out
        except grpc.aio.AioRpcError:
            return out


@budget(30, deadline_ms=None)
@given(requests=st.lists(sotw_request(), min_size=1, max_size=8), echo=st.booleans())
def test_no_sotw_request_sequence_gets_another_nodes_config_or_breaks_the_server(
    xds_server: ServerProcess, requests: list[Any], echo: bool
) -> None:
    _run(_play(xds_server, requests, delta=False, echo=echo))


@budget(20, deadline_ms=None)
@given(requests=st.lists(delta_request(), min_size=1, max_size=8), echo=st.booleans())
def test_no_delta_request_sequence_gets_another_nodes_config_or_breaks_the_server(
    xds_server: ServerProcess, requests: list[Any], echo: bool
) -> None:
    _run(_play(xds_server, requests, delta=True, echo=echo))


def test_a_nack_storm_and_acks_of_unsent_versions_change_nothing_the_next_client_sees(
    xds_server: ServerProcess,
) -> None:
    async def run() -> None:
        client = _client(xds_server, ALPHA)
        try:
            client.request(CLUSTER)
            first = await client.receive(10)
            for i in range(300):
                tried("xds sotw")
                client.request(CLUSTER, version=f"v{i}", nonce=first.nonce, error="no")
                client.request(CLUSTER, version="never-sent", nonce=str(10_000 + i))
            assert not _leaks(await _drain(client, SETTLE))
        finally:
            await client.close()
        await _still_serves(xds_server)

    _run(run())


def test_a_node_id_sent_again_mid_stream_does_not_switch_the_stream_to_that_node(
    xds_server: ServerProcess,
) -> None:
    async def run() -> None:
        client = _client(xds_server, ALPHA)
        try:
            client.request(CLUSTER)
            first = await client.receive(10)
            assert b"alpha" in first.SerializeToString()
            client.ack(first)
            client._out.put_nowait(
                discovery_pb2.DiscoveryRequest(type_url=LISTENER, node=_node(BRAVO))
            )
            got = [first, *await _drain(client, 1.0)]
            tried("xds sotw")
            assert not _leaks(got)
            assert client.call.done(), "a stream that changed its node must end"
        finally:
            await client.close()
        await _still_serves(xds_server)

    _run(run())


def test_many_streams_for_one_node_each_get_only_that_nodes_config(
    xds_server: ServerProcess,
) -> None:
    async def run() -> None:
        clients = [_client(xds_server, ALPHA, delta=i % 2 == 1) for i in range(60)]
        try:
            for client in clients:
                if client.delta:
                    client.delta_request(CLUSTER)
                else:
                    client.request(CLUSTER)
            answers = await asyncio.gather(*(c.receive(20) for c in clients))
            for answer in answers:
                tried("xds many streams")
                assert b"alpha" in answer.SerializeToString()
            assert not _leaks(list(answers))
        finally:
            await asyncio.gather(*(c.close() for c in clients))
        await _still_serves(xds_server)

    _run(run())


def test_the_server_still_serves_both_nodes_after_all_of_it(xds_server: ServerProcess) -> None:
    _run(_still_serves(xds_server))
    assert xds_server.process is not None and xds_server.process.poll() is None
    assert os.path.exists(xds_server.data_dir / "xds-address")
