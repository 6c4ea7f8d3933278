"""The store's change feed → rebuild the proxies a change touches → the snapshot cache.

The server serves only what is in the cache; this keeps the cache right (DESIGN.md data flow 1):
- an App Mesh change rebuilds every connected proxy of that mesh (the content hashes then make a
  proxy the change does not reach receive nothing); an ECS task change (an endpoint came, went,
  or changed health) rebuilds the connected proxies of that account;
- a proxy that connects is built before its first answer (`warm`, which the ADS server awaits);
  a node the store does not know gets the valid empty snapshot;
- changes are debounced (`debounce` seconds after the first) so a burst of API calls is one
  rebuild; rebuilds run in a worker thread (store reads and translation are synchronous).
Endpoints come from running tasks: a task whose Envoy container names a virtual node
(APPMESH_RESOURCE_ARN / APPMESH_VIRTUAL_NODE_NAME) is an instance of that node at the task's
address; it receives traffic while the task is RUNNING and not UNHEALTHY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshway.model.appmesh.kinds import KINDS, KindName, parse_arn
from meshway.model.ecs.tasks import ENI_ATTACHMENT
from meshway.service.ecs.base import RUNNING_PHASE, TASK, TASK_DEFINITION, tasks_in
from meshway.store.base import Change, Record, Store, Transaction
from meshway.xds.cache import InconsistentSnapshotError, SnapshotCache
from meshway.xds.translate import build_snapshot
from meshway.xds.view import Endpoint, MeshView, ProxyId

log = logging.getLogger(__name__)

DEBOUNCE = 0.01  # seconds; istiod waits 100 ms, a local control plane can be quicker
NODE_VARIABLES = ("APPMESH_RESOURCE_ARN", "APPMESH_RESOURCE_NAME", "APPMESH_VIRTUAL_NODE_NAME")
_MESH_CHILDREN = (
    KindName.VIRTUAL_NODE,
    KindName.VIRTUAL_ROUTER,
    KindName.VIRTUAL_SERVICE,
    KindName.VIRTUAL_GATEWAY,
)


@dataclass(frozen=True, slots=True)
class MeshRef:
    account: str
    region: str
    mesh: str

    @property
    def arn(self) -> str:
        return f"arn:aws:appmesh:{self.region}:{self.account}:mesh/{self.mesh}"


def mesh_of_key(key: str) -> tuple[MeshRef, ProxyId] | None:
    """A cache key (a virtual node or gateway ARN, see nodes.py) → its mesh and proxy."""
    proxy = ProxyId.parse(key)
    if proxy is None or proxy.account is None or proxy.region is None:
        return None
    return MeshRef(proxy.account, proxy.region, proxy.mesh), proxy


# -- which keys a change touches (pure) -----------------------------------------------------


def _touched(changes: Iterable[Change]) -> tuple[set[str], set[str]]:
    """The mesh ARNs App Mesh changes touched, and the accounts task changes touched."""
    meshes: set[str] = set()
    accounts: set[str] = set()
    for change in changes:
        if change.kind.startswith("appmesh."):
            rid = parse_arn(change.key)
            if rid is not None:
                meshes.add(MeshRef(rid.account, rid.region, rid.mesh).arn)
        elif change.kind == TASK:
            accounts.add(change.key.split(":")[4] if change.key.count(":") >= 5 else "")
    return meshes, accounts


def affected(changes: Iterable[Change], keys: Iterable[str]) -> set[str]:
    meshes, accounts = _touched(changes)
    found = set()
    for key in keys:
        ref = mesh_of_key(key)
        if ref is not None and (ref[0].arn in meshes or ref[0].account in accounts):
            found.add(key)
    return found


# -- endpoints from tasks (pure) ------------------------------------------------------------


def _pairs(items: Any) -> dict[str, str]:
    return {str(i["name"]): str(i.get("value", "")) for i in items or ()}


def node_of_container(
    container: Mapping[str, Any], override: Mapping[str, Any], account: str, region: str
) -> tuple[MeshRef, str] | None:
    """The virtual node a container's environment names (the sidecar's node id), if any."""
    env = {**_pairs(container.get("environment")), **_pairs(override.get("environment"))}
    node_id = next((env[v] for v in NODE_VARIABLES if env.get(v)), "")
    proxy = ProxyId.parse(node_id) if node_id else None
    if proxy is None or proxy.kind is not KindName.VIRTUAL_NODE:
        return None
    return MeshRef(proxy.account or account, proxy.region or region, proxy.mesh), proxy.name


def task_address(task: Mapping[str, Any]) -> str | None:
    for attachment in task.get("attachments") or ():
        if attachment.get("type") == ENI_ATTACHMENT:
            details = {d["name"]: d["value"] for d in attachment.get("details") or ()}
            return details.get("privateIPv4Address")
    return None


def task_endpoints(
    tasks: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[tuple[MeshRef, str], list[Endpoint]]:
    """(task, task definition) pairs → the instances of each (mesh, virtual node)."""
    found: dict[tuple[MeshRef, str], list[Endpoint]] = {}
    for task, definition in tasks:
        address = task_address(task)
        if task.get("lastStatus") != "RUNNING" or not address:
            continue
        _, _, _, region, account, _ = str(task["taskArn"]).split(":", 5)
        overrides = {
            o.get("name"): o for o in (task.get("overrides") or {}).get("containerOverrides") or ()
        }
        for container in definition.get("containerDefinitions") or ():
            named = node_of_container(container, overrides.get(container.get("name")) or {},
                                      account, region)  # fmt: skip
            if named is not None:
                healthy = task.get("healthStatus") != "UNHEALTHY"
                found.setdefault(named, []).append(Endpoint(address=address, healthy=healthy))
                break
    return found


# -- reading the store -----------------------------------------------------------------------


def _records(tx: Transaction, mesh: MeshRef) -> list[dict[str, Any]]:
    found: list[Record] = []
    record = tx.get(KINDS[KindName.MESH].store_kind, mesh.arn)
    if record is not None:
        found.append(record)
    for kind in _MESH_CHILDREN:
        found += tx.find(KINDS[kind].store_kind, parent=mesh.arn)
    for parent_kind, kind in (
        (KindName.VIRTUAL_ROUTER, KindName.ROUTE),
        (KindName.VIRTUAL_GATEWAY, KindName.GATEWAY_ROUTE),
    ):
        for parent in [r for r in found if r.kind == KINDS[parent_kind].store_kind]:
            found += tx.find(KINDS[kind].store_kind, parent=parent.key)
    return [{"kind": r.kind, "body": r.body} for r in found]


def _live_tasks(tx: Transaction) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    pairs = []
    for record in tasks_in(tx, (RUNNING_PHASE,)):
        definition = tx.get(TASK_DEFINITION, str(record.body.get("taskDefinitionArn")))
        if definition is not None:
            pairs.append((record.body, definition.body))
    return pairs


def build_views(store: Store, meshes: Iterable[MeshRef]) -> dict[MeshRef, MeshView]:
    """One consistent read: the views of these meshes, with their endpoints."""
    with store.read() as tx:
        endpoints = task_endpoints(_live_tasks(tx))
        views = {}
        for mesh in meshes:
            mine = {node: eps for (ref, node), eps in endpoints.items() if ref == mesh}
            views[mesh] = MeshView.from_records(mesh.mesh, _records(tx, mesh), mine)
    return views


class ViewCache:
    """Mesh views, read once and kept until a change touches them: a proxy connecting costs a
    translation, not a read of its whole mesh. Thread-safe; a view read while an invalidation
    happened is used once but not kept."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._views: dict[MeshRef, MeshView] = {}
        self._generation = 0

    def get(self, meshes: Iterable[MeshRef]) -> dict[MeshRef, MeshView]:
        with self._lock:
            found = {m: self._views[m] for m in meshes if m in self._views}
            generation = self._generation
        missing = set(meshes) - found.keys()
        if missing:
            fresh = build_views(self._store, missing)
            with self._lock:
                if generation == self._generation:
                    self._views.update(fresh)
            found.update(fresh)
        return found

    def invalidate(self, changes: Iterable[Change]) -> None:
        meshes, accounts = _touched(changes)
        with self._lock:
            self._generation += 1
            for ref in list(self._views):
                if ref.arn in meshes or ref.account in accounts:
                    del self._views[ref]


