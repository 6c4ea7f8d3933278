"""Pre-encoded ADS responses: a response body is serialised once and shared by every stream
that sends it, each adding only its own nonce (issue 5, propagation goals).

A serialised protobuf message followed by the encoding of one more field is a valid message
with that field set (the last occurrence of a non-repeated field wins; the encoder here never
puts a nonce in the shared part, so the appended one is the only one). For a SotW
`DiscoveryResponse` the nonce (field 5) is the highest field Meshway sets, so the shared bytes
plus the nonce are byte for byte what serialising the whole message would give.

Shared bodies are keyed by what determines them: for SotW (type URL, version), the version
being a hash over the resources' names and content hashes (`cache.set_version`); for Delta
also the changed (name, version) pairs and the removed names. A small LRU keeps them, bounded
by count and bytes: sharing only has to cover the streams woken by one change.
Neighbours: `server.py` writes these bytes through a pass-through response serialiser.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from envoy.service.discovery.v3 import discovery_pb2

from meshway.xds.cache import Resource

NONCE_TAG = b"\x2a"  # field 5 (nonce), wire type 2 (length-delimited): (5 << 3) | 2
MAX_ENTRIES = 512
MAX_BYTES = 16 * 1024 * 1024


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def with_nonce(body: bytes, nonce: str) -> bytes:
    """`body` (a serialised response without a nonce) with field `nonce` appended."""
    encoded = nonce.encode()
    return b"".join((body, NONCE_TAG, _varint(len(encoded)), encoded))


def sotw_body(type_url: str, version: str, resources: Iterable[Resource]) -> bytes:
    """A SotW DiscoveryResponse without its nonce."""
    response = discovery_pb2.DiscoveryResponse(
        version_info=version, type_url=type_url, resources=[r.packed for r in resources]
    )
    return bytes(response.SerializeToString())


def delta_body(
    type_url: str, version: str, changed: Sequence[Resource], removed: Sequence[str]
) -> bytes:
    """A DeltaDiscoveryResponse without its nonce."""
    response = discovery_pb2.DeltaDiscoveryResponse(
        system_version_info=version,
        type_url=type_url,
        resources=[
            discovery_pb2.Resource(name=r.name, version=r.version, resource=r.packed)
            for r in changed
        ],
        removed_resources=removed,
    )
    return bytes(response.SerializeToString())


class Bodies:
    """Key → shared response body, least recently used first out. One event loop uses it."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
            self.hits += 1
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        self.misses += 1
        if len(body) > self.max_bytes:
            return
        old = self._bodies.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._bodies[key] = body
        self._bytes += len(body)
        while len(self._bodies) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._bodies.popitem(last=False)
            self._bytes -= len(dropped)

    def sotw(self, type_url: str, version: str, resources: dict[str, Resource]) -> bytes:
        key = ("sotw", type_url, version)
        body = self.get(key)
        if body is None:
            body = sotw_body(type_url, version, resources.values())
            self.put(key, body)
        return body

    def delta(
        self, type_url: str, version: str, changed: Sequence[Resource], removed: Sequence[str]
    ) -> bytes:
        key = (
            "delta",
            type_url,
            version,
            tuple((r.name, r.version) for r in changed),
            tuple(removed),
        )
        body = self.get(key)
        if body is None:
            body = delta_body(type_url, version, changed, removed)
            self.put(key, body)
        return body


def pass_through(response: Any) -> bytes:
    """The response serialiser: pre-encoded bytes as they are, a message serialised."""
    if isinstance(response, bytes):
        return response
    return bytes(response.SerializeToString())
