"""The store's change feed → rebuild the proxies a change touches → the snapshot cache.

The server serves only what is in the cache; this keeps the cache right (DESIGN.md data flow 1):
- a change rebuilds only the connected proxies it reaches: the App Mesh changes name their mesh
  and an ECS task change (an endpoint came, went, or changed health) its account, which gives the
  candidate meshes; the mesh's view before and after the change then give the inputs that changed
  and, through each view's reverse index (`translate.affected`), the proxies that read them — a
  route change reaches the callers of its router's services and the gateways routing to them, an
  endpoint change the callers of that node. A proxy whose snapshot was built from another view
  than the one replaced (or a mesh with no view kept) is rebuilt anyway; the content hashes then
  make a proxy whose resources did not change receive nothing;
- the translation pieces every caller shares (a target's cluster and load assignment, egress
  routes and listener) are built once per view (`translate.Shared`, kept with the view);
- a proxy that connects is built before its first answer (`warm`, which the ADS server awaits);
  a node the store does not know gets the valid empty snapshot;
- changes are debounced (`debounce` seconds after the first) so a burst of API calls is one
  rebuild; rebuilds run in a worker thread (store reads and translation are synchronous).
Endpoints come from running tasks and from Cloud Map (`discovery.py`):
- a task whose Envoy container names a virtual node (APPMESH_RESOURCE_ARN /
  APPMESH_VIRTUAL_NODE_NAME) is an instance of that node at the task's address; it receives
  traffic while the task is RUNNING and not UNHEALTHY;
- a node with `awsCloudMap` discovery, or whose DNS hostname is a Cloud Map DNS name in the mesh
  owner's account and region, has the matching Cloud Map instances too (one endpoint per
  address; unhealthy when either source says so).
A node whose instances Meshway can know (those two, or some ACTIVE task definition's Envoy names
it) always has an entry in the view's endpoints, empty until instances exist, so its callers'
cluster for it is EDS from the start and never changes type when the first instance comes
(issue 5: Envoy cannot take an EDS ↔ DNS change while initialising). Other DNS nodes keep their
DNS cluster. So task definition and Cloud Map changes touch the meshes of their account, as task
changes do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from types import MappingProxyType
from typing import Any

from meshway.model.appmesh.kinds import KINDS, KindName, parse_arn
from meshway.model.ecs.tasks import task_address
from meshway.model.servicediscovery import records as sd
from meshway.service.ecs.base import RUNNING_PHASE, TASK, TASK_DEFINITION, tasks_in
from meshway.store.base import Change, Record, Store, Transaction
from meshway.xds.cache import SnapshotCache
from meshway.xds.discovery import CloudMap, cloud_map_endpoints, merge
from meshway.xds.translate import Shared, build_snapshot
from meshway.xds.translate.affected import affected_proxies, changed_refs, reverse_index
from meshway.xds.view import Endpoint, MeshView, ProxyId, freeze

log = logging.getLogger(__name__)

DEBOUNCE = 0.003  # seconds; istiod waits 100 ms. One API call is one commit (one wake-up), so
# this only gathers calls made together; a rebuild of a route change costs ~20 ms here, not 100
PUBLISH_CHUNK = 32  # proxies built before their snapshots are published together
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


# Kinds whose changes touch every mesh of their account: where endpoints come from.
_ACCOUNT_KINDS = frozenset({TASK, TASK_DEFINITION, sd.NAMESPACE, sd.SERVICE, sd.INSTANCE})


def _touched(changes: Iterable[Change]) -> tuple[set[str], set[str]]:
    """The mesh ARNs App Mesh changes touched, and the accounts that task, task definition and
    Cloud Map changes touched (their keys are ARNs, or start with one)."""
    meshes: set[str] = set()
    accounts: set[str] = set()
    for change in changes:
        if change.kind.startswith("appmesh."):
            rid = parse_arn(change.key)
            if rid is not None:
                meshes.add(MeshRef(rid.account, rid.region, rid.mesh).arn)
        elif change.kind in _ACCOUNT_KINDS:
            accounts.add(change.key.split(":")[4] if change.key.count(":") >= 5 else "")
    return meshes, accounts


_ROUTE_KIND = KINDS[KindName.ROUTE].store_kind


def _route_only(changes: Iterable[Change]) -> dict[str, set[str]]:
    """Mesh ARN → the routes changed in it, for the meshes whose only changes are routes and
    whose account no endpoint change touched: their views can be patched instead of read."""
    changes = list(changes)
    meshes, accounts = _touched(changes)
    routes: dict[str, set[str]] = {m: set() for m in meshes}
    for change in changes:
        if not change.kind.startswith("appmesh."):
            continue
        rid = parse_arn(change.key)
        if rid is None:
            continue
        arn = MeshRef(rid.account, rid.region, rid.mesh).arn
        if change.kind != _ROUTE_KIND or rid.account in accounts:
            routes.pop(arn, None)
        elif arn in routes:
            routes[arn].add(change.key)
    return routes


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


def named_nodes(definitions: Iterable[Mapping[str, Any]]) -> set[tuple[MeshRef, str]]:
    """The virtual nodes the Envoy containers of ACTIVE task definitions name: nodes whose
    instances will come from tasks."""
    found = set()
    for definition in definitions:
        if definition.get("status") != "ACTIVE":
            continue
        _, _, _, region, account, _ = str(definition["taskDefinitionArn"]).split(":", 5)
        for container in definition.get("containerDefinitions") or ():
            named = node_of_container(container, {}, account, region)
            if named is not None:
                found.add(named)
    return found


def node_endpoints(
    mesh: MeshRef,
    records: Iterable[Mapping[str, Any]],
    tasks: Mapping[tuple[MeshRef, str], list[Endpoint]],
    named: set[tuple[MeshRef, str]],
    cloud_map: CloudMap,
) -> dict[str, tuple[Endpoint, ...]]:
    """The endpoints of a mesh's nodes: an entry (maybe empty) for every node whose instances
    Meshway can know, merged from tasks and Cloud Map."""
    node_kind = KINDS[KindName.VIRTUAL_NODE].store_kind
    mesh_spec: Mapping[str, Any] = {}
    specs: dict[str, Mapping[str, Any]] = {}
    for record in records:
        data = (record.get("body") or {}).get("data") or {}
        if record.get("kind") == KINDS[KindName.MESH].store_kind:
            mesh_spec = data.get("spec") or {}
        elif record.get("kind") == node_kind:
            specs[str(data[KINDS[KindName.VIRTUAL_NODE].name_member])] = data.get("spec") or {}
    found: dict[str, tuple[Endpoint, ...]] = {}
    for (ref, node), endpoints in tasks.items():
        if ref == mesh:
            found[node] = tuple(endpoints)
    for ref, node in named:
        if ref == mesh:
            found.setdefault(node, ())
    for node, spec in specs.items():
        mapped = cloud_map_endpoints(spec, mesh_spec, cloud_map)
        if mapped is not None:
            found[node] = merge(found.get(node, ()), mapped)
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


def _cloud_map(tx: Transaction, account: str, region: str) -> CloudMap:
    scope = sd.CloudMapScope(region=region, account=account)
    namespaces = tx.find(sd.NAMESPACE, parent=scope.key)
    services = [s for ns in namespaces for s in tx.find(sd.SERVICE, parent=ns.key)]
    # NOTE: one query for every instance, not one per service: a thousand services cost one
    # read (measured: 0.8 s → a few ms for 1,000 services' build).
    keys = {s.key for s in services}
    instances = [i for i in tx.find(sd.INSTANCE) if i.parent in keys] if keys else []
    return CloudMap.of(
        (r.body for r in namespaces), (r.body for r in services), (r.body for r in instances)
    )


def build_views(store: Store, meshes: Iterable[MeshRef]) -> dict[MeshRef, MeshView]:
    """One consistent read: the views of these meshes, with their endpoints."""
    with store.read() as tx:
        tasks = task_endpoints(_live_tasks(tx))
        named = named_nodes(r.body for r in tx.find(TASK_DEFINITION))
        cloud_maps: dict[tuple[str, str], CloudMap] = {}
        views = {}
        for mesh in meshes:
            scope = (mesh.account, mesh.region)
            if scope not in cloud_maps:
                cloud_maps[scope] = _cloud_map(tx, *scope)
            records = _records(tx, mesh)
            mine = node_endpoints(mesh, records, tasks, named, cloud_maps[scope])
            views[mesh] = MeshView.from_records(mesh.mesh, records, mine)
    return views


def patch_routes(tx: Transaction, view: MeshView, keys: Iterable[str]) -> MeshView:
    """`view` with the routes `keys` as the store holds them now (gone when deleted); every
    other part of the view is the very same object, so comparing views stays cheap."""
    routes = {router: dict(specs) for router, specs in view.routes.items()}
    store_kind = KINDS[KindName.ROUTE]
    for key in sorted(keys):
        rid = parse_arn(key)
        if rid is None or rid.kind is not KindName.ROUTE:
            continue
        record = tx.get(_ROUTE_KIND, key)
        data = ((record.body if record is not None else None) or {}).get("data") or {}
        named = routes.setdefault(rid.parent_name, {})
        if data.get("meshName") == view.mesh and data.get(store_kind.name_member) == rid.name:
            named[rid.name] = freeze(data.get("spec") or {})
        else:
            named.pop(rid.name, None)
    return replace(
        view,
        routes=MappingProxyType(
            {
                router: MappingProxyType(dict(sorted(specs.items())))
                for router, specs in sorted(routes.items())
                if specs
            }
        ),
    )


class ViewCache:
    """Mesh views, read once and kept until a change touches them, each with its shared
    translation pieces (`Shared`): a proxy connecting costs a translation, not a read of its
    whole mesh. A change of routes only patches the view it replaces (reads those routes, not
    the mesh: `narrow` then costs a few routes' read, not the mesh's). Thread-safe; a view read
    while an invalidation happened is used once but not kept."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._views: dict[MeshRef, Shared] = {}
        self._replaced: dict[MeshRef, Shared] = {}  # the last dropped view: its lasting pieces
        # a dropped view that only route changes made stale, and those routes' keys
        self._patches: dict[MeshRef, tuple[MeshView, frozenset[str]]] = {}
        self._generation = 0

    def get(self, meshes: Iterable[MeshRef]) -> dict[MeshRef, Shared]:
        with self._lock:
            found = {m: self._views[m] for m in meshes if m in self._views}
            generation = self._generation
            replaced = dict(self._replaced)
            missing = set(meshes) - found.keys()
            patches = {ref: self._patches[ref] for ref in missing if ref in self._patches}
        if missing:
            views = dict(_patched_views(self._store, patches))
            if missing - views.keys():
                views.update(build_views(self._store, missing - views.keys()))
            fresh = {ref: Shared(view, replaced.get(ref)) for ref, view in views.items()}
            with self._lock:
                if generation == self._generation:
                    self._views.update(fresh)
                    for ref in fresh:  # the new view holds what it took over
                        self._replaced.pop(ref, None)
                        self._patches.pop(ref, None)
            found.update(fresh)
        return found

    def invalidate(self, changes: Iterable[Change]) -> dict[MeshRef, Shared]:
        """Drop the views the changes touch; returns what was dropped (the views before)."""
        changes = list(changes)
        meshes, accounts = _touched(changes)
        routes = _route_only(changes)
        dropped = {}
        with self._lock:
            self._generation += 1
            for ref in list(self._views):
                if ref.arn in meshes or ref.account in accounts:
                    dropped[ref] = self._views.pop(ref)
            self._replaced.update(dropped)
            for ref, (view, keys) in list(self._patches.items()):  # not rebuilt yet
                if ref.arn in routes:
                    self._patches[ref] = (view, keys | routes[ref.arn])
                elif ref.arn in meshes or ref.account in accounts:
                    del self._patches[ref]
            for ref, shared in dropped.items():
                if ref.arn in routes:
                    self._patches[ref] = (shared.view, frozenset(routes[ref.arn]))
        return dropped


