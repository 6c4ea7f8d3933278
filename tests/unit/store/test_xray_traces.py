"""The trace store on a real SQLite file: upserts, time ranges and retention."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshway.core.clock import FixedClock
from meshway.model.xray.segments import Segment, parse_document
from meshway.store.sql import SqlStore, open_store
from meshway.store.traces import RangeType, Retention, TraceStore

ACCOUNT, REGION = "111122223333", "us-west-2"


def doc(
    trace: int, sid: int, *, start: float = 1000.0, end: float | None = 1001.0, **extra: Any
) -> Segment:
    body: dict[str, Any] = {
        "name": "svc",
        "id": f"{sid:016x}",
        "trace_id": f"1-{trace:08x}-{'0' * 24}",
        "start_time": start,
        **({"end_time": end} if end is not None else {"in_progress": True}),
        **extra,
    }
    found = parse_document(json.dumps(body))
    assert isinstance(found, Segment), found
    return found


@pytest.fixture
def sql(tmp_path: Path) -> SqlStore:
    store = open_store(None, tmp_path)
    yield store  # type: ignore[misc]
    store.close()


def bodies(traces: TraceStore, trace: int, account: str = ACCOUNT) -> list[dict[str, Any]]:
    tid = f"1-{trace:08x}-{'0' * 24}"
    return [s.body for s in traces.documents(account, REGION, [tid]).get(tid, [])]


def test_a_complete_segment_replaces_its_in_progress_copy_but_never_the_reverse(
    sql: SqlStore,
) -> None:
    traces = TraceStore(sql.engine, FixedClock())
    traces.put(ACCOUNT, REGION, [doc(1000, 1, end=None)])
    traces.put(ACCOUNT, REGION, [doc(1000, 1, end=1002.0, fault=True)])
    traces.put(ACCOUNT, REGION, [doc(1000, 1, end=None)])  # late, out-of-order in-progress copy
    (only,) = bodies(traces, 1000)
    assert only["end_time"] == 1002.0 and only["fault"] is True


def test_traces_are_kept_apart_by_account(sql: SqlStore) -> None:
    traces = TraceStore(sql.engine, FixedClock())
    traces.put(ACCOUNT, REGION, [doc(1000, 1)])
    assert bodies(traces, 1000, account="999988887777") == []
    assert traces.trace_ids("999988887777", REGION, RangeType.TRACE_ID, 0, 1e10) == []


def test_each_time_range_type_selects_by_its_own_clock(sql: SqlStore) -> None:
    traces = TraceStore(sql.engine, FixedClock())
    # Trace time 500, but the segment ran 1000..1010.
    traces.put(ACCOUNT, REGION, [doc(500, 1, start=1000.0, end=1010.0)])
    tid = f"1-{500:08x}-{'0' * 24}"
    assert traces.trace_ids(ACCOUNT, REGION, RangeType.TRACE_ID, 500, 501) == [(tid, 500.0)]
    assert traces.trace_ids(ACCOUNT, REGION, RangeType.TRACE_ID, 501, 2000) == []
    assert traces.trace_ids(ACCOUNT, REGION, RangeType.EVENT, 1005, 1006) == [(tid, 1000.0)]
    assert traces.trace_ids(ACCOUNT, REGION, RangeType.EVENT, 1011, 1020) == []
    assert traces.trace_ids(ACCOUNT, REGION, RangeType.SERVICE, 1010, 1011) == [(tid, 1010.0)]
    assert traces.trace_ids(ACCOUNT, REGION, RangeType.SERVICE, 1000, 1010) == []


def test_a_trace_with_a_document_older_than_the_age_limit_goes_whole(sql: SqlStore) -> None:
    clock = FixedClock(10_000.0)
    traces = TraceStore(sql.engine, clock, Retention(max_age=100.0, check_every=1e9))
    traces.put(ACCOUNT, REGION, [doc(1, 1)])
    clock.advance(60)
    traces.put(ACCOUNT, REGION, [doc(1, 2), doc(2, 3)])  # trace 1 gets a newer document
    clock.advance(60)
    assert traces.enforce_retention() == 2
    assert bodies(traces, 1) == [] and len(bodies(traces, 2)) == 1


def test_past_the_size_limit_whole_traces_go_oldest_first(sql: SqlStore) -> None:
    clock = FixedClock(10_000.0)
    one = doc(1, 1).size
    traces = TraceStore(sql.engine, clock, Retention(max_bytes=5 * one, check_every=1e9))
    for trace in range(1, 5):  # four traces of two documents each
        clock.advance(1)
        traces.put(ACCOUNT, REGION, [doc(trace, 1), doc(trace, 2)])
    assert traces.enforce_retention() == 4  # traces 1 and 2, both documents each
    assert [len(bodies(traces, t)) for t in range(1, 5)] == [0, 0, 2, 2]
    assert traces.total_bytes() <= 5 * one


def test_retention_runs_on_the_write_path_at_most_every_check_interval(sql: SqlStore) -> None:
    clock = FixedClock(10_000.0)
    traces = TraceStore(sql.engine, clock, Retention(max_age=5.0, check_every=30.0))
    traces.put(ACCOUNT, REGION, [doc(1, 1)])  # checks now, next check at +30 s
    clock.advance(10)
    traces.put(ACCOUNT, REGION, [doc(2, 2)])  # trace 1 is too old, but no check is due
    assert len(bodies(traces, 1)) == 1
    clock.advance(25)
    traces.put(ACCOUNT, REGION, [doc(3, 3)])
    assert bodies(traces, 1) == [] and bodies(traces, 2) == [] and len(bodies(traces, 3)) == 1
