"""A change of routes only patches the mesh view it makes stale (sync.ViewCache): the patched
view is exactly what reading the whole mesh gives, and anything else still reads the mesh.
Against a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshway.model.appmesh.kinds import KINDS, KindName
from meshway.store.base import Record
from meshway.store.sql import SqlStore
from meshway.xds.sync import MeshRef, ViewCache, build_views

REF = MeshRef("111122223333", "us-west-2", "shop")
OTHER = MeshRef("111122223333", "us-west-2", "other")


def arn(ref: MeshRef, path: str = "") -> str:
    return ref.arn + path


def put(store: SqlStore, kind: KindName, ref: MeshRef, path: str, parent: str, data: Any) -> None:
    body = {"data": {"meshName": ref.mesh, **data}}
    with store.transaction() as tx:
        tx.put(Record(kind=KINDS[kind].store_kind, key=arn(ref, path), parent=parent, body=body))


def route(store: SqlStore, ref: MeshRef, name: str, weight: int) -> None:
    put(
        store,
        KindName.ROUTE,
        ref,
        f"/virtualRouter/r/route/{name}",
        arn(ref, "/virtualRouter/r"),
        {
            "virtualRouterName": "r",
            "routeName": name,
            "spec": {"httpRoute": {"action": {"weightedTargets": [{"weight": weight}]}}},
        },
    )


def mesh(store: SqlStore, ref: MeshRef) -> None:
    put(store, KindName.MESH, ref, "", "", {"spec": {}})
    for node in ("a", "b"):
        spec = {"listeners": [{"portMapping": {"port": 80, "protocol": "http"}}]}
        put(
            store,
            KindName.VIRTUAL_NODE,
            ref,
            f"/virtualNode/{node}",
            ref.arn,
            {"virtualNodeName": node, "spec": spec},
        )
    put(store, KindName.VIRTUAL_ROUTER, ref, "/virtualRouter/r", ref.arn, {
        "virtualRouterName": "r", "spec": {"listeners": []}})  # fmt: skip
    route(store, ref, "one", 100)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    found = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    mesh(found, REF)
    mesh(found, OTHER)
    yield found


def settle(store: SqlStore, views: ViewCache, revision: int) -> tuple[Any, int]:
    """Invalidate with the changes since `revision`, then get the views again."""
    changes = store.changes_since(revision)
    before = views.invalidate(changes)
    return before, changes[-1].revision if changes else revision


def test_a_route_change_patches_the_view_to_exactly_what_reading_the_mesh_gives(
    store: SqlStore,
) -> None:
    views = ViewCache(store)
    revision = store.revision()
    first = views.get({REF, OTHER})
    route(store, REF, "one", 0)  # updated
    route(store, REF, "two", 100)  # created
    before, revision = settle(store, views, revision)
    assert set(before) == {REF}
    now = views.get({REF, OTHER})
    assert now[OTHER] is first[OTHER]  # untouched mesh: kept
    assert now[REF].view == build_views(store, [REF])[REF]
    assert now[REF].view.virtual_nodes is first[REF].view.virtual_nodes  # patched, not read
    assert list(now[REF].view.routes_of("r")) == ["one", "two"]
    with store.transaction() as tx:
        tx.delete(KINDS[KindName.ROUTE].store_kind, arn(REF, "/virtualRouter/r/route/one"))
    settle(store, views, revision)
    after = views.get({REF})[REF].view
    assert after == build_views(store, [REF])[REF] and list(after.routes_of("r")) == ["two"]
    assert after.virtual_nodes is first[REF].view.virtual_nodes


def test_route_changes_before_the_view_is_read_again_accumulate_in_one_patch(
    store: SqlStore,
) -> None:
    views = ViewCache(store)
    revision = store.revision()
    first = views.get({REF})
    route(store, REF, "one", 10)
    _, revision = settle(store, views, revision)
    route(store, REF, "two", 20)
    settle(store, views, revision)
    now = views.get({REF})[REF].view
    assert now == build_views(store, [REF])[REF]
    assert now.virtual_nodes is first[REF].view.virtual_nodes


def test_any_other_change_in_the_mesh_reads_the_whole_mesh(store: SqlStore) -> None:
    views = ViewCache(store)
    revision = store.revision()
    first = views.get({REF})
    route(store, REF, "one", 10)
    _, revision = settle(store, views, revision)  # a patch is pending...
    put(store, KindName.VIRTUAL_NODE, REF, "/virtualNode/c", REF.arn, {
        "virtualNodeName": "c", "spec": {}})  # fmt: skip
    settle(store, views, revision)  # ...and a node change drops it
    now = views.get({REF})[REF].view
    assert now == build_views(store, [REF])[REF]
    assert now.virtual_nodes is not first[REF].view.virtual_nodes
    assert set(now.virtual_nodes) == {"a", "b", "c"}
    assert dict(now.routes_of("r"))["one"] == build_views(store, [REF])[REF].routes_of("r")["one"]
