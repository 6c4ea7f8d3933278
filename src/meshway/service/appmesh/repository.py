"""App Mesh resources in the store: one record per resource, plus reference records.

A resource record's body is `{"data": <XxxData wire form>, "tags": [TagRef...]}`. A reference
record (`appmesh.ref`) says "source names target" and hangs under the target's ARN, so "is this
node still in use?" is one indexed count, not a scan of every route in the mesh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshway.core.errors import NotFoundException
from meshway.model.appmesh.kinds import KINDS, KindName, ResourceId, mesh_scope
from meshway.store.base import Record, Transaction

REF_KIND = "appmesh.ref"


def parent_key(rid: ResourceId) -> str:
    parent = rid.parent()
    return parent.arn() if parent is not None else mesh_scope(rid.account, rid.region)


def describe_name(rid: ResourceId) -> str:
    kind = KINDS[rid.kind]
    if rid.kind is KindName.MESH:
        return f"Mesh '{rid.mesh}'"
    return f"{kind.title} '{rid.name}' in mesh '{rid.mesh}'"


def load(tx: Transaction, rid: ResourceId) -> Record | None:
    return tx.get(KINDS[rid.kind].store_kind, rid.arn())


def require(tx: Transaction, rid: ResourceId) -> Record:
    record = load(tx, rid)
    if record is None:
        raise NotFoundException(f"{describe_name(rid)} does not exist.")
    return record


def save(
    tx: Transaction, rid: ResourceId, data: Mapping[str, Any], tags: list[dict[str, str]]
) -> None:
    kind = KINDS[rid.kind]
    tx.put(
        Record(
            kind=kind.store_kind,
            key=rid.arn(),
            parent=parent_key(rid),
            name=rid.name or rid.mesh,
            body={"data": data, "tags": tags},
        )
    )


def remove(tx: Transaction, rid: ResourceId) -> None:
    tx.delete(KINDS[rid.kind].store_kind, rid.arn())
    set_references(tx, rid, [])


def count_children(tx: Transaction, rid: ResourceId, kind: KindName) -> int:
    return tx.count(KINDS[kind].store_kind, rid.arn())


def set_references(tx: Transaction, source: ResourceId, targets: list[ResourceId]) -> None:
    """Replace what `source` references with `targets` (no write when they are the same)."""
    source_arn = source.arn()
    old = {ref.key for ref in tx.find(REF_KIND, name=source_arn)}
    new = {f"{target.arn()}|{source_arn}": target for target in targets}
    for key in old - new.keys():
        tx.delete(REF_KIND, key)
    for key in sorted(new.keys() - old):
        tx.put(Record(kind=REF_KIND, key=key, parent=new[key].arn(), name=source_arn, body={}))


def referrers(tx: Transaction, target: ResourceId) -> list[str]:
    """ARNs of the resources whose specs name `target`."""
    return [ref.name for ref in tx.find(REF_KIND, parent=target.arn())]
