"""The per-proxy snapshot cache: the only thing the ADS server knows (STYLE.md principle 3).

`set_snapshot(key, snapshot)` publishes a consistent snapshot (a value: type URL → name →
message) for one proxy and wakes the streams watching that key; `get(key)` gives what a stream
should serve, with every resource's content hash and its Any-packed form computed once per
snapshot, not once per stream. A key nobody published gets the valid empty snapshot at once, so
an Envoy Meshway knows nothing about still goes LIVE instead of waiting on initial_fetch_timeout
(reference/envoy.md §1 gotcha 5).

Thread-safe: the sync that rebuilds snapshots may run in a worker thread; watchers are plain
callables and must hop to their own event loop themselves (`loop.call_soon_threadsafe`).
Neighbours: `server.py` reads it, `sync.py` (the store change feed → translation) writes it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from google.protobuf import any_pb2
from google.protobuf.message import Message

from meshway.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, PUSH_ORDER, ROUTE, SECRET

__all__ = ["CLUSTER", "ENDPOINT", "LISTENER", "PUSH_ORDER", "ROUTE", "SECRET", "SnapshotCache"]

WILDCARD_TYPES = frozenset({CLUSTER, LISTENER})  # state of the world: an omitted one is deleted
SHORT_NAMES = {CLUSTER: "CDS", ENDPOINT: "EDS", LISTENER: "LDS", ROUTE: "RDS", SECRET: "SDS"}


class SnapshotLike(Protocol):
    """What the cache needs of `xds.snapshot.Snapshot`: the messages and their content hashes
    (`problems()`, when present, is checked before publishing)."""

    @property
    def resources(self) -> Mapping[str, Mapping[str, Message]]: ...

    @property
    def hashes(self) -> Mapping[str, Mapping[str, str]]: ...


class InconsistentSnapshotError(ValueError):
    """A snapshot refers to a cluster, endpoint set or route configuration it does not hold."""


def content_hash(message: Message) -> str:
    """Deterministic serialisation → short SHA-256: equal content, equal version, across runs."""
    data = message.SerializeToString(deterministic=True)
    return hashlib.sha256(data).hexdigest()[:16]


def set_version(items: Iterable[tuple[str, str]]) -> str:
    """The version of a set of (name, hash) pairs: a response's `version_info`."""
    digest = hashlib.sha256()
    for name, version in sorted(items):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(version.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    version: str
    message: Message
    packed: any_pb2.Any


@dataclass(frozen=True, slots=True)
class Entry:
    """One published snapshot, ready to serve: type URL → name → Resource."""

    snapshot: SnapshotLike | None
    resources: Mapping[str, Mapping[str, Resource]] = field(default_factory=dict)
    published: bool = False

    def of(self, type_url: str) -> Mapping[str, Resource]:
        return self.resources.get(type_url, {})


EMPTY = Entry(snapshot=None)


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message, deterministic=True)
    return packed


def prepare(
    snapshot: SnapshotLike, packed: dict[int, Resource] | None = None, before: Entry | None = None
) -> Entry:
    """`packed`: Resources already made in this batch, by message id (snapshots of one rebuild
    share message objects; the caller keeps those messages alive while it uses the dict).
    `before`: the entry this one replaces; a resource whose message is the very object it
    served (translation keeps what did not change, and never changes a message) is reused."""
    resources: dict[str, dict[str, Resource]] = {}
    memo: dict[int, Resource] = {} if packed is None else packed
    for type_url, named in snapshot.resources.items():
        hashes = snapshot.hashes.get(type_url, {})
        served = before.of(type_url) if before is not None else {}
        out: dict[str, Resource] = {}
        for name, msg in sorted(named.items()):
            made = memo.get(id(msg))
            if made is None or made.message is not msg or made.name != name:
                made = served.get(name)
            if made is None or made.message is not msg or made.name != name:
                made = Resource(name, hashes.get(name) or content_hash(msg), msg, _pack(msg))
                memo[id(msg)] = made
            out[name] = made
        resources[type_url] = out
    return Entry(snapshot=snapshot, resources=resources, published=True)


def _check_consistent(snapshot: SnapshotLike) -> None:
    check = getattr(snapshot, "problems", None)
    problems: Any = check() if callable(check) else ()
    if problems:
        raise InconsistentSnapshotError("; ".join(str(p) for p in problems))


Watcher = Callable[[], None]


class SnapshotCache:
    """Node key → the latest published snapshot, and who to wake when it changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._watchers: dict[str, set[Watcher]] = {}

    def set_snapshot(self, key: str, snapshot: SnapshotLike) -> bool:
        """Publish; False (and nobody woken) when every resource hash is what is served now."""
        _check_consistent(snapshot)
        entry = prepare(snapshot, before=self.get(key))
        with self._lock:
            before = self._entries.get(key)
            if before is not None and _same(before, entry):
                return False
            self._entries[key] = entry
            watchers = list(self._watchers.get(key, ()))
        for notify in watchers:
            notify()
        return True

    def set_snapshots(
        self, snapshots: Iterable[tuple[str, SnapshotLike]]
    ) -> tuple[int, list[tuple[str, str]]]:
        """Publish many at once: every entry is prepared first, then all are swapped in and
        their streams woken together, so the pushes do not compete with the preparing.
        Returns how many changed, and the keys whose snapshot was inconsistent with the problems
        (not published: their previous snapshot keeps serving)."""
        packed: dict[int, Resource] = {}
        ready: list[tuple[str, Entry]] = []
        rejected: list[tuple[str, str]] = []
        for key, snapshot in snapshots:
            try:
                _check_consistent(snapshot)
            except InconsistentSnapshotError as error:
                rejected.append((key, str(error)))
                continue
            ready.append((key, prepare(snapshot, packed, self.get(key))))
        woken: list[Watcher] = []
        changed = 0
        with self._lock:
            for key, entry in ready:
                before = self._entries.get(key)
                if before is not None and _same(before, entry):
                    continue
                self._entries[key] = entry
                woken.extend(self._watchers.get(key, ()))
                changed += 1
        for notify in woken:
            notify()
        return changed, rejected

    def clear(self, key: str) -> None:
        """Forget a proxy: its streams fall back to the empty snapshot."""
        with self._lock:
            found = self._entries.pop(key, None)
            watchers = list(self._watchers.get(key, ())) if found else []
        for notify in watchers:
            notify()

    def get(self, key: str) -> Entry:
        with self._lock:
            return self._entries.get(key, EMPTY)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def watch(self, key: str, notify: Watcher) -> Callable[[], None]:
        """Call `notify` (from the publishing thread) on every change for `key`."""
        with self._lock:
            self._watchers.setdefault(key, set()).add(notify)

        def cancel() -> None:
            with self._lock:
                found = self._watchers.get(key)
                if found is not None:
                    found.discard(notify)
                    if not found:
                        del self._watchers[key]

        return cancel

    def watched_keys(self) -> list[str]:
        """The keys some proxy is connected for: what a rebuild has to cover."""
        with self._lock:
            return sorted(self._watchers)

    def watcher_count(self, key: str) -> int:
        with self._lock:
            return len(self._watchers.get(key, ()))


def _versions(entry: Entry) -> dict[str, dict[str, str]]:
    return {t: {n: r.version for n, r in named.items()} for t, named in entry.resources.items()}


def _same(a: Entry, b: Entry) -> bool:
    def strip(v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return {t: named for t, named in v.items() if named}

    return strip(_versions(a)) == strip(_versions(b))
