"""A snapshot is a sorted value with content hashes, and it knows when it is inconsistent."""

from __future__ import annotations

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.route.v3 import route_pb2
from google.protobuf import json_format

from meshway.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE, Snapshot
from meshway.xds.translate import build_snapshot
from tests.unit.xds.scenarios import FRONT, seed


def resources_of(snapshot: Snapshot, *skip: tuple[str, str]) -> list[object]:
    return [
        message
        for url, named in snapshot.resources.items()
        for name, message in named.items()
        if (url, name) not in skip
    ]


def test_the_seed_snapshot_is_consistent_and_sorted() -> None:
    snapshot = build_snapshot(seed().view(), FRONT)
    assert snapshot.consistent()
    for named in snapshot.resources.values():
        assert list(named) == sorted(named)


def test_a_missing_load_assignment_route_configuration_or_cluster_is_reported() -> None:
    snapshot = build_snapshot(seed().view(), FRONT)
    white = "cds_egress_demo_colorteller-white_http_9080"
    broken = Snapshot.of(
        resources_of(
            snapshot,
            (ENDPOINT, white),
            (ROUTE, "rds_ingress_http_9080"),
            (CLUSTER, "cds_egress_demo_amazonaws"),
            (CLUSTER, "cds_egress_demo_colorteller-black_http_9080"),
            (ENDPOINT, "cds_egress_demo_colorteller-black_http_9080"),
        )  # type: ignore[arg-type]
    )
    assert broken.problems() == (
        f"EDS cluster {white} has no ClusterLoadAssignment",
        "listener lds_egress_0.0.0.0_15001 names cluster cds_egress_demo_amazonaws, "
        "which does not exist",
        "listener lds_ingress_0.0.0.0_15000 names route configuration rds_ingress_http_9080, "
        "which does not exist",
        "route configuration rds_egress_http_9080 names cluster "
        "cds_egress_demo_colorteller-black_http_9080, which does not exist",
    )
    assert not broken.consistent()


def test_two_resources_of_one_type_and_name_are_refused() -> None:
    cluster = json_format.ParseDict({"name": "c"}, cluster_pb2.Cluster())
    with pytest.raises(ValueError, match="two"):
        Snapshot.of([cluster, cluster])


def test_versions_follow_content_not_object_identity() -> None:
    a = Snapshot.of([json_format.ParseDict({"name": "r"}, route_pb2.RouteConfiguration())])
    b = Snapshot.of([json_format.ParseDict({"name": "r"}, route_pb2.RouteConfiguration())])
    c = Snapshot.of(
        [
            json_format.ParseDict(
                {"name": "r", "virtual_hosts": [{"name": "v", "domains": ["x"]}]},
                route_pb2.RouteConfiguration(),
            )
        ]
    )
    assert a.version(ROUTE) == b.version(ROUTE) != c.version(ROUTE)
    assert a.version(LISTENER) == ""


def test_packed_resources_carry_the_type_url() -> None:
    snapshot = build_snapshot(seed().view(), FRONT)
    packed = snapshot.packed(LISTENER)
    assert sorted(packed) == ["lds_egress_0.0.0.0_15001", "lds_ingress_0.0.0.0_15000"]
    assert all(item.type_url == LISTENER for item in packed.values())
