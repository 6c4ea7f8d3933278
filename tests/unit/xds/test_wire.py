"""Pre-encoded ADS responses: a shared body with a stream's nonce appended is exactly the
response that stream would have built and serialised itself."""

from __future__ import annotations

from envoy.service.discovery.v3 import discovery_pb2

from meshway.xds.cache import CLUSTER, ROUTE, Entry, SnapshotCache, set_version
from meshway.xds.server import SotwStream, node_id_key
from meshway.xds.status import StatusBoard
from meshway.xds.wire import Bodies, delta_body, pass_through, sotw_body, with_nonce
from tests import xds_resources as res

NONCES = ("1", "42", "x" * 200)  # 200: a nonce whose length needs a two-byte varint


def entry() -> Entry:
    cache = SnapshotCache()
    cache.set_snapshot("k", res.snapshot(10000, {"cds_a": [9001], "cds_b": [9002]}))
    return cache.get("k")


def test_a_shared_sotw_body_with_an_appended_nonce_is_the_per_stream_response_byte_for_byte() -> (
    None
):
    clusters = dict(entry().of(CLUSTER))
    version = set_version((n, r.version) for n, r in clusters.items())
    body = sotw_body(CLUSTER, version, clusters.values())
    assert discovery_pb2.DiscoveryResponse.FromString(body).nonce == ""  # none in the shared part
    for nonce in NONCES:
        built = discovery_pb2.DiscoveryResponse(
            version_info=version,
            type_url=CLUSTER,
            nonce=nonce,
            resources=[r.packed for r in clusters.values()],
        )
        shared = with_nonce(body, nonce)
        assert shared == built.SerializeToString()
        assert discovery_pb2.DiscoveryResponse.FromString(shared) == built


def test_a_shared_delta_body_with_an_appended_nonce_parses_to_the_per_stream_response() -> None:
    clusters = list(entry().of(CLUSTER).values())
    body = delta_body(CLUSTER, "v1", clusters, ["gone"])
    assert discovery_pb2.DeltaDiscoveryResponse.FromString(body).nonce == ""
    for nonce in NONCES:
        built = discovery_pb2.DeltaDiscoveryResponse(
            system_version_info="v1",
            type_url=CLUSTER,
            nonce=nonce,
            resources=[
                discovery_pb2.Resource(name=r.name, version=r.version, resource=r.packed)
                for r in clusters
            ],
            removed_resources=["gone"],
        )
        parsed = discovery_pb2.DeltaDiscoveryResponse.FromString(with_nonce(body, nonce))
        assert parsed == built


def test_streams_sending_the_same_version_share_one_body_and_differ_only_in_nonce() -> None:
    routes = dict(entry().of(ROUTE))
    bodies = Bodies()
    streams = [
        SotwStream(SnapshotCache(), StatusBoard(), node_id_key, f"peer{i}", bodies=bodies)
        for i in range(2)
    ]
    version = set_version((n, r.version) for n, r in routes.items())
    sent = []
    for stream in streams:
        state = stream._state(ROUTE)
        sent += [stream._response(ROUTE, state, routes, version) for _ in range(2)]
    assert bodies.misses == 1 and bodies.hits == 3
    parsed = [discovery_pb2.DiscoveryResponse.FromString(b) for b in sent]
    assert [p.nonce for p in parsed] == ["1", "2", "1", "2"]
    for p in parsed:
        assert p.version_info == version and p.type_url == ROUTE
        assert list(p.resources) == [r.packed for r in routes.values()]


def test_the_body_store_forgets_the_least_recently_used_beyond_its_bounds() -> None:
    bodies = Bodies(max_entries=2, max_bytes=10)
    bodies.put("a", b"1234")
    bodies.put("b", b"1234")
    assert bodies.get("a") == b"1234"  # a is now the most recently used
    bodies.put("c", b"1234")
    assert bodies.get("b") is None and bodies.get("a") == b"1234" and bodies.get("c") == b"1234"
    bodies.put("d", b"123456789")  # 4 + 9 bytes > 10: only d stays
    assert bodies.get("a") is None and bodies.get("c") is None and bodies.get("d") is not None
    bodies.put("huge", b"x" * 11)  # larger than the whole budget: not kept, nothing dropped
    assert bodies.get("huge") is None and bodies.get("d") is not None


def test_the_response_serialiser_passes_bytes_through_and_serialises_messages() -> None:
    message = discovery_pb2.DiscoveryResponse(version_info="v", nonce="1")
    assert pass_through(b"\x0a\x01v") == b"\x0a\x01v"
    assert pass_through(message) == message.SerializeToString()