def _patched_views(
    store: Store, patches: Mapping[MeshRef, tuple[MeshView, frozenset[str]]]
) -> dict[MeshRef, MeshView]:
    if not patches:
        return {}
    with store.read() as tx:
        return {ref: patch_routes(tx, view, keys) for ref, (view, keys) in patches.items()}


def _index(shared: Shared) -> Mapping[tuple[str, ...], frozenset[tuple[KindName, str]]]:
    return shared.get(("reverse-index",), partial(reverse_index, shared.view))


def narrow(
    views: ViewCache,
    keys: Iterable[str],
    before: Mapping[MeshRef, Shared],
    built: dict[str, MeshView],
) -> list[str]:
    """Of the candidate `keys` (connected proxies of the touched meshes), those the change
    reaches: read by an input that differs between the view before and now, or built from
    another view than the one before (or no view before: all of them). A key the change does
    not reach is noted in `built` as built from the view now: its snapshot is what that view
    gives."""
    targets = [(key, found) for key in keys if (found := mesh_of_key(key)) is not None]
    now = views.get({ref for _, (ref, _) in targets})
    reached: dict[MeshRef, set[tuple[KindName, str]]] = {}
    for ref, current in now.items():
        previous = before.get(ref)
        if previous is not None:
            changed = changed_refs(previous.view, current.view)
            reached[ref] = affected_proxies(changed, _index(previous), _index(current))
    reaching = []
    for key, (ref, proxy) in targets:
        previous = before.get(ref)
        if (
            previous is None
            or built.get(key) is not previous.view
            or (proxy.kind, proxy.name) in reached[ref]
        ):
            reaching.append(key)
        else:
            built[key] = now[ref].view
    return sorted(reaching)


