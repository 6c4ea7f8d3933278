"""Small segment-document builders for the pure X-Ray tests."""

from __future__ import annotations

from typing import Any

from meshway.model.xray.segments import Segment, parse_document
from meshway.model.xray.traces import Stored, Trace, assemble

TRACE = "1-5f84c7a1-6c1f2b3e4d5a697887766554"


def seg(
    sid: int,
    name: str,
    *,
    parent: int | None = None,
    origin: str | None = "AWS::AppMesh::Proxy",
    start: float = 100.0,
    end: float | None = 100.5,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "id": f"{sid:016x}",
        "trace_id": TRACE,
        "start_time": start,
    }
    if end is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = end
    if parent is not None:
        doc["parent_id"] = f"{parent:016x}"
    if origin:
        doc["origin"] = origin
    doc.update(extra)
    return doc


def sub(
    sid: int, name: str, *, start: float = 100.1, end: float = 100.3, **extra: Any
) -> dict[str, Any]:
    return {"id": f"{sid:016x}", "name": name, "start_time": start, "end_time": end, **extra}


def stored(doc: dict[str, Any]) -> Stored:
    import json

    found = parse_document(json.dumps(doc))
    assert isinstance(found, Segment), found
    return Stored(
        id=found.id,
        parent_id=found.parent_id,
        independent=found.independent,
        size=found.size,
        body=found.body,
    )


def trace(*docs: dict[str, Any]) -> Trace:
    return assemble(TRACE, [stored(d) for d in docs])
