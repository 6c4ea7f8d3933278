"""What a change to a mesh would push to each proxy, before it is made (`meshway apply --dry-run`).

The mesh as the server has it and the mesh as it would be after the change are two `MeshView`s
(built from App Mesh records with `MeshView.from_records`); every virtual node and gateway of
either view is translated in both (`xds.translate.build_snapshot`, pure) and the Envoy resources
compared one by one. A proxy whose resources are all the same is not affected; for one that is,
each added, removed or changed resource is shown as a unified diff of its Envoy JSON (proto field
names, sorted keys). The same translation the server runs, so the diff is what would be pushed.
No I/O.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshway.model.appmesh.kinds import KINDS, KindName
from meshway.xds.translate import Shared, build_snapshot
from meshway.xds.view import Endpoint, MeshView, ProxyId

Specs = Mapping[tuple[str, str, str, str], Mapping[str, Any]]  # (kind, mesh, parent, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceChange:
    type: str  # Envoy's short type name: Cluster, RouteConfiguration, ...
    name: str
    change: str  # added, removed, changed
    diff: str  # unified diff of the JSON

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "name": self.name, "change": self.change, "diff": self.diff}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyDiff:
    proxy: str  # the node id: mesh/M/virtualNode/N
    changes: tuple[ResourceChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {"proxy": self.proxy, "changes": [c.to_json() for c in self.changes]}


def record(kind: str, mesh: str, parent: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A store-shaped App Mesh record (what `MeshView.from_records` reads)."""
    known = KINDS[KindName(kind)]
    data: dict[str, Any] = {"meshName": mesh, "spec": dict(spec)}
    if known.name is not KindName.MESH:
        data[known.name_member] = name
    if parent and known.parent is not None:
        data[KINDS[known.parent].name_member] = parent
    return {"kind": known.store_kind, "body": {"data": data}}


def view_of(
    mesh: str, specs: Specs, endpoints: Mapping[str, Iterable[Endpoint]] | None = None
) -> MeshView:
    records = [
        record(kind, scope or name, parent, name, spec)
        for (kind, scope, parent, name), spec in specs.items()
        if (scope or name) == mesh
    ]
    return MeshView.from_records(mesh, records, endpoints)


def _proxies(*views: MeshView) -> list[ProxyId]:
    found = {
        (kind, name)
        for view in views
        for kind, names in (
            (KindName.VIRTUAL_NODE, view.virtual_nodes),
            (KindName.VIRTUAL_GATEWAY, view.virtual_gateways),
        )
        for name in names
    }
    return [ProxyId(mesh=views[0].mesh, kind=kind, name=name) for kind, name in sorted(found)]


def _text(resource: Any) -> list[str]:
    return (json.dumps(resource, indent=2, sort_keys=True) + "\n").splitlines(keepends=True)


def _resource_change(type_name: str, name: str, old: Any, new: Any) -> ResourceChange | None:
    if old == new:
        return None
    change = "added" if old is None else "removed" if new is None else "changed"
    lines = difflib.unified_diff(
        _text(old) if old is not None else [],
        _text(new) if new is not None else [],
        fromfile=f"a/{type_name}/{name}",
        tofile=f"b/{type_name}/{name}",
    )
    return ResourceChange(type=type_name, name=name, change=change, diff="".join(lines))


def snapshot_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ResourceChange]:
    """Two `Snapshot.as_dict()`s → the resources that differ, by type then name."""
    changes = []
    for type_name in sorted({*old, *new}):
        before, after = old.get(type_name) or {}, new.get(type_name) or {}
        for name in sorted({*before, *after}):
            found = _resource_change(type_name, name, before.get(name), after.get(name))
            if found is not None:
                changes.append(found)
    return changes


def proxy_diffs(old: MeshView, new: MeshView) -> list[ProxyDiff]:
    """Every proxy of either view whose Envoy resources would change, with the changes."""
    old_shared, new_shared = Shared(old), Shared(new)
    diffs = []
    for proxy in _proxies(old, new):
        before = build_snapshot(old, proxy, old_shared).as_dict()
        after = build_snapshot(new, proxy, new_shared).as_dict()
        changes = snapshot_changes(before, after)
        if changes:
            diffs.append(ProxyDiff(proxy=proxy.node_id, changes=tuple(changes)))
    return diffs
