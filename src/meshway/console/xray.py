"""The service map and the trace waterfall, made from what the X-Ray API answers.

Pure: `service_map` takes a GetServiceGraph output, `waterfall` one trace of BatchGetTraces, so
the console shows what any X-Ray client (Grafana's data source, the aws CLI) would see. Node
colours follow the X-Ray console (reference/xray.md §5): ok green, 4xx yellow, 429 purple, 5xx
red; a node's `status` is the most severe kind of answer it gave.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def percentile(histogram: Sequence[Mapping[str, Any]], q: float) -> float | None:
    """The nearest-rank `q` percentile of an X-Ray histogram ([{Value, Count}], seconds)."""
    points = sorted((float(p["Value"]), int(p["Count"])) for p in histogram if p.get("Count"))
    total = sum(n for _, n in points)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value, n in points:
        seen += n
        if seen >= rank:
            return value
    return points[-1][0]


def counts(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """SummaryStatistics as the map shows them: ok, 4xx, 429 and 5xx counts and shares."""
    summary = summary or {}
    errors = summary.get("ErrorStatistics") or {}
    faults = summary.get("FaultStatistics") or {}
    total = int(summary.get("TotalCount") or 0)
    out: dict[str, Any] = {
        "total": total,
        "ok": int(summary.get("OkCount") or 0),
        "error4xx": int(errors.get("OtherCount") or 0),
        "throttle429": int(errors.get("ThrottleCount") or 0),
        "fault5xx": int(faults.get("TotalCount") or 0),
    }
    bad = out["error4xx"] + out["throttle429"] + out["fault5xx"]
    out["errorShare"] = bad / total if total else 0.0
    out["avgSeconds"] = float(summary.get("TotalResponseTime") or 0.0) / total if total else None
    out["status"] = _status(out)
    return out


def _status(c: Mapping[str, Any]) -> str:
    for key, status in (("fault5xx", "fault"), ("throttle429", "throttle"), ("error4xx", "error")):
        if c[key]:
            return status
    return "ok" if c["total"] else "idle"


def _per_minute(total: int, window: float) -> float:
    return total / (window / 60.0) if window > 0 else 0.0


def service_map(graph: Mapping[str, Any]) -> dict[str, Any]:
    """Nodes and edges of a GetServiceGraph answer, with rates over its time window."""
    window = float(graph.get("EndTime", 0)) - float(graph.get("StartTime", 0))
    nodes, edges = [], []
    for service in graph.get("Services", []):
        stats = counts(service.get("SummaryStatistics"))
        nodes.append(
            {
                "id": service["ReferenceId"],
                "name": service.get("Name", ""),
                "type": service.get("Type", ""),
                "state": service.get("State", ""),
                "root": bool(service.get("Root")),
                "perMinute": _per_minute(stats["total"], window),
                **stats,
            }
        )
        for edge in service.get("Edges", []):
            edges.append(_edge(service["ReferenceId"], edge, window))
    return {"windowSeconds": window, "nodes": nodes, "edges": edges}


def _edge(source: int, edge: Mapping[str, Any], window: float) -> dict[str, Any]:
    stats = counts(edge.get("SummaryStatistics"))
    histogram = edge.get("ResponseTimeHistogram") or []
    latency = {name: percentile(histogram, q) for name, q in PERCENTILES}
    return {
        "source": source,
        "target": edge["ReferenceId"],
        "perMinute": _per_minute(stats["total"], window),
        **stats,
        **latency,
    }


def _kind(doc: Mapping[str, Any]) -> str:
    if doc.get("fault"):
        return "fault"
    if doc.get("throttle"):
        return "throttle"
    if doc.get("error"):
        return "error"
    return "ok"


def _spans(
    doc: Mapping[str, Any], parent: str | None, depth: int, segment: bool
) -> Iterable[dict[str, Any]]:
    start = float(doc.get("start_time") or 0.0)
    end = doc.get("end_time")
    http = doc.get("http") or {}
    yield {
        "id": str(doc.get("id", "")),
        "parentId": parent,
        "name": str(doc.get("name", "")),
        "origin": str(doc.get("origin", "")),
        "segment": segment,
        "inferred": bool(doc.get("inferred")),
        "inProgress": end is None,
        "start": start,
        "end": float(end) if end is not None else None,
        "depth": depth,
        "status": _kind(doc),
        "httpStatus": (http.get("response") or {}).get("status"),
        "method": (http.get("request") or {}).get("method"),
        "url": (http.get("request") or {}).get("url"),
        "annotations": doc.get("annotations") or {},
    }
    for sub in doc.get("subsegments") or []:
        yield from _spans(sub, str(doc.get("id", "")), depth + 1, False)


def waterfall(trace: Mapping[str, Any]) -> dict[str, Any]:
    """One BatchGetTraces trace as rows in call order: each segment under its parent, its
    subsegments under it, with offsets from the trace's first start."""
    docs = [orjson.loads(s["Document"]) for s in trace.get("Segments", [])]
    by_id = {str(d.get("id")): d for d in docs}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for doc in docs:
        parent = doc.get("parent_id")
        key = parent if parent in by_id or parent in _sub_ids(docs) else None
        children.setdefault(key, []).append(doc)
    rows: list[dict[str, Any]] = []
    _walk(children, None, 0, rows, set())
    starts = [r["start"] for r in rows]
    origin = min(starts) if starts else 0.0
    for row in rows:
        row["offset"] = row["start"] - origin
        row["duration"] = (row["end"] - row["start"]) if row["end"] is not None else None
    return {
        "id": trace.get("Id"),
        "duration": trace.get("Duration"),
        "limitExceeded": trace.get("LimitExceeded", False),
        "rows": rows,
    }


def _sub_ids(docs: Sequence[Mapping[str, Any]]) -> set[str]:
    found: set[str] = set()
    stack = [s for d in docs for s in d.get("subsegments") or []]
    while stack:
        sub = stack.pop()
        found.add(str(sub.get("id")))
        stack.extend(sub.get("subsegments") or [])
    return found


def _walk(
    children: Mapping[str | None, list[dict[str, Any]]],
    parent: str | None,
    depth: int,
    rows: list[dict[str, Any]],
    seen: set[str],
) -> None:
    for doc in sorted(children.get(parent, []), key=lambda d: float(d.get("start_time") or 0)):
        doc_id = str(doc.get("id"))
        if doc_id in seen:  # a cycle in bad input must not loop forever
            continue
        seen.add(doc_id)
        spans = list(_spans(doc, parent, depth, True))
        rows.extend(spans)
        for span in spans:  # segments may hang under this one or under any of its subsegments
            _walk(children, span["id"], span["depth"] + 1, rows, seen)
