"""What the proxies of one mesh view have in common, built once per view.

Most of a caller's resources do not depend on who the caller is: the cluster and the load
assignment of a target listener are the same for every caller with the same client policy for it,
and the egress plan, egress route configurations and egress listener are the same for every node
with the same backends (and access log). `Shared` keeps them for the life of one `MeshView`, keyed
by exactly the inputs they are built from, so a rebuild of a thousand callers translates each piece
once and the proxies' snapshots hold the same message objects (never mutated after they are built).

A piece whose key names every input it is built from, and nothing else of the view (what a node
builds for itself from its mesh name, its name and its spec), is "lasting": the `Shared` of the
next view of the mesh takes it over (`lasting`), with the content hashes of the messages it
holds (`hash_of`), so a route change does not rebuild and rehash every caller's own listeners.
Only what the newer view used is carried on: two generations at most are alive.

Thread-safe enough: two threads asking for the same piece at once may both build it; both builds
are equal (translation is pure), and one wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from google.protobuf.message import Message

from meshway.xds.snapshot import content_hash
from meshway.xds.view import MeshView

T = TypeVar("T")


def spec_key(spec: Any) -> str:
    """A frozen spec (read-only mappings, tuples) as a canonical, hashable string."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), default=dict)


class Shared:
    """Pieces of one view's translation, by key; `view` is the view they were built from."""

    def __init__(self, view: MeshView, previous: Shared | None = None) -> None:
        """`previous`: the Shared of the view this one replaces (same mesh), whose lasting pieces
        and hashes this one may take over."""
        self.view = view
        self._pieces: dict[Hashable, Any] = {}
        self._lasting: dict[Hashable, Any] = {}
        self._hashes: dict[int, tuple[Message, str]] = {}
        self._carried: Mapping[Hashable, Any] = {} if previous is None else previous._lasting
        self._carried_hashes: Mapping[int, tuple[Message, str]] = (
            {} if previous is None else previous._hashes
        )

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        try:
            return self._pieces[key]  # type: ignore[no-any-return]
        except KeyError:
            piece = make()
            return self._pieces.setdefault(key, piece)  # type: ignore[no-any-return]

    def lasting(self, key: Hashable, make: Callable[[], T]) -> T:
        """A piece `key` fully determines (it names every input `make` reads): built once, and
        taken over from the previous view's Shared when it has it. The messages in it are never
        changed after they are built, as for every piece."""
        try:
            return self._lasting[key]  # type: ignore[no-any-return]
        except KeyError:
            piece = self._carried.get(key, _MISSING)
            if piece is _MISSING:
                piece = make()
            return self._lasting.setdefault(key, piece)  # type: ignore[no-any-return]

    def hash_of(self, message: Message) -> str:
        """`content_hash(message)`, once per message object (pieces are shared and never
        changed): the proxies of a rebuild hold the same messages."""
        found = self._hashes.get(id(message)) or self._carried_hashes.get(id(message))
        if found is None or found[0] is not message:
            found = (message, content_hash(message))
        self._hashes[id(message)] = found
        return found[1]

    def __len__(self) -> int:
        return len(self._pieces)


_MISSING: Any = object()