def rebuild(
    views: ViewCache, cache: SnapshotCache, keys: Iterable[str], level: int = logging.DEBUG
) -> int:
    """Build and publish the snapshots of `keys`; returns how many changed."""
    started = time.perf_counter()
    targets = [(key, found) for key in keys if (found := mesh_of_key(key)) is not None]
    found_views = views.get({ref for _, (ref, _) in targets})
    read = time.perf_counter()
    changed = 0
    for key, (ref, proxy) in targets:
        try:
            changed += cache.set_snapshot(key, build_snapshot(found_views[ref], proxy))
        except InconsistentSnapshotError:
            log.exception("not publishing an inconsistent snapshot for %s", key)
    done = time.perf_counter()
    log.log(
        level,
        "xDS rebuild: %d proxies, %d changed; read %.1f ms, translate+publish %.1f ms",
        len(targets), changed, (read - started) * 1000, (done - read) * 1000,
    )  # fmt: skip
    return changed


class XdsSync:
    """Follows the change feed and keeps the connected proxies' snapshots current."""

    def __init__(self, store: Store, cache: SnapshotCache, *, debounce: float = DEBOUNCE):
        self._store = store
        self._cache = cache
        self._debounce = debounce
        self._revision = 0
        self._views = ViewCache(store)
        self._warm_keys: set[str] = set()
        self._warm_batch: asyncio.Future[None] | None = None
        self._warm_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._revision = await asyncio.to_thread(self._store.revision)

        def on_commit(_: int) -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self._unsubscribe = self._store.subscribe(on_commit)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._debounce)
            self._wake.clear()
            try:
                await self._step()
            except Exception:
                log.exception("xDS rebuild failed")

    async def warm(self, key: str) -> None:
        """Build a proxy's snapshot now (it just connected). Proxies connecting together share
        one rebuild, so a thousand Envoys reconnecting read the store once, not a thousand
        times."""
        self._warm_keys.add(key)
        if self._warm_batch is None:
            self._warm_batch = asyncio.get_running_loop().create_future()
            self._warm_task = asyncio.create_task(self._warm_batch_run(self._warm_batch))
        await asyncio.shield(self._warm_batch)

    async def _warm_batch_run(self, batch: asyncio.Future[None]) -> None:
        await asyncio.sleep(0)  # streams that connected in this same loop pass join the batch
        keys, self._warm_keys, self._warm_batch = sorted(self._warm_keys), set(), None
        try:
            await asyncio.to_thread(rebuild, self._views, self._cache, keys)
            batch.set_result(None)
        except Exception as error:
            batch.set_exception(error)

    def _changes(self) -> list[Change]:
        found: list[Change] = []
        while batch := self._store.changes_since(self._revision):
            found += batch
            self._revision = batch[-1].revision
        return found

    async def _step(self) -> None:
        changes = await asyncio.to_thread(self._changes)
        self._views.invalidate(changes)
        keys = affected(changes, self._cache.watched_keys())
        if keys:
            await asyncio.to_thread(rebuild, self._views, self._cache, sorted(keys), logging.INFO)
