"""The service graph of a set of traces: GetServiceGraph and GetTraceGraph compute this.

Rules (reference/xray.md §3.2; AWS's exact algorithm is unpublished):

* A node is a service, keyed by (`name`, `origin`). Its statistics come only from its own *entry*
  segments: a segment whose parent is not a segment of the same service. Envoy writes two
  segments per hop, ingress then egress, both under the node's name; counting both would double
  every request, so the egress one (child of the ingress, same service) is a continuation.
* An edge runs from the service of a parent to the service of a child segment. Its statistics
  come from the caller's subsegment when the link goes through one (the round trip as the caller
  saw it), else from the child segment (Envoy sends no subsegments).
* A root entry segment (no parent in the trace) gets a `client` node of the same name and an edge
  from it; the service is `Root`.
* A subsegment of namespace `remote` or `aws` that no segment claims as parent becomes an inferred
  node (`remote`, named after the HTTP host; or `AWS::<name>`), state `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from meshway.model.xray.traces import Trace, child, end_of, walk

CLIENT = "client"
REMOTE = "remote"


@dataclass(frozen=True, slots=True, order=True)
class ServiceKey:
    name: str
    type: str  # "" when the segment names no origin

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": self.name, "Names": [self.name]}
        if self.type:
            out["Type"] = self.type
        return out


def key_of(segment: dict[str, Any]) -> ServiceKey:
    return ServiceKey(str(segment["name"]), str(segment.get("origin") or ""))


@dataclass(slots=True)
class Stats:
    """Summary statistics and histograms of a node or an edge, as the API words them."""

    ok: int = 0
    throttle: int = 0
    error_other: int = 0
    fault: int = 0
    total: int = 0
    response_time: float = 0.0
    histogram: dict[float, int] = field(default_factory=dict)
    start: float | None = None
    end: float | None = None

    def add(self, doc: dict[str, Any]) -> None:
        self.span(doc)
        if doc.get("end_time") is None:
            return  # in progress: no outcome and no response time yet
        error, throttle, fault = (bool(doc.get(f)) for f in ("error", "throttle", "fault"))
        self.total += 1
        self.ok += not (error or throttle or fault)
        self.throttle += throttle
        self.error_other += error and not throttle
        self.fault += fault
        elapsed = max(0.0, end_of(doc) - float(doc["start_time"]))
        self.response_time += elapsed
        bucket = round(elapsed, 3)  # 1 ms buckets
        self.histogram[bucket] = self.histogram.get(bucket, 0) + 1

    def span(self, doc: dict[str, Any]) -> None:
        start, end = float(doc["start_time"]), end_of(doc)
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)

    def summary(self) -> dict[str, Any]:
        return {
            "OkCount": self.ok,
            "ErrorStatistics": {
                "ThrottleCount": self.throttle,
                "OtherCount": self.error_other,
                "TotalCount": self.throttle + self.error_other,
            },
            "FaultStatistics": {"OtherCount": self.fault, "TotalCount": self.fault},
            "TotalCount": self.total,
            "TotalResponseTime": round(self.response_time, 6),
        }

    def wire_histogram(self) -> list[dict[str, Any]]:
        return [{"Value": value, "Count": n} for value, n in sorted(self.histogram.items())]


@dataclass(slots=True)
class Node:
    key: ServiceKey
    state: str
    root: bool = False
    stats: Stats = field(default_factory=Stats)
    edges: dict[ServiceKey, Stats] = field(default_factory=dict)

    def edge(self, to: ServiceKey) -> Stats:
        return self.edges.setdefault(to, Stats())


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """One call between services in a trace; `doc` is what its statistics come from."""

    source: ServiceKey
    target: ServiceKey
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hops:
    """A trace read as service calls: what the graph counts and filters test."""

    entries: tuple[tuple[ServiceKey, dict[str, Any]], ...]  # a service's own requests
    continuations: tuple[tuple[ServiceKey, dict[str, Any]], ...]  # e.g. Envoy egress segments
    roots: frozenset[ServiceKey]
    links: tuple[Link, ...]
    inferred: tuple[tuple[ServiceKey, dict[str, Any]], ...]


def hops(trace: Trace) -> Hops:
    segments = {str(s["id"]).lower(): s for s in trace.segments}
    owners = {
        str(sub["id"]).lower(): seg
        for seg in trace.segments
        for sub in list(walk(seg))[1:]
        if "id" in sub
    }
    entries, continuations, links, roots = [], [], [], set()
    for segment in trace.segments:
        key = key_of(segment)
        parent_id = str(segment.get("parent_id") or "").lower()
        parent, via = segments.get(parent_id), None
        if parent is None and parent_id in owners:
            parent = owners[parent_id]
            via = _find(parent, parent_id)
        if parent is not None and key_of(parent) == key:
            continuations.append((key, segment))
            continue
        entries.append((key, segment))
        if parent is None:
            roots.add(key)
            links.append(Link(source=ServiceKey(key.name, CLIENT), target=key, doc=segment))
        else:
            doc = via if via is not None else segment
            links.append(Link(source=key_of(parent), target=key, doc=doc))
    claimed = {str(s.get("parent_id") or "").lower() for s in trace.segments}
    inferred = []
    for segment in trace.segments:
        for sub in _remote_calls(segment, claimed):
            target = inferred_key(sub)
            inferred.append((target, sub))
            links.append(Link(source=key_of(segment), target=target, doc=sub))
    return Hops(
        entries=tuple(entries),
        continuations=tuple(continuations),
        roots=frozenset(roots),
        links=tuple(links),
        inferred=tuple(inferred),
    )


def _remote_calls(segment: dict[str, Any], claimed: set[str]) -> list[dict[str, Any]]:
    """Downstream calls no instrumented service answered (its segment would make the edge)."""
    return [
        sub
        for sub in list(walk(segment))[1:]
        if sub.get("namespace") in ("remote", "aws")
        and "start_time" in sub
        and str(sub.get("id", "")).lower() not in claimed
    ]


class GraphBuilder:
    """Accumulates traces; `services()` gives the API's `Services` list."""

    def __init__(self) -> None:
        self._nodes: dict[ServiceKey, Node] = {}

    def node(self, key: ServiceKey, state: str = "active") -> Node:
        found = self._nodes.get(key)
        if found is None:
            state = "unknown" if key.type == CLIENT else state
            found = self._nodes[key] = Node(key=key, state=state)
        return found

    def add_trace(self, trace: Trace) -> None:
        found = hops(trace)
        for key, segment in found.entries:
            self.node(key).stats.add(segment)
        for key, segment in found.continuations:
            self.node(key).stats.span(segment)
        for key in found.roots:
            self.node(key).root = True
        for key, sub in found.inferred:
            self.node(key, state="unknown").stats.add(sub)
        for link in found.links:
            self.node(link.target)
            self.node(link.source).edge(link.target).add(link.doc)

    def services(self) -> list[dict[str, Any]]:
        ordered = sorted(self._nodes.values(), key=lambda n: (n.key.type != CLIENT, n.key))
        ids = {node.key: index for index, node in enumerate(ordered)}
        return [_wire(node, ids) for node in ordered]


