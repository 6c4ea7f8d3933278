"""Proxy status: for every connected Envoy, what it is, what it ACKed and what it rejected.

This answers "did my change reach the proxies?" — a question App Mesh users never had an answer
to. The ADS server (`server.py`) records into a `StatusBoard`; the API's extension path
(`GET /meshway/proxies`), the CLI and the console read `board.proxies()` as plain JSON-ready
values. Times are wall-clock epoch seconds (for humans); latencies use the monotonic clock.
Streams the server refused (credentials.py) are counted by reason, the latest few kept.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from meshway.xds.cache import PUSH_ORDER, SHORT_NAMES


@dataclass(frozen=True, slots=True, kw_only=True)
class Nack:
    version: str  # the rejected version (what Meshway sent)
    nonce: str
    message: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeStatus:
    sent_version: str = ""
    sent_nonce: str = ""
    sent_at: float | None = None
    resources: int = 0  # how many resources the last response carried
    acked_version: str = ""
    acked_at: float | None = None
    last_nack: Nack | None = None
    last_push_to_ack: float | None = None  # seconds, send → ACK of the latest ACKed response

    def to_json(self) -> dict[str, Any]:
        return {
            "sentVersion": self.sent_version,
            "sentNonce": self.sent_nonce,
            "sentAt": self.sent_at,
            "resources": self.resources,
            "ackedVersion": self.acked_version,
            "ackedAt": self.acked_at,
            "inSync": bool(self.sent_version) and self.sent_version == self.acked_version,
            "lastPushToAckSeconds": self.last_push_to_ack,
            "lastNack": None
            if self.last_nack is None
            else {
                "version": self.last_nack.version,
                "nonce": self.last_nack.nonce,
                "message": self.last_nack.message,
                "at": self.last_nack.at,
            },
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyStatus:
    stream: int
    node_id: str
    node_cluster: str
    key: str  # the cache key the node maps to
    protocol: str  # "sotw" | "delta"
    peer: str
    user_agent: str
    connected_at: float
    last_push_at: float | None = None
    types: dict[str, TypeStatus] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        types = {SHORT_NAMES.get(t, t): self.types[t].to_json() for t in _ordered(self.types)}
        nacks = [s.last_nack for s in self.types.values() if s.last_nack is not None]
        return {
            "nodeId": self.node_id,
            "cluster": self.node_cluster,
            "key": self.key,
            "protocol": self.protocol,
            "peer": self.peer,
            "userAgent": self.user_agent,
            "connectedAt": self.connected_at,
            "lastPushAt": self.last_push_at,
            "inSync": all(s.sent_version == s.acked_version for s in self.types.values()),
            "lastNack": _latest_nack_json(nacks),
            "types": types,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    reason: str  # missing | invalid | other-node | node-changed
    node_id: str  # the node the stream named ("" when refused before its first request)
    subject: str  # whom the credential was minted for ("" without one)
    peer: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "nodeId": self.node_id,
            "subject": self.subject,
            "peer": self.peer,
            "at": self.at,
        }


RECENT_REFUSALS = 20


def _ordered(types: dict[str, TypeStatus]) -> list[str]:
    known = [t for t in PUSH_ORDER if t in types]
    return known + sorted(t for t in types if t not in PUSH_ORDER)


def _latest_nack_json(nacks: list[Nack]) -> dict[str, Any] | None:
    if not nacks:
        return None
    last = max(nacks, key=lambda n: n.at)
    return {"version": last.version, "message": last.message, "at": last.at}


class StatusBoard:
    """Thread-safe: streams write from the event loop, readers may be anywhere."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._proxies: dict[int, ProxyStatus] = {}
        self._ids = itertools.count(1)
        self._wall = wall
        self._refused: dict[str, int] = {}
        self._refusals: list[Refusal] = []

    def connect(
        self, *, node_id: str, cluster: str, key: str, protocol: str, peer: str, user_agent: str
    ) -> int:
        stream = next(self._ids)
        status = ProxyStatus(
            stream=stream,
            node_id=node_id,
            node_cluster=cluster,
            key=key,
            protocol=protocol,
            peer=peer,
            user_agent=user_agent,
            connected_at=self._wall(),
        )
        with self._lock:
            self._proxies[stream] = status
        return stream

    def disconnect(self, stream: int) -> None:
        with self._lock:
            self._proxies.pop(stream, None)

    def _update(self, stream: int, type_url: str, **changes: Any) -> None:
        with self._lock:
            proxy = self._proxies.get(stream)
            if proxy is None:
                return
            before = proxy.types.get(type_url, TypeStatus())
            types = {**proxy.types, type_url: replace(before, **changes)}
            push = changes.get("sent_at", proxy.last_push_at)
            self._proxies[stream] = replace(proxy, types=types, last_push_at=push)

    def sent(self, stream: int, type_url: str, *, version: str, nonce: str, count: int) -> None:
        self._update(
            stream, type_url, sent_version=version, sent_nonce=nonce, sent_at=self._wall(),
            resources=count,
        )  # fmt: skip

    def acked(self, stream: int, type_url: str, *, version: str, latency: float | None) -> None:
        self._update(
            stream, type_url, acked_version=version, acked_at=self._wall(),
            last_push_to_ack=latency,
        )  # fmt: skip

    def adopted(self, stream: int, type_url: str, *, version: str) -> None:
        """A reconnecting proxy already holds this version: in sync without a push."""
        self._update(stream, type_url, sent_version=version, acked_version=version)

    def nacked(self, stream: int, type_url: str, *, version: str, nonce: str, message: str) -> None:
        nack = Nack(version=version, nonce=nonce, message=message, at=self._wall())
        self._update(stream, type_url, last_nack=nack)

    def refused(self, *, reason: str, node_id: str, subject: str, peer: str) -> None:
        refusal = Refusal(
            reason=reason, node_id=node_id, subject=subject, peer=peer, at=self._wall()
        )
        with self._lock:
            self._refused[reason] = self._refused.get(reason, 0) + 1
            self._refusals = [*self._refusals[-(RECENT_REFUSALS - 1) :], refusal]

    def refusals(self) -> tuple[dict[str, int], list[Refusal]]:
        """Refused streams by reason since the start, and the latest few, oldest first."""
        with self._lock:
            return dict(self._refused), list(self._refusals)

    def proxies(self) -> list[ProxyStatus]:
        with self._lock:
            return sorted(self._proxies.values(), key=lambda p: (p.node_id, p.stream))

    def to_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.proxies()]
