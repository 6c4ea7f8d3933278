"""The ADS server against a scripted client (grpc.aio): nonces, ACK/NACK, ordering, no-op
changes and reconnects, for State-of-the-World and Delta."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2

from meshway.xds.cache import SnapshotCache
from meshway.xds.credentials import ProxyCredentials
from meshway.xds.server import XdsServer, node_id_key
from meshway.xds.snapshot import MESSAGE_TYPES, Snapshot
from meshway.xds.status import StatusBoard
from tests import xds_resources as res
from tests.xds_client import CLUSTER, ENDPOINT, LISTENER, ROUTE, AdsClient
from tests.xds_credentials import minter

pytestmark = pytest.mark.anyio
NODE = "mesh/m1/virtualNode/vn1"
CREDENTIALS = ProxyCredentials.generate()
MINT = minter(CREDENTIALS, key_of=node_id_key)


def names(response: Any) -> list[str]:
    """Resource names in a SotW or Delta response."""
    out = []
    for item in response.resources:
        packed = getattr(item, "resource", item)
        message = MESSAGE_TYPES[packed.type_url]()
        packed.Unpack(message)
        out.append(getattr(message, "name", "") or message.cluster_name)
    return out


@pytest.fixture
async def xds() -> AsyncIterator[XdsServer]:
    server = XdsServer(SnapshotCache(), StatusBoard(), credentials=CREDENTIALS)
    await server.start(["127.0.0.1"], 0)
    yield server
    await server.stop(0)


@pytest.fixture
async def client(xds: XdsServer) -> AsyncIterator[AdsClient]:
    c = AdsClient(f"127.0.0.1:{xds.port}", NODE, credential=MINT)
    yield c
    await c.close()


@pytest.fixture
async def delta(xds: XdsServer) -> AsyncIterator[AdsClient]:
    c = AdsClient(f"127.0.0.1:{xds.port}", NODE, delta=True, credential=MINT)
    yield c
    await c.close()


def one_backend() -> Snapshot:
    return res.snapshot(10000, {"cds_a": [9001]})


async def sync(client: AdsClient) -> dict[str, Any]:
    """The Envoy-like initial exchange; returns the last response per type, all ACKed."""
    last: dict[str, Any] = {}
    client.request(CLUSTER)
    last[CLUSTER] = await client.receive()
    client.request(ENDPOINT, names(last[CLUSTER]))
    client.ack(last[CLUSTER])
    last[ENDPOINT] = await client.receive()
    client.ack(last[ENDPOINT], names(last[CLUSTER]))
    client.request(LISTENER)
    last[LISTENER] = await client.receive()
    client.request(ROUTE, [res.ROUTE_NAME])
    client.ack(last[LISTENER])
    last[ROUTE] = await client.receive()
    client.ack(last[ROUTE], [res.ROUTE_NAME])
    return last


# -- State of the World -----------------------------------------------------------------------


async def test_an_unknown_node_gets_a_valid_empty_snapshot_at_once(client: AdsClient) -> None:
    client.request(CLUSTER)
    clusters = await client.receive()
    client.ack(clusters)
    client.request(LISTENER)
    listeners = await client.receive()
    assert (clusters.type_url, list(clusters.resources)) == (CLUSTER, [])
    assert (listeners.type_url, list(listeners.resources)) == (LISTENER, [])
    assert clusters.version_info and clusters.nonce != listeners.nonce


async def test_the_initial_exchange_serves_every_type_and_acks_put_the_proxy_in_sync(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    last = await sync(client)
    assert names(last[CLUSTER]) == ["cds_a"]
    assert names(last[ENDPOINT]) == ["cds_a"]
    assert names(last[LISTENER]) == ["lds_test_127.0.0.1_10000"]
    assert names(last[ROUTE]) == [res.ROUTE_NAME]
    assert await client.nothing()
    [proxy] = xds.board.to_json()
    assert proxy["nodeId"] == NODE and proxy["inSync"] and proxy["lastNack"] is None
    assert proxy["types"]["RDS"]["ackedVersion"] == last[ROUTE].version_info


async def test_a_change_that_alters_nothing_pushes_nothing(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    await sync(client)
    assert xds.cache.set_snapshot(NODE, one_backend()) is False
    assert await client.nothing()


async def test_a_repeated_endpoint_request_is_answered_even_when_nothing_changed(
    xds: XdsServer, client: AdsClient
) -> None:
    """A cluster that CDS re-created subscribes to its endpoints again, with the same names and
    nothing in flight, and stays warming until it is answered (xDS resource warming)."""
    xds.cache.set_snapshot(NODE, one_backend())
    last = await sync(client)
    client.request(
        ENDPOINT,
        names(last[CLUSTER]),
        version=last[ENDPOINT].version_info,
        nonce=last[ENDPOINT].nonce,
    )
    again = await client.receive()
    assert again.type_url == ENDPOINT
    assert names(again) == names(last[ENDPOINT])
    client.ack(again, names(last[CLUSTER]))
    assert await client.nothing()


async def test_a_route_change_pushes_only_the_route_configuration(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    await sync(client)
    changed = res.snapshot(10000, {"cds_a": [9001]})
    messages = [
        m
        for t in changed.resources.values()
        for m in t.values()
        if t is not changed.resources[ROUTE]
    ]
    route = res.route({"cds_a": 100})
    route.virtual_hosts[0].routes[0].match.prefix = "/v2"  # type: ignore[attr-defined]
    xds.cache.set_snapshot(NODE, Snapshot.of([*messages, route]))
    pushed = await client.receive()
    assert pushed.type_url == ROUTE
    client.ack(pushed, [res.ROUTE_NAME])
    assert await client.nothing()


async def test_a_nack_is_recorded_and_the_rejected_config_is_not_sent_again(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    last = await sync(client)
    xds.cache.set_snapshot(NODE, res.snapshot(10000, {"cds_a": [9001]}, duplicate_wildcard=True))
    rejected = await client.receive()
    assert rejected.type_url == ROUTE
    client.request(
        ROUTE,
        [res.ROUTE_NAME],
        version=last[ROUTE].version_info,
        nonce=rejected.nonce,
        error="Only a single wildcard domain is permitted",
    )
    assert await client.nothing()
    [proxy] = xds.board.to_json()
    assert proxy["lastNack"]["message"] == "Only a single wildcard domain is permitted"
    assert proxy["types"]["RDS"]["ackedVersion"] == last[ROUTE].version_info
    assert proxy["types"]["RDS"]["lastNack"]["version"] == rejected.version_info
    assert not proxy["inSync"]
    xds.cache.set_snapshot(NODE, one_backend())  # the fix goes out
    fixed = await client.receive()
    assert fixed.type_url == ROUTE and fixed.version_info == last[ROUTE].version_info


async def test_a_request_with_a_stale_nonce_is_ignored(xds: XdsServer, client: AdsClient) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    client.request(CLUSTER)
    first = await client.receive()
    xds.cache.set_snapshot(NODE, res.snapshot(10000, {"cds_a": [9001], "cds_b": [9002]}))
    assert await client.nothing()  # one response in flight per type
    client.request(CLUSTER, version="", nonce="not-the-last-nonce")
    assert await client.nothing()
    client.ack(first)
    second = await client.receive()
    assert names(second) == ["cds_a", "cds_b"]


async def test_clusters_go_out_before_routes_and_stale_clusters_leave_last(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    await sync(client)
    xds.cache.set_snapshot(NODE, res.snapshot(10000, {"cds_b": [9002]}))
    union = await client.receive()
    assert (union.type_url, names(union)) == (CLUSTER, ["cds_a", "cds_b"])
    client.request(ENDPOINT, ["cds_a", "cds_b"])  # Envoy subscribes the new cluster's endpoints
    client.ack(union)
    endpoints = await client.receive()
    assert endpoints.type_url == ENDPOINT
    assert await client.nothing()  # routes wait for the endpoints of the new cluster
    client.ack(endpoints, ["cds_a", "cds_b"])
    routes = await client.receive()
    assert routes.type_url == ROUTE
    assert await client.nothing()  # cds_a stays while the new routes are not ACKed
    client.ack(routes, [res.ROUTE_NAME])
    final = await client.receive()
    assert (final.type_url, names(final)) == (CLUSTER, ["cds_b"])


async def test_routes_wait_until_the_clusters_in_flight_are_acked(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    await sync(client)
    xds.cache.set_snapshot(NODE, res.snapshot(10000, {"cds_a": [9001], "cds_b": [9002]}))
    first = await client.receive()
    assert first.type_url == CLUSTER
    xds.cache.set_snapshot(
        NODE,
        res.snapshot(10000, {"cds_a": [9001], "cds_b": [9002], "cds_c": [9003]}, {"cds_c": 100}),
    )
    assert await client.nothing()  # CDS must change again but is in flight: RDS waits
    client.ack(first)
    clusters = await client.receive()
    assert names(clusters) == ["cds_a", "cds_b", "cds_c"]
    client.ack(clusters)
    assert (await client.receive()).type_url == ROUTE


async def test_a_reconnecting_proxy_that_holds_the_current_version_gets_no_push(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    last = await sync(client)
    again = AdsClient(f"127.0.0.1:{xds.port}", NODE, credential=MINT)
    try:
        again.request(CLUSTER, version=last[CLUSTER].version_info)
        again.request(ENDPOINT, ["cds_a"], version=last[ENDPOINT].version_info)
        again.request(LISTENER, version=last[LISTENER].version_info)
        again.request(ROUTE, [res.ROUTE_NAME], version=last[ROUTE].version_info)
        assert await again.nothing()
        statuses = [p for p in xds.board.to_json() if p["inSync"]]
        assert len(statuses) == 2
    finally:
        await again.close()


async def test_a_disconnected_proxy_leaves_the_status_board(xds: XdsServer) -> None:
    c = AdsClient(f"127.0.0.1:{xds.port}", NODE, credential=MINT)
    c.request(CLUSTER)
    await c.receive()
    assert len(xds.board.proxies()) == 1
    await c.close()
    for _ in range(50):
        if not xds.board.proxies():
            break
        await __import__("asyncio").sleep(0.02)
    assert xds.board.proxies() == []


# -- Delta --------------------------------------------------------------------------------------


async def delta_sync(client: AdsClient) -> dict[str, Any]:
    last: dict[str, Any] = {}
    client.delta_request(CLUSTER)
    last[CLUSTER] = await client.receive()
    client.delta_request(ENDPOINT, names(last[CLUSTER]))
    client.ack(last[CLUSTER])
    last[ENDPOINT] = await client.receive()
    client.ack(last[ENDPOINT])
    client.delta_request(LISTENER)
    last[LISTENER] = await client.receive()
    client.delta_request(ROUTE, [res.ROUTE_NAME])
    client.ack(last[LISTENER])
    last[ROUTE] = await client.receive()
    client.ack(last[ROUTE])
    return last


async def test_delta_an_unknown_node_gets_empty_answers_at_once(delta: AdsClient) -> None:
    delta.delta_request(CLUSTER)
    clusters = await delta.receive()
    delta.ack(clusters)
    delta.delta_request(LISTENER)
    listeners = await delta.receive()
    assert list(clusters.resources) == [] and list(listeners.resources) == []


async def test_delta_sends_only_what_changed_and_removes_stale_clusters_last(
    xds: XdsServer, delta: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    last = await delta_sync(delta)
    assert names(last[CLUSTER]) == ["cds_a"] and names(last[ROUTE]) == [res.ROUTE_NAME]
    assert xds.cache.set_snapshot(NODE, one_backend()) is False
    assert await delta.nothing()
    xds.cache.set_snapshot(NODE, res.snapshot(10000, {"cds_b": [9002]}))
    added = await delta.receive()
    assert (added.type_url, names(added), list(added.removed_resources)) == (CLUSTER, ["cds_b"], [])
    delta.delta_request(ENDPOINT, ["cds_b"])
    delta.ack(added)
    endpoints = await delta.receive()
    assert (endpoints.type_url, names(endpoints)) == (ENDPOINT, ["cds_b"])
    assert await delta.nothing()
    delta.ack(endpoints)
    routes = await delta.receive()
    assert routes.type_url == ROUTE
    assert await delta.nothing()
    delta.ack(routes)
    removal = await delta.receive()
    assert (removal.type_url, list(removal.removed_resources)) == (CLUSTER, ["cds_a"])


async def test_delta_a_nack_is_recorded_and_not_answered_with_the_same_config(
    xds: XdsServer, delta: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    await delta_sync(delta)
    xds.cache.set_snapshot(NODE, res.snapshot(10000, {"cds_a": [9001]}, duplicate_wildcard=True))
    rejected = await delta.receive()
    delta.delta_request(ROUTE, nonce=rejected.nonce, error="Only a single wildcard domain")
    assert await delta.nothing()
    [proxy] = xds.board.to_json()
    assert proxy["protocol"] == "delta"
    assert proxy["types"]["RDS"]["lastNack"]["message"] == "Only a single wildcard domain"


async def test_delta_a_reconnect_with_current_versions_gets_empty_answers(
    xds: XdsServer, delta: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, one_backend())
    last = await delta_sync(delta)
    versions = {t: {r.name: r.version for r in last[t].resources} for t in last}
    again = AdsClient(f"127.0.0.1:{xds.port}", NODE, delta=True, credential=MINT)
    try:
        again.delta_request(CLUSTER, initial=versions[CLUSTER])
        clusters = await again.receive()
        assert list(clusters.resources) == []
        again.ack(clusters)
        again.delta_request(ROUTE, [res.ROUTE_NAME], initial=versions[ROUTE])
        assert list((await again.receive()).resources) == []
    finally:
        await again.close()


# -- issue 5: no init-phase change while Envoy initialises its clusters ------------------------


def dns_backend() -> Snapshot:
    """`one_backend` with cds_a a LOGICAL_DNS cluster (initialised in Envoy's first phase)."""
    eds = one_backend().resources
    cluster = cluster_pb2.Cluster(name="cds_a", type=cluster_pb2.Cluster.LOGICAL_DNS)
    endpoint = cluster.load_assignment.endpoints.add().lb_endpoints.add().endpoint
    endpoint.address.socket_address.address = "cds-a.demo.local"
    endpoint.address.socket_address.port_value = 9001
    return Snapshot.of([cluster, *eds[LISTENER].values(), *eds[ROUTE].values()])


def cluster_types(response: Any) -> dict[str, int]:
    out = {}
    for item in response.resources:
        cluster = cluster_pb2.Cluster()
        getattr(item, "resource", item).Unpack(cluster)
        out[cluster.name] = cluster.type
    return out


async def test_a_cluster_turning_eds_waits_until_the_proxy_asks_for_listeners(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, dns_backend())
    client.request(CLUSTER)
    first = await client.receive()
    client.ack(first)
    xds.cache.set_snapshot(NODE, one_backend())  # the target's first task started
    assert await client.nothing()  # Envoy may still be resolving cds_a: no phase change now
    client.request(LISTENER)  # only once "cm init: all clusters initialized"
    second = await client.receive()
    assert cluster_types(second) == {"cds_a": cluster_pb2.Cluster.EDS}


async def test_other_cluster_changes_are_not_held_while_the_proxy_initialises(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, dns_backend())
    client.request(CLUSTER)
    client.ack(await client.receive())
    both = [*dns_backend().resources[CLUSTER].values(), res.cluster("cds_b")]
    xds.cache.set_snapshot(
        NODE, Snapshot.of([*both, res.endpoints("cds_b", [9002]), *one_backend_routing()])
    )
    second = await client.receive()
    assert cluster_types(second) == {
        "cds_a": cluster_pb2.Cluster.LOGICAL_DNS,
        "cds_b": cluster_pb2.Cluster.EDS,
    }


def one_backend_routing() -> list[Any]:
    resources = one_backend().resources
    return [*resources[LISTENER].values(), *resources[ROUTE].values()]


async def test_after_initialisation_a_cluster_changes_type_at_once(
    xds: XdsServer, client: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, dns_backend())
    client.request(CLUSTER)
    client.ack(await client.receive())
    client.request(LISTENER)
    client.ack(await client.receive())
    client.request(ROUTE, [res.ROUTE_NAME])
    client.ack(await client.receive(), [res.ROUTE_NAME])
    xds.cache.set_snapshot(NODE, one_backend())
    assert cluster_types(await client.receive()) == {"cds_a": cluster_pb2.Cluster.EDS}


async def test_delta_a_cluster_turning_eds_waits_until_the_proxy_asks_for_listeners(
    xds: XdsServer, delta: AdsClient
) -> None:
    xds.cache.set_snapshot(NODE, dns_backend())
    delta.delta_request(CLUSTER)
    delta.ack(await delta.receive())
    xds.cache.set_snapshot(NODE, one_backend())
    assert await delta.nothing()
    delta.delta_request(LISTENER)
    second = await delta.receive()
    assert second.type_url == CLUSTER
    assert cluster_types(second) == {"cds_a": cluster_pb2.Cluster.EDS}