def inferred_key(sub: dict[str, Any]) -> ServiceKey:
    """The node X-Ray infers for an unanswered downstream call."""
    if sub.get("namespace") == "aws":
        table = child(sub, "aws").get("table_name")
        service = str(sub["name"])
        if table:
            return ServiceKey(str(table), f"AWS::{service}::Table")
        return ServiceKey(service, f"AWS::{service}")
    url = child(sub, "http", "request").get("url")
    host = urlsplit(str(url)).hostname if url else None
    return ServiceKey(host or str(sub["name"]), REMOTE)


def _find(doc: dict[str, Any], sub_id: str) -> dict[str, Any] | None:
    return next((d for d in walk(doc) if str(d.get("id", "")).lower() == sub_id), None)


def _wire(node: Node, ids: dict[ServiceKey, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"ReferenceId": ids[node.key], **node.key.wire()}
    out["Root"] = node.root
    out["State"] = node.state
    edges = []
    for target, stats in sorted(node.edges.items(), key=lambda item: ids[item[0]]):
        edges.append(
            {
                "ReferenceId": ids[target],
                "StartTime": stats.start,
                "EndTime": stats.end,
                "SummaryStatistics": stats.summary(),
                "ResponseTimeHistogram": stats.wire_histogram(),
                "Aliases": [],
            }
        )
    out["Edges"] = edges
    if node.key.type == CLIENT:
        # A client is not instrumented: no segments of its own to count, only its calls.
        out["StartTime"] = min((s.start for s in node.edges.values() if s.start), default=None)
        out["EndTime"] = max((s.end for s in node.edges.values() if s.end), default=None)
        return out
    out["StartTime"] = node.stats.start
    out["EndTime"] = node.stats.end
    out["SummaryStatistics"] = node.stats.summary()
    out["DurationHistogram"] = node.stats.wire_histogram()
    out["ResponseTimeHistogram"] = node.stats.wire_histogram()
    return out


def build_graph(traces: Iterable[Trace]) -> list[dict[str, Any]]:
    builder = GraphBuilder()
    for trace in traces:
        builder.add_trace(trace)
    return builder.services()
