"""`meshway traces [TRACE_ID]`: search traces, or show one as a tree with durations.

Through the server's X-Ray API as any client: GetTraceSummaries with `--filter` (the X-Ray
filter-expression subset the server implements: `service("front")`, `http.status = 500`,
`responsetime > 0.5`, `fault`, ...) over the last `--since` minutes, and BatchGetTraces for one
trace. `span_tree` (pure) turns a trace's segment documents into the tree of segments and
subsegments, each under the (sub)segment that called it, with its duration and outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from rich.tree import Tree

from meshway.cli import common


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """A segment or subsegment: offset from the trace's start and duration, in seconds."""

    id: str
    name: str
    origin: str | None
    offset: float
    duration: float | None  # None: still in progress
    status: int | None
    outcome: str  # ok, error, throttle, fault
    children: tuple[Span, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "origin": self.origin,
            "offset": self.offset,
            "duration": self.duration,
            "status": self.status,
            "outcome": self.outcome,
            "children": [c.to_json() for c in self.children],
        }


def _outcome(doc: Mapping[str, Any]) -> str:
    for flag in ("fault", "throttle", "error"):
        if doc.get(flag):
            return flag
    return "ok"


def _flatten(
    doc: Mapping[str, Any], parent: str | None
) -> Iterable[tuple[Mapping[str, Any], str | None]]:
    yield doc, parent
    for sub in doc.get("subsegments") or ():
        yield from _flatten(sub, str(doc["id"]))


def _span(
    doc: Mapping[str, Any], start: float, children: Mapping[str, list[Mapping[str, Any]]]
) -> Span:
    began = float(doc.get("start_time") or start)
    ended = doc.get("end_time")
    status = ((doc.get("http") or {}).get("response") or {}).get("status")
    kids = sorted(children.get(str(doc["id"]), ()), key=lambda d: float(d.get("start_time") or 0))
    return Span(
        id=str(doc["id"]),
        name=str(doc.get("name", "")),
        origin=doc.get("origin"),
        offset=began - start,
        duration=None if ended is None or doc.get("in_progress") else float(ended) - began,
        status=int(status) if status is not None else None,
        outcome=_outcome(doc),
        children=tuple(_span(k, start, children) for k in kids),
    )


def span_tree(documents: Iterable[Mapping[str, Any]]) -> list[Span]:
    """Segment documents of one trace → its root spans (segments with no known parent), each
    (sub)segment under the one that called it, ordered by start time."""
    nodes: dict[str, tuple[Mapping[str, Any], str | None]] = {}
    for doc in documents:
        for node, parent in _flatten(doc, None):
            nodes[str(node["id"])] = (node, parent or node.get("parent_id"))
    if not nodes:
        return []
    start = min(float(n.get("start_time") or 0) for n, _ in nodes.values())
    children: dict[str, list[Mapping[str, Any]]] = {}
    roots = []
    for node, parent in nodes.values():
        if parent is not None and parent in nodes:
            children.setdefault(parent, []).append(node)
        else:
            roots.append(node)
    roots.sort(key=lambda d: float(d.get("start_time") or 0))
    return [_span(root, start, children) for root in roots]


def _ms(seconds: float | None) -> str:
    return "in progress" if seconds is None else f"{seconds * 1000:.1f} ms"


def _label(span: Span) -> str:
    status = f" [{span.status}]" if span.status is not None else ""
    outcome = "" if span.outcome == "ok" else f" {span.outcome.upper()}"
    return f"{span.name}  +{_ms(span.offset)}  {_ms(span.duration)}{status}{outcome}"


def _add(tree: Tree, spans: Sequence[Span]) -> None:
    for span in spans:
        _add(tree.add(_label(span)), span.children)


def summary_row(summary: Mapping[str, Any]) -> tuple[Any, ...]:
    http = summary.get("Http") or {}
    flags = [f for f in ("HasFault", "HasThrottle", "HasError") if summary.get(f)]
    return (
        summary.get("Id"),
        f"{float(summary.get('Duration') or 0) * 1000:.1f} ms",
        http.get("HttpMethod"),
        http.get("HttpURL"),
        http.get("HttpStatus"),
        ",".join(f[3:].lower() for f in flags) or "ok",
        ",".join(str(s.get("Name")) for s in summary.get("ServiceIds") or ()),
    )


def search(xray: Any, since_minutes: float, expression: str | None) -> list[dict[str, Any]]:
    end = time.time()
    members: dict[str, Any] = {"StartTime": end - since_minutes * 60, "EndTime": end}
    if expression:
        members["FilterExpression"] = expression
    found: list[dict[str, Any]] = []
    for page in xray.get_paginator("get_trace_summaries").paginate(**members):
        found += page["TraceSummaries"]
    return found


def fetch(xray: Any, trace_id: str) -> tuple[dict[str, Any], list[Span]] | None:
    """(the trace's id and duration, its span tree), or None if the server has no such trace."""
    traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    if not traces:
        return None
    documents = [json.loads(s["Document"]) for s in traces[0].get("Segments") or ()]
    return {"id": traces[0]["Id"], "duration": traces[0].get("Duration")}, span_tree(documents)


@click.command()
@common.ENDPOINT
@common.REGION
@common.OUTPUT
@click.argument("trace_id", required=False)
@click.option(
    "--filter",
    "-f",
    "expression",
    default=None,
    help="X-Ray filter expression, e.g. 'service(\"front\") AND http.status = 500'.",
)
@click.option(
    "--since",
    type=float,
    default=15.0,
    show_default=True,
    help="Search the last this many minutes.",
)
@common.aws_errors
def traces(
    endpoint_url: str,
    region: str | None,
    output: str,
    trace_id: str | None,
    expression: str | None,
    since: float,
) -> None:
    """Search recent traces (GetTraceSummaries), or show TRACE_ID as a tree with durations."""
    xray = common.client(endpoint_url, "xray", region)
    if trace_id is None:
        found = search(xray, since, expression)
        if output == "json":
            common.print_json(found)
            return
        columns = ("TRACE", "DURATION", "METHOD", "URL", "STATUS", "OUTCOME", "SERVICES")
        rows = [summary_row(s) for s in found]
        common.console().print(common.table(f"{len(rows)} trace(s)", columns, rows))
        return
    found_trace = fetch(xray, trace_id)
    if found_trace is None:
        raise click.ClickException(f"no trace {trace_id} (BatchGetTraces found none)")
    trace, spans = found_trace
    if output == "json":
        common.print_json({**trace, "spans": [s.to_json() for s in spans]})
        return
    tree = Tree(f"trace {trace['id']}  {_ms(trace['duration'])}")
    _add(tree, spans)
    common.console().print(tree)
