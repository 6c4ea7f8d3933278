"""The trace store: X-Ray segment documents in their own table of the store's database.

Why not the generic record store: every `put` there bumps the revision and writes the change feed
that the runtime, scheduler, xDS sync and resolver follow, so each segment would wake four engines
and cost a revision row; segments need none of that, and ingest must reach 10,000 segments/s
(bench/xray_store.py measures both paths). Here one PutTraceSegments call is one transaction and
one `executemany` upsert keyed by (account, region, trace id, segment id): a complete document
replaces an in-progress one, never the reverse. Retention is bounded by age and total size; whole
traces go, oldest first, so no trace is ever left half-deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from meshway.core.clock import Clock
from meshway.model.xray.segments import Segment
from meshway.model.xray.traces import Stored

metadata = sa.MetaData()

segments = sa.Table(
    "xray_segments",
    metadata,
    sa.Column("account", sa.String(12), primary_key=True),
    sa.Column("region", sa.String(32), primary_key=True),
    sa.Column("trace_id", sa.String(35), primary_key=True),
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("parent_id", sa.String(16), nullable=True),
    sa.Column("independent", sa.Boolean, nullable=False),
    sa.Column("trace_time", sa.BigInteger, nullable=False),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("end_time", sa.Float, nullable=True),
    sa.Column("received", sa.Float, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Index("ix_xray_trace_time", "account", "region", "trace_time"),
    sa.Index("ix_xray_start", "account", "region", "start_time"),
    sa.Index("ix_xray_received", "received"),
)

# NOTE: an in-progress copy that arrives after the complete one must not undo it
# (docs/xray-api-segmentdocuments.md: the complete segment overwrites the in-progress one).
UPSERT = (
    "INSERT INTO xray_segments (account, region, trace_id, id, parent_id, independent, "
    "trace_time, start_time, end_time, received, size, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account, region, trace_id, id) DO UPDATE SET "
    "parent_id = excluded.parent_id, independent = excluded.independent, "
    "start_time = excluded.start_time, end_time = excluded.end_time, "
    "received = excluded.received, size = excluded.size, body = excluded.body "
    "WHERE excluded.end_time IS NOT NULL OR xray_segments.end_time IS NULL"
)


_TOTAL = sa.select(sa.func.coalesce(sa.func.sum(segments.c.size), 0))


class RangeType(StrEnum):
    """GetTraceSummaries' `TimeRangeType`."""

    TRACE_ID = "TraceId"
    EVENT = "Event"
    SERVICE = "Service"


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How much the store keeps. Defaults: AWS's 30 days, and 256 MiB of documents."""

    max_age: float = 30 * 24 * 3600.0
    max_bytes: int = 256 * 1024 * 1024
    check_every: float = 10.0  # seconds between retention checks on the write path


