"""Proxy ids parse in every form App Mesh accepts; a view holds one mesh, frozen."""

from __future__ import annotations

import pytest

from meshway.model.appmesh.kinds import KindName
from meshway.xds.translate import build_snapshot
from meshway.xds.view import MeshView, ProxyId
from tests.unit.xds.scenarios import FRONT, Mesh, seed


@pytest.mark.parametrize(
    ("node_id", "expected"),
    [
        (
            "mesh/demo/virtualNode/front",
            ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="front"),
        ),
        (
            "mesh/demo/virtualGateway/gw",
            ProxyId(mesh="demo", kind=KindName.VIRTUAL_GATEWAY, name="gw"),
        ),
        (
            "arn:aws:appmesh:us-east-1:111122223333:mesh/demo/virtualNode/front",
            ProxyId(
                mesh="demo",
                kind=KindName.VIRTUAL_NODE,
                name="front",
                account="111122223333",
                region="us-east-1",
            ),
        ),
    ],
)
def test_a_node_id_in_short_or_arn_form_names_the_proxy(node_id: str, expected: ProxyId) -> None:
    assert ProxyId.parse(node_id) == expected
    assert ProxyId.parse(node_id).node_id == expected.node_id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "node_id",
    [
        "",
        "front",
        "mesh/demo/virtualRouter/r",
        "mesh/demo/virtualNode/",
        "mesh//virtualNode/front",
        "mesh/demo/virtualNode/front/extra",
        "arn:aws:appmesh:us-east-1:111122223333:mesh/demo/virtualService/s",
        "arn:aws:ecs:us-east-1:111122223333:task/x",
    ],
)
def test_anything_else_is_not_a_proxy_id(node_id: str) -> None:
    assert ProxyId.parse(node_id) is None


def test_records_of_other_meshes_and_kinds_are_ignored() -> None:
    mesh = seed()
    other = Mesh(name="other").node("front", {"listeners": []})
    records = [*mesh.view_records(), *other.records, {"kind": "ecs.task", "body": {}}]
    view = MeshView.from_records("demo", records, mesh.endpoints)
    assert sorted(view.virtual_nodes) == ["colorteller-black", "colorteller-white", "front"]
    assert list(view.routes_of("colorteller-router")) == ["colorteller-route"]
    assert view.virtual_nodes["front"]["listeners"][0]["portMapping"]["port"] == 9080


def test_a_view_cannot_be_changed_through_its_specs() -> None:
    view = seed().view()
    with pytest.raises(TypeError):
        view.virtual_nodes["front"]["backends"] = ()  # type: ignore[index]
    assert isinstance(view.virtual_nodes["front"]["backends"], tuple)


def test_a_proxy_meshway_knows_nothing_about_gets_an_empty_consistent_snapshot() -> None:
    view = seed().view()
    for proxy in (
        ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="ghost"),
        ProxyId(mesh="elsewhere", kind=KindName.VIRTUAL_NODE, name="front"),
        ProxyId(mesh="demo", kind=KindName.VIRTUAL_GATEWAY, name="ghost"),
    ):
        snapshot = build_snapshot(view, proxy)
        assert all(not named for named in snapshot.resources.values())
        assert snapshot.consistent()
        assert snapshot.version("type.googleapis.com/envoy.config.cluster.v3.Cluster") == ""


def test_a_backend_service_that_does_not_exist_yet_is_left_out() -> None:
    mesh = seed()
    mesh.node(
        "front",
        {
            "listeners": [],
            "backends": [{"virtualService": {"virtualServiceName": "later.demo.local"}}],
        },
    )
    mesh.records = [
        r
        for r in mesh.records
        if not (
            r["body"]["data"].get("virtualNodeName") == "front"
            and r["body"]["data"]["spec"]["listeners"]
        )
    ]
    snapshot = build_snapshot(mesh.view(), FRONT)
    assert snapshot.consistent()
    assert list(snapshot.as_dict()["Listener"]) == ["lds_egress_0.0.0.0_15001"]
