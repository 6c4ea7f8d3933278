"""A trace as X-Ray returns it: "processed documents", not what was sent.

The store keeps each document as it came (upserted by trace and id); this module assembles them:
independent subsegments (streamed by the SDKs, `type: subsegment`) are merged into the tree of the
segment that holds their parent, wherever in that tree the parent is (docs/xray-api-gettingdata.md
§Retrieving traces). Pure; the service reads rows and hands them here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

TRACE_LIMIT_BYTES = 500 * 1024  # `LimitExceeded` past this (reference/xray.md §1.2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """One stored document of a trace."""

    id: str
    parent_id: str | None
    independent: bool
    size: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """A whole trace: its segments with every streamed subsegment merged in."""

    id: str
    segments: tuple[dict[str, Any], ...]
    size: int

    @property
    def limit_exceeded(self) -> bool:
        return self.size > TRACE_LIMIT_BYTES

    @property
    def duration(self) -> float:
        """Earliest segment start to the last segment end (the `Trace` shape's definition)."""
        if not self.segments:
            return 0.0
        start = min(float(s["start_time"]) for s in self.segments)
        end = max(_end(s) for s in self.segments)
        return max(0.0, end - start)

    @property
    def root(self) -> dict[str, Any] | None:
        """The entry point: the earliest segment whose parent is not in the trace."""
        ids = {str(s["id"]).lower() for s in self.segments}
        inner = {str(d.get("id", "")).lower() for s in self.segments for d in list(walk(s))[1:]}
        known = ids | inner
        return next(
            (s for s in self.segments if str(s.get("parent_id") or "").lower() not in known),
            self.segments[0] if self.segments else None,
        )

    @property
    def partial(self) -> bool:
        """Some document of the trace is still in progress."""
        return any(d.get("in_progress") is True for s in self.segments for d in walk(s))

    @property
    def start_time(self) -> float:
        return min((float(s["start_time"]) for s in self.segments), default=0.0)


def assemble(trace_id: str, documents: Iterable[Stored]) -> Trace:
    """The trace from its stored documents, in start-time order."""
    docs = list(documents)
    segments = {d.id: copy.deepcopy(d.body) for d in docs if not d.independent}
    loose = {d.id: copy.deepcopy(d.body) for d in docs if d.independent}
    owners = _index(segments.values())
    pending = dict(loose)
    # Streamed subtrees may hang under each other; place them until no more find a parent.
    while pending:
        placed = {sid: node for sid, sub in pending.items() if (node := _place(sub, owners))}
        if not placed:
            break
        for sid, node in placed.items():
            del pending[sid]
            owners.update(_index_tree(node))
    ordered = sorted(segments.values(), key=lambda s: (float(s["start_time"]), str(s["id"])))
    return Trace(id=trace_id, segments=tuple(ordered), size=sum(d.size for d in docs))


def _place(sub: dict[str, Any], owners: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Attach `sub` under its parent; the node now in the tree, or None (parent not here)."""
    parent = owners.get(str(sub.get("parent_id", "")).lower())
    if parent is None:
        return None
    children = parent.setdefault("subsegments", [])
    sub_id = str(sub["id"]).lower()
    embedded = [c for c in children if str(c.get("id", "")).lower() == sub_id]
    # A streamed copy of a subsegment the parent also embeds: the later, complete one wins.
    for old in embedded:
        children.remove(old)
    node = {k: v for k, v in sub.items() if k not in ("type", "trace_id", "parent_id")}
    children.append(node)
    children.sort(key=lambda c: float(c.get("start_time", 0.0)))
    return node


def _index(segments: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every id in the segments' trees → the document (segment or subsegment) that has it."""
    owners: dict[str, dict[str, Any]] = {}
    for segment in segments:
        owners.update(_index_tree(segment))
    return owners


def _index_tree(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(node["id"]).lower(): node for node in walk(doc)}


def walk(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The document and all its subsegments, depth first."""
    yield doc
    for child in doc.get("subsegments", []) or []:
        if isinstance(child, dict):
            yield from walk(child)


def _end(doc: dict[str, Any]) -> float:
    end = doc.get("end_time")
    return float(end) if end is not None else float(doc["start_time"])


def end_of(doc: dict[str, Any]) -> float:
    """A document's end, or its start while it is still in progress."""
    return _end(doc)


def child(doc: dict[str, Any], *path: str) -> dict[str, Any]:
    """`doc[a][b]...` when each step is an object, else `{}` (documents are client-written)."""
    found: Any = doc
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}