def rebuild(
    views: ViewCache,
    cache: SnapshotCache,
    keys: Iterable[str],
    level: int = logging.DEBUG,
    built: dict[str, MeshView] | None = None,
) -> int:
    """Build and publish the snapshots of `keys`; returns how many changed. They are published
    in chunks, each built whole before any of it is published: the streams pushing one chunk
    then do not slow the building of the next one much (they share the GIL), and the first
    proxies do not wait for the last ones. `built` notes the view each key's snapshot came
    from."""
    started = time.perf_counter()
    targets = [(key, found) for key in keys if (found := mesh_of_key(key)) is not None]
    found_views = views.get({ref for _, (ref, _) in targets})
    read = time.perf_counter()
    changed = 0
    for first in range(0, len(targets), PUBLISH_CHUNK):
        snapshots = []
        for key, (ref, proxy) in targets[first : first + PUBLISH_CHUNK]:
            shared = found_views[ref]
            snapshots.append((key, build_snapshot(shared.view, proxy, shared)))
            if built is not None:
                built[key] = shared.view
        published, rejected = cache.set_snapshots(snapshots)
        changed += published
        for key, problems in rejected:
            log.error("not publishing an inconsistent snapshot for %s: %s", key, problems)
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
        self._built: dict[str, MeshView] = {}  # key → the view its snapshot was built from
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
            await asyncio.to_thread(rebuild, self._views, self._cache, keys, built=self._built)
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
        before = self._views.invalidate(changes)
        watched = self._cache.watched_keys()
        for gone in self._built.keys() - set(watched):
            del self._built[gone]
        candidates = affected(changes, watched)
        if not candidates:
            return
        started = time.perf_counter()
        keys = await asyncio.to_thread(narrow, self._views, candidates, before, self._built)
        log.info("xDS change: %d connected proxies in the meshes touched, %d reached (%.1f ms)",
                 len(candidates), len(keys), (time.perf_counter() - started) * 1000)  # fmt: skip
        if keys:
            await asyncio.to_thread(
                rebuild, self._views, self._cache, keys, logging.INFO, self._built
            )
