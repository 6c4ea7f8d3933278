"""X-Ray's trace operations: ingest (PutTraceSegments) and the queries over the trace store.

Thin: validation, assembly, filters, summaries and the graph are pure (`meshway.model.xray`);
rows live in `meshway.store.traces`. Everything is scoped to the caller's account and region, as
in AWS. Pages are offsets into a stable order, carried in an opaque `NextToken`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from meshway.core.clock import Clock
from meshway.core.context import RequestContext
from meshway.core.errors import InvalidRequestException
from meshway.model.xray.filters import Expr, FilterError, parse
from meshway.model.xray.graph import build_graph, hops
from meshway.model.xray.matching import Matcher
from meshway.model.xray.segments import TRACE_ID, Rejection, Segment, parse_documents
from meshway.model.xray.summaries import summarize
from meshway.model.xray.timeseries import time_series
from meshway.model.xray.traces import Trace, assemble
from meshway.store.traces import RangeType, TraceStore

SUMMARY_PAGE = 100
TRACE_PAGE = 5  # BatchGetTraces answers at most 5 traces a call (the API reference)

GroupFilter = Callable[[RequestContext, str, str], Expr | None]


def parse_filter(text: str) -> Expr:
    try:
        return parse(text)
    except FilterError as error:
        raise InvalidRequestException(f"Invalid filter expression: {error}") from error


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidRequestException("Invalid NextToken") from error
    if not isinstance(offset, int) or offset < 0:
        raise InvalidRequestException("Invalid NextToken")
    return offset


def _time(value: Any, member: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise InvalidRequestException(f"{member} is not a valid timestamp") from error


def time_window(start_time: Any, end_time: Any) -> tuple[float, float]:
    start, end = _time(start_time, "StartTime"), _time(end_time, "EndTime")
    if start > end:
        raise InvalidRequestException("StartTime must be before EndTime")
    return start, end


class TraceOperations:
    """PutTraceSegments, GetTraceSummaries, BatchGetTraces, GetTraceGraph, GetServiceGraph."""

    def __init__(self, traces: TraceStore, clock: Clock, group_filter: GroupFilter) -> None:
        self.traces = traces
        self.clock = clock
        self._group_filter = group_filter

    def put_trace_segments(
        self, ctx: RequestContext, *, trace_segment_documents: Sequence[str]
    ) -> dict[str, Any]:
        accepted: dict[tuple[str, str], Segment] = {}
        unprocessed = []
        for text in trace_segment_documents:
            for found in parse_documents(text):
                if isinstance(found, Rejection):
                    unprocessed.append(_unprocessed(found))
                else:
                    _keep(accepted, found)
        self.traces.put(ctx.account, ctx.region, list(accepted.values()))
        return {"UnprocessedTraceSegments": unprocessed}

    def _load(self, ctx: RequestContext, trace_ids: Sequence[str]) -> list[Trace]:
        stored = self.traces.documents(ctx.account, ctx.region, trace_ids)
        return [assemble(tid, stored[tid]) for tid in trace_ids if tid in stored]

    def _matcher(self, ctx: RequestContext) -> Matcher:
        def groups(by: str, value: str) -> Expr:
            found = self._group_filter(ctx, by, value)
            if found is None:
                raise FilterError(f"group {value!r} has no filter expression")
            return found

        return Matcher(account=ctx.account, groups=groups)

    def get_trace_summaries(
        self,
        ctx: RequestContext,
        *,
        start_time: Any,
        end_time: Any,
        time_range_type: str | None = None,
        filter_expression: str | None = None,
        next_token: str | None = None,
        **_: Any,  # Sampling, SamplingStrategy: every matching trace is returned
    ) -> dict[str, Any]:
        start, end = time_window(start_time, end_time)
        expr = parse_filter(filter_expression) if filter_expression is not None else None
        by = _range_type(time_range_type)
        found = self.traces.trace_ids(ctx.account, ctx.region, by, start, end)
        offset = _offset(next_token)
        matcher = self._matcher(ctx)
        summaries: list[dict[str, Any]] = []
        at = offset
        while at < len(found) and len(summaries) < SUMMARY_PAGE:
            chunk = found[at : at + SUMMARY_PAGE]
            loaded = {trace.id: trace for trace in self._load(ctx, [t for t, _ in chunk])}
            for trace_id, when in chunk:
                at += 1
                trace = loaded.get(trace_id)  # None: retention took it since the listing
                if trace is None or (expr is not None and not _safe_match(matcher, expr, trace)):
                    continue
                summary = summarize(trace, hops(trace))
                summaries.append({**summary, "MatchedEventTime": when})
                if len(summaries) == SUMMARY_PAGE:
                    break
        output: dict[str, Any] = {
            "TraceSummaries": summaries,
            "ApproximateTime": self.clock.now(),
            "TracesProcessedCount": at - offset,
        }
        if at < len(found):
            output["NextToken"] = _token(at)
        return output

    def batch_get_traces(
        self, ctx: RequestContext, *, trace_ids: Sequence[str], next_token: str | None = None
    ) -> dict[str, Any]:
        offset = _offset(next_token)
        page = list(trace_ids)[offset : offset + TRACE_PAGE]
        valid = [t.lower() for t in page if TRACE_ID.match(t)]
        loaded = {trace.id: trace for trace in self._load(ctx, valid)}
        output: dict[str, Any] = {
            "Traces": [_wire_trace(loaded[t.lower()]) for t in page if t.lower() in loaded],
            "UnprocessedTraceIds": [t for t in page if t.lower() not in loaded],
        }
        if offset + TRACE_PAGE < len(trace_ids):
            output["NextToken"] = _token(offset + TRACE_PAGE)
        return output

    def get_trace_graph(
        self, ctx: RequestContext, *, trace_ids: Sequence[str], next_token: str | None = None
    ) -> dict[str, Any]:
        _offset(next_token)
        valid = [t.lower() for t in trace_ids if TRACE_ID.match(t)]
        return {"Services": build_graph(self._load(ctx, valid))}

    def get_service_graph(
        self,
        ctx: RequestContext,
        *,
        start_time: Any,
        end_time: Any,
        group_name: str | None = None,
        group_arn: str | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        start, end = time_window(start_time, end_time)
        _offset(next_token)
        expr = self._group_expression(ctx, group_name, group_arn)
        found = self.traces.trace_ids(ctx.account, ctx.region, RangeType.EVENT, start, end)
        traces = self._load(ctx, [trace_id for trace_id, _ in found])
        if expr is not None:
            matcher = self._matcher(ctx)
            traces = [t for t in traces if _safe_match(matcher, expr, t)]
        return {
            "StartTime": start,
            "EndTime": end,
            "Services": build_graph(traces),
            "ContainsOldGroupVersions": False,
        }

    def get_time_series_service_statistics(
        self,
        ctx: RequestContext,
        *,
        start_time: Any,
        end_time: Any,
        entity_selector_expression: str | None = None,
        group_name: str | None = None,
        group_arn: str | None = None,
        period: int | None = None,
        next_token: str | None = None,
        **_: Any,  # ForecastStatistics: Meshway does not forecast
    ) -> dict[str, Any]:
        start, end = time_window(start_time, end_time)
        _offset(next_token)
        every = 60 if period is None else period
        if every <= 0 or every % 60:
            raise InvalidRequestException("Period must be a positive multiple of 60 seconds")
        entity = parse_filter(entity_selector_expression) if entity_selector_expression else None
        expr = self._group_expression(ctx, group_name, group_arn)
        found = self.traces.trace_ids(ctx.account, ctx.region, RangeType.EVENT, start, end)
        traces = self._load(ctx, [trace_id for trace_id, _ in found])
        if expr is not None:
            matcher = self._matcher(ctx)
            traces = [t for t in traces if _safe_match(matcher, expr, t)]
        try:
            series = time_series(
                traces, entity, account=ctx.account, start=start, end=end, period=every
            )
        except FilterError as error:
            raise InvalidRequestException(f"Invalid entity selector: {error}") from error
        return {"TimeSeriesServiceStatistics": series, "ContainsOldGroupVersions": False}

    def _group_expression(
        self, ctx: RequestContext, name: str | None, arn: str | None
    ) -> Expr | None:
        if arn is not None:
            return self._group_filter(ctx, "arn", arn)
        if name is not None:
            return self._group_filter(ctx, "name", name)
        return None


def _range_type(value: str | None) -> RangeType:
    try:
        return RangeType(value or RangeType.TRACE_ID)
    except ValueError as error:
        raise InvalidRequestException(f"Invalid TimeRangeType: {value}") from error


def _safe_match(matcher: Matcher, expr: Expr, trace: Trace) -> bool:
    try:
        return matcher.matches(expr, trace)
    except FilterError as error:
        raise InvalidRequestException(f"Invalid filter expression: {error}") from error


def _keep(accepted: dict[tuple[str, str], Segment], found: Segment) -> None:
    """The same document twice in one call: the later wins, as if sent in two calls, except
    that an in-progress copy never replaces a complete one (the store's own rule)."""
    key = (found.trace_id, found.id)
    earlier = accepted.get(key)
    if earlier is None or found.end_time is not None or earlier.end_time is None:
        accepted[key] = found


def _unprocessed(rejection: Rejection) -> dict[str, Any]:
    entry = {"ErrorCode": rejection.code, "Message": rejection.message}
    return {"Id": rejection.id, **entry} if rejection.id is not None else entry


def _wire_trace(trace: Trace) -> dict[str, Any]:
    return {
        "Id": trace.id,
        "Duration": round(trace.duration, 6),
        "LimitExceeded": trace.limit_exceeded,
        "Segments": [
            {"Id": str(s["id"]), "Document": orjson.dumps(s).decode()} for s in trace.segments
        ],
    }
