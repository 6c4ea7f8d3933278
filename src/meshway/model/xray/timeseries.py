"""GetTimeSeriesServiceStatistics: one service's (or one edge's) statistics per period.

The entity is named by an expression of the filter language, `service(id(...))` or
`edge(id(...), id(...))`, as Grafana's X-Ray data source sends it; without one every service's own
requests are counted. Each document counts in the period its end time falls in; counting is the
service graph's (`graph.py`), so the two always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meshway.model.xray.filters import Edge, Expr, FilterError, Service
from meshway.model.xray.graph import Stats, hops
from meshway.model.xray.matching import id_matches
from meshway.model.xray.traces import Trace, end_of


def selected(trace: Trace, entity: Expr | None, account: str) -> list[dict[str, Any]]:
    """The documents whose statistics count for `entity` in this trace."""
    found = hops(trace)
    if entity is None:
        return [doc for _, doc in found.entries]
    if isinstance(entity, Service):
        own = [*found.entries, *found.inferred]
        return [doc for key, doc in own if id_matches(entity.id, key, account)]
    if isinstance(entity, Edge):
        return [
            link.doc
            for link in found.links
            if id_matches(entity.source, link.source, account)
            and id_matches(entity.target, link.target, account)
        ]
    raise FilterError("an entity selector is service(...) or edge(...)")


def time_series(
    traces: Iterable[Trace],
    entity: Expr | None,
    *,
    account: str,
    start: float,
    end: float,
    period: int,
) -> list[dict[str, Any]]:
    buckets: dict[int, Stats] = {}
    for trace in traces:
        for doc in selected(trace, entity, account):
            when = end_of(doc)
            if doc.get("end_time") is None or not start <= when < end:
                continue
            slot = int((when - start) // period)
            buckets.setdefault(slot, Stats()).add(doc)
    member = "EdgeSummaryStatistics" if isinstance(entity, Edge) else "ServiceSummaryStatistics"
    return [
        {
            "Timestamp": start + slot * period,
            member: stats.summary(),
            "ResponseTimeHistogram": stats.wire_histogram(),
        }
        for slot, stats in sorted(buckets.items())
    ]