class TraceStore:
    """Segments of every account and region, on the store's engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, clock: Clock, retention: Retention | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.retention = retention or Retention()
        self._sqlite = engine.dialect.name == "sqlite"
        self._upsert = UPSERT if self._sqlite else UPSERT.replace("?", "%s")
        self._next_check = 0.0
        # What this process believes the documents weigh: summing the table is a full scan, so
        # it is done only when this estimate (grown by each put) passes the size limit.
        self._bytes: int | None = None
        metadata.create_all(engine)

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            else:
                conn.begin()
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK") if self._sqlite else conn.rollback()
                raise
            conn.exec_driver_sql("COMMIT") if self._sqlite else conn.commit()

    def put(self, account: str, region: str, batch: Sequence[Segment]) -> None:
        """Upsert one call's accepted documents in one transaction."""
        if not batch:
            return
        now = self.clock.now()
        rows = [
            (
                account,
                region,
                s.trace_id,
                s.id,
                s.parent_id,
                s.independent,
                s.trace_time,
                s.start_time,
                s.end_time,
                now,
                s.size,
                orjson.dumps(s.body),
            )
            for s in batch
        ]
        with self._begin(write=True) as conn:
            conn.exec_driver_sql(self._upsert, rows)
        if self._bytes is not None:
            self._bytes += sum(s.size for s in batch)
        if now >= self._next_check:
            self._next_check = now + self.retention.check_every
            self.enforce_retention()

    def trace_ids(
        self, account: str, region: str, by: RangeType, start: float, end: float
    ) -> list[tuple[str, float]]:
        """(trace id, the time it matched) of traces in [start, end) by `by`, oldest first."""
        c = segments.c
        mine = (c.account == account, c.region == region)
        if by is RangeType.TRACE_ID:
            when: Any = sa.func.min(c.trace_time)
            where = (c.trace_time >= start, c.trace_time < end)
        elif by is RangeType.SERVICE:
            when = sa.func.min(c.end_time)
            where = (c.end_time >= start, c.end_time < end)
        else:
            when = sa.func.min(c.start_time)
            where = (c.start_time < end, sa.func.coalesce(c.end_time, c.start_time) >= start)
        query = (
            sa.select(c.trace_id, when)
            .where(*mine, *where)
            .group_by(c.trace_id)
            .order_by(when, c.trace_id)
        )
        with self._begin(write=False) as conn:
            return [(str(row[0]), float(row[1])) for row in conn.execute(query)]

    def documents(
        self, account: str, region: str, trace_ids: Sequence[str]
    ) -> dict[str, list[Stored]]:
        """Every stored document of the given traces (absent traces are absent)."""
        c = segments.c
        found: dict[str, list[Stored]] = {}
        with self._begin(write=False) as conn:
            for chunk in _chunks(list(dict.fromkeys(trace_ids)), 500):
                query = sa.select(c.trace_id, c.id, c.parent_id, c.independent, c.size, c.body)
                query = query.where(c.account == account, c.region == region, c.trace_id.in_(chunk))
                for trace_id, seg_id, parent_id, independent, size, body in conn.execute(query):
                    found.setdefault(str(trace_id), []).append(
                        Stored(
                            id=str(seg_id),
                            parent_id=parent_id,
                            independent=bool(independent),
                            size=int(size),
                            body=orjson.loads(body),
                        )
                    )
        return found

    def enforce_retention(self) -> int:
        """Drop every trace with a document older than the age limit, then whole traces,
        oldest first, until the rest fits the size limit. Returns how many documents went."""
        c = segments.c
        cutoff = self.clock.now() - self.retention.max_age
        with self._begin(write=True) as conn:
            old = sa.select(c.account, c.region, c.trace_id).where(c.received < cutoff).distinct()
            dropped = self._drop(conn, [tuple(row) for row in conn.execute(old)])
            if dropped or self._bytes is None or self._bytes > self.retention.max_bytes:
                self._bytes = int(conn.execute(_TOTAL).scalar_one())
            if self._bytes > self.retention.max_bytes:
                dropped += self._drop_oldest(conn, self._bytes - self.retention.max_bytes)
                self._bytes = int(conn.execute(_TOTAL).scalar_one())
        return int(dropped)

    def _drop_oldest(self, conn: Connection, excess: int) -> int:
        c = segments.c
        traces = (
            sa.select(c.account, c.region, c.trace_id, sa.func.sum(c.size))
            .group_by(c.account, c.region, c.trace_id)
            .order_by(sa.func.max(c.received))
        )
        doomed: list[tuple[str, str, str]] = []
        for account, region, trace_id, size in conn.execute(traces):
            if excess <= 0:
                break
            doomed.append((account, region, trace_id))
            excess -= int(size)
        return self._drop(conn, doomed)

    @staticmethod
    def _drop(conn: Connection, traces: Sequence[tuple[Any, ...]]) -> int:
        c, dropped = segments.c, 0
        for account, region, trace_id in traces:
            mine = (c.account == account, c.region == region, c.trace_id == trace_id)
            dropped += conn.execute(sa.delete(segments).where(*mine)).rowcount or 0
        return dropped

    def total_bytes(self) -> int:
        with self._begin(write=False) as conn:
            return int(conn.execute(_TOTAL).scalar_one())


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]
