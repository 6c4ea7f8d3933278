"""The console's read models of App Mesh resources and ECS tasks, straight from the store.

Documents are the API's wire form (what Describe* answers), so a person sees in the console
exactly what `aws appmesh describe-...` would print. Read-only: one read transaction per view.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meshway.model.appmesh.kinds import KINDS, KindName, parse_arn
from meshway.runtime.logs import containers_with_logs, log_files, tail
from meshway.store.base import Record, Transaction, iter_all
from meshway.store.sql import SqlStore
from meshway.store.traces import segments

TASK = "ecs.task"  # service/ecs/base.py names the kind; the console only reads it
TASK_LIMIT = 200  # the newest tasks a list shows
LOG_LINES = 100

_MESH_CHILDREN = (
    KindName.VIRTUAL_SERVICE,
    KindName.VIRTUAL_ROUTER,
    KindName.VIRTUAL_NODE,
    KindName.VIRTUAL_GATEWAY,
)


def resource(record: Record) -> dict[str, Any]:
    body = record.body
    return {"arn": record.key, "data": body.get("data", {}), "tags": body.get("tags", [])}


def list_meshes(store: SqlStore) -> list[dict[str, Any]]:
    with store.read() as tx:
        found = [resource(r) for r in iter_all(tx, KINDS[KindName.MESH].store_kind)]
    for mesh in found:
        rid = parse_arn(mesh["arn"])
        mesh["account"] = rid.account if rid else ""
        mesh["region"] = rid.region if rid else ""
    return found


def _children(tx: Transaction, kind: KindName, parent: str) -> list[dict[str, Any]]:
    return [resource(r) for r in iter_all(tx, KINDS[kind].store_kind, parent)]


def mesh_view(store: SqlStore, arn: str) -> dict[str, Any] | None:
    """A mesh and every resource in it (routes under their routers, gateway routes under their
    gateways), or None when there is no such mesh."""
    rid = parse_arn(arn)
    if rid is None or rid.kind is not KindName.MESH:
        return None
    with store.read() as tx:
        mesh = tx.get(KINDS[KindName.MESH].store_kind, arn)
        if mesh is None:
            return None
        out: dict[str, Any] = {"mesh": resource(mesh)}
        for kind in _MESH_CHILDREN:
            out[KINDS[kind].list_member] = _children(tx, kind, arn)
        out["routes"] = [
            route
            for router in out["virtualRouters"]
            for route in _children(tx, KindName.ROUTE, router["arn"])
        ]
        out["gatewayRoutes"] = [
            route
            for gateway in out["virtualGateways"]
            for route in _children(tx, KindName.GATEWAY_ROUTE, gateway["arn"])
        ]
    return out


def public_task(body: Mapping[str, Any]) -> dict[str, Any]:
    """The task as DescribeTasks shows it (the runtime's private `_` keys left out)."""
    out = {k: v for k, v in body.items() if not k.startswith("_")}
    out["taskId"] = str(body.get("taskArn", "")).rsplit("/", 1)[-1]
    return out


def list_tasks(store: SqlStore, limit: int = TASK_LIMIT) -> list[dict[str, Any]]:
    """The newest tasks of every cluster, account and region, newest first."""
    with store.read() as tx:
        records = list(iter_all(tx, TASK))
    return [public_task(r.body) for r in reversed(records[-limit:])]


def task_view(
    store: SqlStore, state_dir: Path | None, arn: str, lines: int = LOG_LINES
) -> dict[str, Any] | None:
    """One task with the tail of each container's stdout and stderr."""
    with store.read() as tx:
        record = tx.get(TASK, arn)
    if record is None:
        return None
    task = public_task(record.body)
    task["logs"] = task_logs(state_dir, task["taskId"], lines) if state_dir else {}
    return task


def task_logs(state_dir: Path, task_id: str, lines: int) -> dict[str, dict[str, list[str]]]:
    logs = {}
    for container in containers_with_logs(state_dir, task_id):
        files = log_files(state_dir, task_id, container)
        logs[container] = {"stdout": tail(files.stdout, lines), "stderr": tail(files.stderr, lines)}
    return logs


def scopes(store: SqlStore) -> list[dict[str, str]]:
    """Every (account, region) that holds a mesh, a task or a trace: the console's scope menu."""
    found: set[tuple[str, str]] = set()
    for mesh in list_meshes(store):
        found.add((mesh["account"], mesh["region"]))
    with store.read() as tx:
        for record in iter_all(tx, TASK):
            parts = record.key.split(":")
            if len(parts) > 4:
                found.add((parts[4], parts[3]))
    query = sa.select(segments.c.account, segments.c.region).distinct()
    with store.engine.connect() as conn:
        found.update((str(a), str(r)) for a, r in conn.execute(query))
    return [{"account": a, "region": r} for a, r in sorted(found) if a and r]
