"""What the proxies of one mesh view have in common, built once per view.

Most of a caller's resources do not depend on who the caller is: the cluster and the load
assignment of a target listener are the same for every caller with the same client policy for it,
and the egress plan, egress route configurations and egress listener are the same for every node
with the same backends (and access log). `Shared` keeps them for the life of one `MeshView`, keyed
by exactly the inputs they are built from, so a rebuild of a thousand callers translates each piece
once and the proxies' snapshots hold the same message objects (never mutated after they are built).

Thread-safe enough: two threads asking for the same piece at once may both build it; both builds
are equal (translation is pure), and one wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from meshway.xds.view import MeshView

T = TypeVar("T")


def spec_key(spec: Any) -> str:
    """A frozen spec (read-only mappings, tuples) as a canonical, hashable string."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), default=dict)


class Shared:
    """Pieces of one view's translation, by key; `view` is the view they were built from."""

    def __init__(self, view: MeshView) -> None:
        self.view = view
        self._pieces: dict[Hashable, Any] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        try:
            return self._pieces[key]  # type: ignore[no-any-return]
        except KeyError:
            piece = make()
            return self._pieces.setdefault(key, piece)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self._pieces)
