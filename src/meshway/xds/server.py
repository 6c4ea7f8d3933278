"""The ADS server: State-of-the-World and Delta xDS over one gRPC stream per Envoy.

It knows only the snapshot cache (STYLE.md principle 3) and keeps the protocol straight
(https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol):
- responses go out in push order, each once the earlier types' last responses are ACKed or
  NACKed (endpoints do not wait for clusters, nor routes for listeners: Envoy ACKs those only
  when warm), so new clusters are warm before routes use them; one response in flight per type;
- ACK = the last nonce and no error_detail; NACK = the last nonce with error_detail — recorded
  in the status board and never answered by re-sending the rejected config (the previous config
  keeps serving); a request with an older nonce is stale and ignored;
- versions are content hashes, so a change that alters nothing sends nothing, and a reconnecting
  Envoy that already holds the current version gets no push (SotW `version_info`, Delta
  `initial_resource_versions`);
- push order clusters → endpoints → listeners → routes; clusters (and their endpoints) that
  left the snapshot stay until the listeners and routes that might use them are ACKed ("make
  before break"), and stay for good if those were NACKed;
- a node nobody published a snapshot for gets a valid empty one at once;
- while an Envoy initialises its clusters (until it asks for listeners), a cluster never changes
  between EDS and another type: that change waits, as Envoy 1.40 never finishes initialising
  otherwise (issue 5, `hold_phase_changes`).
Streams are authorised (issue 9, `credentials.py`): with credentials, a stream opens only with
a token that verifies, its first request's node must be the one the token names, and no later
request may name another node; a refused stream gets nothing and is logged and counted.
Neighbours: `cache.py` (what to serve), `status.py` (what happened), `sync.py` (who publishes).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# NOTE: the server forks container processes while gRPC threads run; gRPC's fork handlers only
# log "skipping fork() handlers" at every spawn (and a handler in a forked child can crash it
# before its exec). The children exec at once and never use gRPC, so the handlers are off.
# Read when grpc is first imported: this module is that import in `meshway server`.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from meshway.xds.cache import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    PUSH_ORDER,
    ROUTE,
    WILDCARD_TYPES,
    Entry,
    Resource,
    SnapshotCache,
    set_version,
)
from meshway.xds.credentials import (
    Credential,
    ProxyCredentials,
    RefusedStreamError,
    authenticate,
    token_of,
)
from meshway.xds.status import StatusBoard

log = logging.getLogger(__name__)

KeyOf = Callable[[base_pb2.Node], str]
Warm = Callable[[str], Awaitable[None]]
WARM_TIMEOUT = 2.0  # seconds a new proxy's first answer may wait for its snapshot
REFUSAL_READ_TIMEOUT = 2.0  # seconds an unauthenticated stream may take to send its node
_END = object()
_CHANGED = object()
STALE_KEPT = (CLUSTER, ENDPOINT)
ROUTING = (LISTENER, ROUTE)
# NOTE: Envoy ACKs clusters only once they are warm, i.e. once their endpoints arrived (and
# listeners once their routes did), so endpoints may not wait for the clusters' ACK, nor routes
# for the listeners'. Everything else waits for every earlier type.
WARMS = {ENDPOINT: CLUSTER, ROUTE: LISTENER}


def _blocked(type_url: str, in_flight: set[str]) -> bool:
    return bool(in_flight - {WARMS.get(type_url, "")})


def node_id_key(node: base_pb2.Node) -> str:
    return str(node.id)


def _order(types: Iterable[str]) -> list[str]:
    present = set(types)
    return [t for t in PUSH_ORDER if t in present] + sorted(present - set(PUSH_ORDER))


def _is_nack(request: Any) -> bool:
    return bool(request.HasField("error_detail")) and bool(
        request.error_detail.code or request.error_detail.message
    )


@dataclass(slots=True)
class _TypeState:
    requested: bool = False
    nonce: str = ""
    outstanding: bool = False
    nacked: bool = False
    sent_version: str | None = None
    sent_mono: float = 0.0
    # SotW
    names: frozenset[str] | None = None  # None: wildcard
    sent: dict[str, Resource] = field(default_factory=dict)
    client_version: str = ""  # version_info of a reconnecting client's first request
    again: bool = False  # the client asked again with nothing in flight: answer even if unchanged
    # Delta
    wildcard: bool = False
    subscribed: set[str] = field(default_factory=set)
    known: dict[str, str] = field(default_factory=dict)  # name → version the client holds


class _Stream:
    """What both protocols share: the queue that merges requests with cache wake-ups, the
    node → cache key mapping, nonces, the status board."""

    protocol = ""
    credential: Credential | None = None  # set by the servicer when streams are authorised

    def __init__(
        self,
        cache: SnapshotCache,
        board: StatusBoard,
        key_of: KeyOf,
        peer: str,
        warm: Warm | None = None,
    ):
        self.cache = cache
        self.board = board
        self.key_of = key_of
        self.peer = peer
        self.warm = warm
        self._warmed = False
        self.key: str | None = None
        self.stream_id = 0
        self.states: dict[str, _TypeState] = {}
        self._nonces = itertools.count(1)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._wake_pending = False
        self._unwatch: Callable[[], None] | None = None

    # -- the loop ---------------------------------------------------------------------------

    async def run(
        self, requests: AsyncIterator[Any], write: Callable[[Any], Awaitable[None]]
    ) -> None:
        reader = asyncio.create_task(self._read(requests))
        try:
            while True:
                items = [await self._queue.get()]
                while not self._queue.empty():  # coalesce wake-ups and queued requests
                    items.append(self._queue.get_nowait())
                for item in items:
                    if item is _END:
                        return
                    if isinstance(item, BaseException):
                        raise item
                    if item is _CHANGED:
                        self._wake_pending = False
                    else:
                        self._admit(item)
                        self._on_request(item)
                if self.key is not None:
                    await self._warm_up()
                    await self._step(write)
        finally:
            reader.cancel()
            if self._unwatch is not None:
                self._unwatch()
            if self.stream_id:
                self.board.disconnect(self.stream_id)

    async def _warm_up(self) -> None:
        """Before a new proxy's first answer, let the sync build its snapshot if none is
        published: an Envoy of a known node must not go LIVE on the empty snapshot (its app
        would start while its listeners are missing). Unknown nodes still get the empty one."""
        if self._warmed or self.warm is None or self.key is None:
            return
        self._warmed = True
        if self.cache.get(self.key).published:
            return
        try:
            await asyncio.wait_for(self.warm(self.key), WARM_TIMEOUT)
        except Exception:
            log.exception("building the first snapshot of %s failed", self.key)

    async def _read(self, requests: AsyncIterator[Any]) -> None:
        try:
            async for request in requests:
                self._queue.put_nowait(request)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the client went away mid-read
            log.debug("xDS stream %s read ended: %s", self.peer, error)
        self._queue.put_nowait(_END)

    def _wake_from_any_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        def wake() -> None:
            if not self._wake_pending:
                self._wake_pending = True
                self._queue.put_nowait(_CHANGED)

        def notify() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(wake)

        return notify

    def _admit(self, request: Any) -> None:
        """Raises RefusedStreamError unless the request's node is the stream's: the
        credential's on the first request, the first request's on every later one naming one."""
        if self.key is not None:
            if request.HasField("node") and self.key_of(request.node) != self.key:
                raise RefusedStreamError(
                    "node-changed",
                    "a stream must not change its node",
                    authenticated=True,
                    node_id=request.node.id,
                    subject=self.credential.subject if self.credential else "",
                )
            return
        if self.credential is not None and self.key_of(request.node) != self.credential.node:
            raise RefusedStreamError(
                "other-node",
                "the credential does not name this node",
                authenticated=True,
                node_id=request.node.id,
                subject=self.credential.subject,
            )

    def _identify(self, node: base_pb2.Node) -> None:
        """The first request names the node (set_node_on_first_message_only)."""
        self.key = self.key_of(node)
        self.stream_id = self.board.connect(
            node_id=node.id,
            cluster=node.cluster,
            key=self.key,
            protocol=self.protocol,
            peer=self.peer,
            user_agent=f"{node.user_agent_name}/{node.user_agent_build_version.version.major_number}"
            f".{node.user_agent_build_version.version.minor_number}"
            f".{node.user_agent_build_version.version.patch}"
            if node.user_agent_name
            else "",
        )
        notify = self._wake_from_any_thread(asyncio.get_running_loop())
        self._unwatch = self.cache.watch(self.key, notify)
        log.info("xDS %s stream from %s (node %s)", self.protocol, self.peer, node.id)

    def _initialising(self) -> bool:
        """Whether the Envoy may still be initialising its clusters: it asks for listeners only
        once its cluster manager is initialised ("cm init: all clusters initialized")."""
        listeners = self.states.get(LISTENER)
        return listeners is None or not listeners.requested

    def _state(self, type_url: str) -> _TypeState:
        return self.states.setdefault(type_url, _TypeState())

    def _next_nonce(self) -> str:
        return str(next(self._nonces))

    def _acked(self, type_url: str, state: _TypeState) -> None:
        state.outstanding = False
        state.nacked = False
        latency = time.monotonic() - state.sent_mono if state.sent_mono else None
        self.board.acked(
            self.stream_id, type_url, version=state.sent_version or "", latency=latency
        )

    def _nacked(self, type_url: str, state: _TypeState, message: str) -> None:
        # NOTE: a NACK is never answered with the same config again; the client keeps its
        # previous config and the rejected version stays "sent" until the snapshot changes.
        state.outstanding = False
        state.nacked = True
        self.board.nacked(
            self.stream_id,
            type_url,
            version=state.sent_version or "",
            nonce=state.nonce,
            message=message,
        )
        log.warning("xDS NACK from %s for %s: %s", self.key, type_url, message)

    def _record_send(self, type_url: str, state: _TypeState, version: str, count: int) -> str:
        nonce = self._next_nonce()
        state.nonce = nonce
        state.outstanding = True
        state.nacked = False
        state.sent_version = version
        state.sent_mono = time.monotonic()
        self.board.sent(self.stream_id, type_url, version=version, nonce=nonce, count=count)
        return nonce

    # -- per protocol -------------------------------------------------------------------------

    def _on_request(self, request: Any) -> None:
        raise NotImplementedError

    async def _step(self, write: Callable[[Any], Awaitable[None]]) -> None:
        raise NotImplementedError


class SotwStream(_Stream):
    protocol = "sotw"

    def __init__(
        self,
        cache: SnapshotCache,
        board: StatusBoard,
        key_of: KeyOf,
        peer: str,
        warm: Warm | None = None,
    ):
        super().__init__(cache, board, key_of, peer, warm)
        self._memo: dict[str, tuple[Entry, Any, Any, Any, dict[str, Resource], str]] = {}

    def _on_request(self, request: discovery_pb2.DiscoveryRequest) -> None:
        if self.key is None:
            self._identify(request.node)
        state = self._state(request.type_url)
        nonce = request.response_nonce
        if nonce and state.nonce and nonce != state.nonce:
            return  # stale: answers a response that a newer one replaced
        if nonce and nonce == state.nonce and state.outstanding:
            if _is_nack(request):
                self._nacked(request.type_url, state, request.error_detail.message)
            else:
                self._acked(request.type_url, state)
        elif not state.requested:
            state.client_version = request.version_info
        elif nonce and nonce == state.nonce:
            # NOTE: a request that answers nothing in flight is a new request, and SotW needs an
            # answer even when nothing changed: a cluster that CDS re-created re-subscribes to
            # its endpoints with the same names and waits, warming, for that answer
            # (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#resource-warming).
            state.again = True
        state.requested = True
        names = frozenset(request.resource_names)
        wildcard = "*" in names or (not names and request.type_url in WILDCARD_TYPES)
        state.names = None if wildcard else names

    def _target(
        self, type_url: str, entry: Entry, keep_stale: bool
    ) -> tuple[dict[str, Resource], str]:
        """What a response for this type would hold now, and its version (memoised per entry,
        subscription and stale set: ACKs re-run the step without anything having changed)."""
        state = self.states[type_url]
        stale = state.sent if keep_stale and type_url in STALE_KEPT else None
        held = state.sent if type_url == CLUSTER and self._initialising() else None
        memo = self._memo.get(type_url)
        if (
            memo is not None
            and memo[0] is entry
            and memo[1] == state.names
            and memo[2] is stale
            and memo[3] is held
        ):
            return memo[4], memo[5]
        target = self._select(type_url, entry, stale)
        if held is not None:
            target = hold_phase_changes(target, held)
        version = _version(target)
        self._memo[type_url] = (entry, state.names, stale, held, target, version)
        return target, version

    def _select(
        self, type_url: str, entry: Entry, stale: dict[str, Resource] | None
    ) -> dict[str, Resource]:
        state = self.states[type_url]
        current = entry.of(type_url)
        names = state.names
        chosen = {n: r for n, r in current.items() if names is None or n in names}
        if stale is not None:
            for name, resource in stale.items():
                if name not in current and (names is None or name in names):
                    chosen[name] = resource
        return dict(sorted(chosen.items()))

    def _routes_done(self, entry: Entry) -> bool:
        """Listeners and routes are ACKed at what the snapshot holds: nothing can still point at
        a cluster that left it."""
        for type_url in ROUTING:
            state = self.states.get(type_url)
            if state is None or not state.requested:
                continue
            if state.outstanding or state.nacked:
                return False
            if self._target(type_url, entry, False)[1] != state.sent_version:
                return False
        return True

    async def _step(self, write: Callable[[Any], Awaitable[None]]) -> None:
        entry = self.cache.get(self.key or "")
        keep_stale = not self._routes_done(entry)
        in_flight: set[str] = set()  # earlier types whose last response is not ACKed yet
        for type_url in _order(self.states):
            state = self.states[type_url]
            if not state.requested:
                continue
            if state.outstanding:
                in_flight.add(type_url)
                continue
            target, version = self._target(type_url, entry, keep_stale)
            if version == state.sent_version and not state.again:
                continue
            if state.sent_version is None and version == state.client_version:
                state.sent, state.sent_version = target, version  # a reconnect already in sync
                self.board.adopted(self.stream_id, type_url, version=version)
                continue
            if not _blocked(type_url, in_flight):
                await write(self._response(type_url, state, target, version))
                in_flight.add(type_url)

    def _response(
        self, type_url: str, state: _TypeState, target: dict[str, Resource], version: str
    ) -> discovery_pb2.DiscoveryResponse:
        state.sent = target
        state.again = False
        nonce = self._record_send(type_url, state, version, len(target))
        return discovery_pb2.DiscoveryResponse(
            version_info=version,
            type_url=type_url,
            nonce=nonce,
            resources=[r.packed for r in target.values()],
        )


def _secondary(resource: Resource) -> bool:
    """Envoy initialises EDS clusters in a second phase, after every other ("primary") one."""
    return bool(getattr(resource.message, "type", None) == cluster_pb2.Cluster.EDS)


def hold_phase_changes(
    target: Mapping[str, Resource], sent: Mapping[str, Resource]
) -> dict[str, Resource]:
    """`target` with every cluster whose init phase would change (EDS ↔ DNS, static, ...) kept
    as it was sent.

    NOTE: Envoy 1.40 never finishes initialising when CDS changes a cluster's init phase while
    that cluster is still warming during cluster-manager init: `addOrUpdateCluster` takes the
    old warming cluster out of the init helper only when it was active, and
    `ClusterManagerInitHelper::addCluster` replaces an entry by name only within the new
    phase's map, so a DNS cluster still resolving stays in `primary_init_clusters_` after it
    was destroyed and "cm init: all clusters initialized" never comes (issue 5). So the change
    waits until the Envoy asks for listeners, which it does only once its clusters are
    initialised.
    """
    out = dict(target)
    for name, resource in target.items():
        before = sent.get(name)
        if before is not None and _secondary(before) != _secondary(resource):
            out[name] = before
    return out


def _version(resources: Mapping[str, Resource]) -> str:
    return set_version((n, r.version) for n, r in resources.items())


class DeltaStream(_Stream):
    protocol = "delta"

    def __init__(
        self,
        cache: SnapshotCache,
        board: StatusBoard,
        key_of: KeyOf,
        peer: str,
        warm: Warm | None = None,
    ):
        super().__init__(cache, board, key_of, peer, warm)
        self._phases: dict[str, bool] = {}  # cluster name → sent as EDS (secondary)

    def _on_request(self, request: discovery_pb2.DeltaDiscoveryRequest) -> None:
        if self.key is None:
            self._identify(request.node)
        type_url = request.type_url
        state = self._state(type_url)
        nonce = request.response_nonce
        if nonce and nonce == state.nonce and state.outstanding:
            if _is_nack(request):
                self._nacked(type_url, state, request.error_detail.message)
            else:
                self._acked(type_url, state)
        if not state.requested:
            state.known.update(request.initial_resource_versions)
            if type_url in WILDCARD_TYPES and not request.resource_names_subscribe:
                state.wildcard = True  # legacy wildcard: the first request names nothing
        state.requested = True
        for name in request.resource_names_subscribe:
            if name == "*":
                state.wildcard = True
            else:
                state.subscribed.add(name)
        for name in request.resource_names_unsubscribe:
            if name == "*":
                state.wildcard = False
            else:
                state.subscribed.discard(name)
                state.known.pop(name, None)

    def _diff(
        self, type_url: str, entry: Entry, keep_stale: bool
    ) -> tuple[list[Resource], list[str]]:
        state = self.states[type_url]
        current = entry.of(type_url)
        changed = [
            r
            for n, r in current.items()
            if (state.wildcard or n in state.subscribed) and state.known.get(n) != r.version
        ]
        if type_url == CLUSTER and self._initialising():  # see hold_phase_changes
            changed = [
                r for r in changed if self._phases.get(r.name, _secondary(r)) == _secondary(r)
            ]
        removed: list[str] = []
        if not (keep_stale and type_url in STALE_KEPT):
            removed = sorted(
                n
                for n in state.known
                if n not in current and (state.wildcard or n in state.subscribed)
            )
        return changed, removed

    def _routes_done(self, entry: Entry) -> bool:
        for type_url in ROUTING:
            state = self.states.get(type_url)
            if state is None or not state.requested:
                continue
            if state.outstanding or state.nacked or any(self._diff(type_url, entry, False)):
                return False
        return True

    async def _step(self, write: Callable[[Any], Awaitable[None]]) -> None:
        entry = self.cache.get(self.key or "")
        keep_stale = not self._routes_done(entry)
        in_flight: set[str] = set()  # earlier types whose last response is not ACKed yet
        for type_url in _order(self.states):
            state = self.states[type_url]
            if not state.requested:
                continue
            if state.outstanding:
                in_flight.add(type_url)
                continue
            changed, removed = self._diff(type_url, entry, keep_stale)
            first = not state.nonce  # the first answer goes out even when empty
            if (changed or removed or first) and not _blocked(type_url, in_flight):
                await write(self._response(type_url, state, changed, removed))
                in_flight.add(type_url)

    def _response(
        self, type_url: str, state: _TypeState, changed: list[Resource], removed: list[str]
    ) -> discovery_pb2.DeltaDiscoveryResponse:
        for resource in changed:
            state.known[resource.name] = resource.version
            if type_url == CLUSTER:
                self._phases[resource.name] = _secondary(resource)
        for name in removed:
            state.known.pop(name, None)
        version = set_version(state.known.items())
        nonce = self._record_send(type_url, state, version, len(changed) + len(removed))
        return discovery_pb2.DeltaDiscoveryResponse(
            system_version_info=version,
            type_url=type_url,
            nonce=nonce,
            resources=[
                discovery_pb2.Resource(name=r.name, version=r.version, resource=r.packed)
                for r in changed
            ],
            removed_resources=removed,
        )


class AdsServicer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        cache: SnapshotCache,
        board: StatusBoard,
        key_of: KeyOf,
        warm: Warm | None,
        credentials: ProxyCredentials | None = None,
    ) -> None:
        self.cache = cache
        self.board = board
        self.key_of = key_of
        self.warm = warm
        self.credentials = credentials

    async def StreamAggregatedResources(  # noqa: N802 (the gRPC method name)
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        stream = SotwStream(self.cache, self.board, self.key_of, context.peer(), self.warm)
        await self._serve(stream, request_iterator, context)

    async def DeltaAggregatedResources(  # noqa: N802
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        stream = DeltaStream(self.cache, self.board, self.key_of, context.peer(), self.warm)
        await self._serve(stream, request_iterator, context)

    async def _serve(
        self,
        stream: _Stream,
        requests: AsyncIterator[Any],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        try:
            if self.credentials is not None:
                stream.credential = await self._authenticate(requests, context)
            await stream.run(requests, context.write)
        except RefusedStreamError as refusal:
            self.board.refused(
                reason=refusal.reason,
                node_id=refusal.node_id,
                subject=refusal.subject,
                peer=stream.peer,
            )
            log.warning(
                "xDS %s stream from %s refused (%s): node %r, credential of %r",
                stream.protocol, stream.peer, refusal.reason, refusal.node_id, refusal.subject,
            )  # fmt: skip
            code = grpc.StatusCode.PERMISSION_DENIED if refusal.authenticated else (
                grpc.StatusCode.UNAUTHENTICATED
            )  # fmt: skip
            await context.abort(code, refusal.message)

    async def _authenticate(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> Credential:
        assert self.credentials is not None
        try:
            return authenticate(self.credentials, token_of(context.invocation_metadata()))
        except RefusedStreamError as refusal:
            # Read the first request before refusing: its node names the proxy in the log, and
            # a client still sending it would see the abort as a broken stream (INTERNAL).
            with contextlib.suppress(Exception):
                first = await asyncio.wait_for(anext(aiter(requests)), REFUSAL_READ_TIMEOUT)
                refusal.node_id = str(first.node.id)
            raise


class XdsServer:
    """The gRPC server around `AdsServicer`: one port, on one or more addresses. Addresses can
    be added after the start (the task bridge exists only once the runtime made it)."""

    def __init__(
        self,
        cache: SnapshotCache,
        board: StatusBoard,
        *,
        key_of: KeyOf = node_id_key,
        warm: Warm | None = None,
        credentials: ProxyCredentials | None = None,
    ) -> None:
        """`warm(key)` builds and publishes a proxy's snapshot (the sync's `warm`).
        `credentials` authorise every stream (credentials.py); without them any stream may
        stream any node, which only in-process tests and benchmarks may want: `meshway server`
        always passes its data directory's."""
        self.cache = cache
        self.board = board
        self.key_of = key_of
        self.warm = warm
        self.credentials = credentials
        self.port = 0
        self.addresses: list[str] = []
        self._servers: list[grpc.aio.Server] = []

    async def start(self, addresses: Sequence[str], port: int) -> int:
        """Listen on every address with the same port (0: the first bind picks it)."""
        self.port = port
        for address in addresses:
            await self.listen(address)
        return self.port

    async def listen(self, address: str) -> None:
        server = grpc.aio.server(
            options=[
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 5000),
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                ("grpc.so_reuseport", 0),  # a second server on this port must fail, not share
            ]
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(
            AdsServicer(self.cache, self.board, self.key_of, self.warm, self.credentials), server
        )
        self.port = server.add_insecure_port(f"{address}:{self.port}")
        await server.start()
        self._servers.append(server)
        self.addresses.append(address)
        log.info("xDS (ADS) serving on %s:%d", address, self.port)

    async def stop(self, grace: float = 0.5) -> None:
        servers, self._servers = self._servers, []
        await asyncio.gather(*(server.stop(grace) for server in servers))
