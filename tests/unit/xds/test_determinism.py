"""The same input gives the same bytes; a change that alters nothing changes no hash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from google.protobuf import any_pb2, json_format, symbol_database
from google.protobuf.message import Message

from meshway.model.appmesh.kinds import KindName
from meshway.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, PUSH_ORDER, ROUTE, Snapshot
from meshway.xds.translate import Shared, build_snapshot
from meshway.xds.translate.messages import MessageBuildError, message
from meshway.xds.view import Endpoint, MeshView, ProxyId
from tests.unit.xds.scenarios import FRONT, SCENARIOS, seed


def serialized(view: MeshView) -> list[tuple[str, str, bytes]]:
    snapshot = build_snapshot(view, FRONT)
    return [
        (url, name, packed.SerializeToString(deterministic=True))
        for url in PUSH_ORDER
        for name, packed in snapshot.packed(url).items()
    ]


def test_translating_the_same_view_twice_gives_byte_identical_resources() -> None:
    for make, proxy in SCENARIOS.values():
        first, second = build_snapshot(make().view(), proxy), build_snapshot(make().view(), proxy)
        assert first.hashes == second.hashes
        assert [first.packed(u) for u in PUSH_ORDER] == [second.packed(u) for u in PUSH_ORDER]
    assert serialized(seed().view()) == serialized(seed().view())


def test_the_order_records_arrive_in_does_not_matter() -> None:
    mesh = seed()
    reversed_view = MeshView.from_records(
        "demo", list(reversed(mesh.view_records())), mesh.endpoints
    )
    assert serialized(reversed_view) == serialized(mesh.view())


def test_a_change_another_proxy_cares_about_leaves_the_front_s_hashes_alone() -> None:
    before = build_snapshot(seed().view(), FRONT)
    mesh = seed()
    mesh.node("unrelated", {"listeners": [], "backends": []})
    after = build_snapshot(mesh.view(), FRONT)
    assert after.hashes == before.hashes
    assert all(after.version(url) == before.version(url) for url in PUSH_ORDER)


def test_an_endpoint_change_changes_only_that_cluster_s_load_assignment() -> None:
    before = build_snapshot(seed().view(), FRONT)
    mesh = seed()
    mesh.endpoints["colorteller-black"] = [
        *mesh.endpoints["colorteller-black"],
        Endpoint(address="198.18.0.22"),
    ]
    after = build_snapshot(mesh.view(), FRONT)
    changed = {
        (url, name)
        for url in PUSH_ORDER
        for name in after.hashes[url]
        if after.hashes[url][name] != before.hashes[url].get(name)
    }
    assert changed == {(ENDPOINT, "cds_egress_demo_colorteller-black_http_9080")}
    assert after.version(CLUSTER) == before.version(CLUSTER)
    assert after.version(LISTENER) == before.version(LISTENER)


def test_a_weight_change_changes_only_the_egress_route_configuration() -> None:
    before = build_snapshot(seed().view(), FRONT)
    after = build_snapshot(seed(white=100, black=0).view(), FRONT)
    changed = {
        (url, name)
        for url in PUSH_ORDER
        for name in after.hashes[url]
        if after.hashes[url][name] != before.hashes[url].get(name)
    }
    assert changed == {(ROUTE, "rds_egress_http_9080")}


def test_hashes_do_not_depend_on_the_process_s_hash_seed() -> None:
    script = (
        "import json; from meshway.xds.translate import build_snapshot; "
        "from tests.unit.xds.scenarios import SCENARIOS; "
        "print(json.dumps({n: {u: dict(h) for u, h in build_snapshot(m().view(), p).hashes.items()}"
        " for n, (m, p) in SCENARIOS.items()}, sort_keys=True))"
    )
    root = Path(__file__).resolve().parents[3]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={
                **os.environ,
                "PYTHONHASHSEED": seed_value,
                "PYTHONPATH": f"{root / 'src'}:{root}",
            },
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed_value in ("1", "2", "3")
    }
    assert len(outputs) == 1


def every_proxy(view: MeshView) -> list[ProxyId]:
    nodes = [
        ProxyId(mesh=view.mesh, kind=KindName.VIRTUAL_NODE, name=n) for n in view.virtual_nodes
    ]
    gateways = [
        ProxyId(mesh=view.mesh, kind=KindName.VIRTUAL_GATEWAY, name=n)
        for n in view.virtual_gateways
    ]
    return nodes + gateways


def packed_bytes(snapshot: Snapshot) -> list[tuple[str, str, bytes]]:
    return [
        (url, name, packed.SerializeToString(deterministic=True))
        for url in PUSH_ORDER
        for name, packed in snapshot.packed(url).items()
    ]


def test_pieces_shared_between_the_proxies_of_a_view_give_the_bytes_a_fresh_build_gives() -> None:
    for make, _ in SCENARIOS.values():
        view = make().view()
        shared = Shared(view)
        for proxy in every_proxy(view):
            assert packed_bytes(build_snapshot(view, proxy, shared)) == packed_bytes(
                build_snapshot(make().view(), proxy)
            ), proxy


def reference(message: Message) -> Message:
    """What json_format.ParseDict of the message's own JSON gives, every nested Any re-packed
    deterministically: how the translation built messages before it built them directly."""
    out = type(message)()
    json_format.ParseDict(json_format.MessageToDict(message, preserving_proto_field_name=True), out)
    _repack(out)
    return out


def _repack(message: Message) -> None:
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            holds = field.message_type.fields_by_name["value"].message_type is not None
            items = [value[key] for key in value] if holds else []
        else:
            items = value if field.is_repeated else [value]
        for item in items:
            if isinstance(item, any_pb2.Any):
                inner = symbol_database.Default().GetSymbol(item.TypeName())()
                item.Unpack(inner)
                _repack(inner)
                item.Pack(inner, deterministic=True)
            else:
                _repack(item)


def test_built_messages_serialize_as_parsing_their_json_does() -> None:
    checked = 0
    for make, _ in SCENARIOS.values():
        view = make().view()
        for proxy in every_proxy(view):
            snapshot = build_snapshot(view, proxy)
            for named in snapshot.resources.values():
                for built in named.values():
                    expected = reference(built).SerializeToString(deterministic=True)
                    assert built.SerializeToString(deterministic=True) == expected
                    checked += 1
    assert checked > 300


def test_a_field_the_message_does_not_have_is_an_error() -> None:
    with pytest.raises(MessageBuildError, match="conect_timeout"):
        message(cluster_pb2.Cluster, {"name": "c", "conect_timeout": "1s"})
    with pytest.raises(MessageBuildError, match="STRICTEST"):
        message(cluster_pb2.Cluster, {"name": "c", "type": "STRICTEST"})
