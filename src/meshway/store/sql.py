"""The store on SQLAlchemy 2 Core: SQLite (WAL) by default, PostgreSQL for several servers.

One transaction per API write. SQLite takes the write lock up front (`BEGIN IMMEDIATE`) so that
read-modify-write sequences such as version +1 never interleave; PostgreSQL gets the same effect
from the row lock on `meta`, which every writing transaction updates first to draw its revision.
WAL with `synchronous=NORMAL` keeps every acknowledged commit across a crash of the process
(`kill -9`); only a power loss may drop the last commits, never corrupt the file.
"""

from __future__ import annotations

import builtins  # the `list` method below shadows the builtin inside the class
import collections
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from meshway.core.clock import Clock, SystemClock
from meshway.core.files import ensure_private_file
from meshway.store.base import Change, ChangeOp, Page, Record

metadata = sa.MetaData()

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(1024), primary_key=True),
    sa.Column("parent", sa.String(1024), nullable=False, default=""),
    sa.Column("name", sa.String(1024), nullable=False, default=""),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Index("ix_resources_parent", "kind", "parent", "seq"),
    sa.Index("ix_resources_name", "kind", "name"),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("revision", sa.BigInteger, nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("key", sa.String(1024), nullable=False),
    sa.Column("parent", sa.String(1024), nullable=False),
    sa.Column("op", sa.String(16), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("scope", sa.String(1024), primary_key=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


def _dumps(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _record(row: sa.Row[Any]) -> Record:
    return Record(
        kind=row.kind,
        key=row.key,
        parent=row.parent,
        name=row.name,
        body=orjson.loads(row.body),
        seq=row.seq,
    )


class Prepared:
    """A statement compiled once for the engine's dialect and run through the driver directly.

    The hot path of every API call (get, put, delete, the revision and the change log) would
    otherwise rebuild and re-key SQLAlchemy statements on each call, which measured as half of a
    write's cost. Parameters are given by name and passed in the driver's own style.
    """

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled: Any = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )

    def run(self, conn: Connection, **params: Any) -> sa.CursorResult[Any]:
        if self._order is not None:
            return conn.exec_driver_sql(self.sql, tuple(params[n] for n in self._order))
        return conn.exec_driver_sql(self.sql, params)


def _bp(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


_KEYED = (resources.c.kind == _bp("kind"), resources.c.key == _bp("key"))
_ROW = (
    resources.c.kind,
    resources.c.key,
    resources.c.parent,
    resources.c.name,
    resources.c.seq,
    resources.c.body,
)


class Statements:
    """The prepared statements of one engine."""

    def __init__(self, dialect: sa.Dialect) -> None:
        def prepare(statement: sa.ClauseElement) -> Prepared:
            return Prepared(statement, dialect)

        self.get = prepare(sa.select(*_ROW).where(*_KEYED))
        self.seq_of = prepare(sa.select(resources.c.seq).where(*_KEYED))
        self.insert = prepare(
            resources.insert().values(
                kind=_bp("kind"),
                key=_bp("key"),
                parent=_bp("parent"),
                name=_bp("name"),
                seq=_bp("seq"),
                body=_bp("body"),
            )
        )
        self.update = prepare(
            resources.update()
            .where(*_KEYED)
            .values(parent=_bp("parent"), name=_bp("name"), body=_bp("body"))
        )
        self.delete = prepare(sa.delete(resources).where(*_KEYED).returning(resources.c.parent))
        self.bump_revision = prepare(
            meta.update()
            .where(meta.c.id == sa.literal_column("1"))
            .values(revision=meta.c.revision + sa.literal_column("1"))
            .returning(meta.c.revision)
        )
        self.bump_seq = prepare(
            meta.update()
            .where(meta.c.id == sa.literal_column("1"))
            .values(seq=meta.c.seq + sa.literal_column("1"))
            .returning(meta.c.seq)
        )
        self.log = prepare(
            changes.insert().values(
                revision=_bp("revision"),
                kind=_bp("kind"),
                key=_bp("key"),
                parent=_bp("parent"),
                op=_bp("op"),
                at=_bp("at"),
            )
        )
        self.recall = prepare(
            sa.select(idempotency.c.fingerprint, idempotency.c.response).where(
                idempotency.c.scope == _bp("scope")
            )
        )
        self.forget = prepare(sa.delete(idempotency).where(idempotency.c.scope == _bp("scope")))
        self.remember = prepare(
            idempotency.insert().values(
                scope=_bp("scope"),
                fingerprint=_bp("fingerprint"),
                response=_bp("response"),
                at=_bp("at"),
            )
        )


def _from_row(row: Any) -> Record:
    kind, key, parent, name, seq, body = row
    return Record(kind=kind, key=key, parent=parent, name=name, body=orjson.loads(body), seq=seq)


class SqlTransaction:
    """One open transaction; the revision is drawn at its first write."""

    def __init__(self, conn: Connection, clock: Clock, statements: Statements) -> None:
        self._conn = conn
        self._clock = clock
        self._sql = statements
        self._revision: int | None = None
        self.changes: builtins.list[Change] = []

    @property
    def revision(self) -> int | None:
        """The revision this transaction drew (None while it has written nothing)."""
        return self._revision

    def _log(self, kind: str, key: str, parent: str, op: ChangeOp) -> None:
        if self._revision is None:
            self._revision = int(self._sql.bump_revision.run(self._conn).scalar_one())
        change = Change(
            revision=self._revision, kind=kind, key=key, parent=parent, op=op, at=self._clock.now()
        )
        self._sql.log.run(
            self._conn,
            revision=change.revision,
            kind=kind,
            key=key,
            parent=parent,
            op=op.value,
            at=change.at,
        )
        self.changes.append(change)

    def get(self, kind: str, key: str) -> Record | None:
        row = self._sql.get.run(self._conn, kind=kind, key=key).first()
        return _from_row(row) if row is not None else None

    def put(self, record: Record) -> Record:
        sql, conn = self._sql, self._conn
        keyed = {"kind": record.kind, "key": record.key}
        values = {"parent": record.parent, "name": record.name, "body": _dumps(record.body)}
        existing = sql.seq_of.run(conn, **keyed).scalar()
        if existing is None:
            seq = int(sql.bump_seq.run(conn).scalar_one())
            sql.insert.run(conn, seq=seq, **keyed, **values)
        else:
            seq = int(existing)
            sql.update.run(conn, **keyed, **values)
        self._log(record.kind, record.key, record.parent, ChangeOp.PUT)
        return Record(
            kind=record.kind,
            key=record.key,
            parent=record.parent,
            name=record.name,
            body=record.body,
            seq=seq,
        )

    def delete(self, kind: str, key: str) -> None:
        parent = self._sql.delete.run(self._conn, kind=kind, key=key).scalar()
        if parent is not None:
            self._log(kind, key, str(parent), ChangeOp.DELETE)

    def list(
        self, kind: str, parent: str | None = None, *, after_seq: int = 0, limit: int | None = None
    ) -> Page:
        query = sa.select(resources).where(resources.c.kind == kind, resources.c.seq > after_seq)
        if parent is not None:
            query = query.where(resources.c.parent == parent)
        query = query.order_by(resources.c.seq)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = [_record(row) for row in self._conn.execute(query)]
        if limit is not None and len(rows) > limit:
            return Page(records=rows[:limit], next_seq=rows[limit - 1].seq)
        return Page(records=rows, next_seq=None)

    def count(self, kind: str, parent: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(resources).where(resources.c.kind == kind)
        if parent is not None:
            query = query.where(resources.c.parent == parent)
        return int(self._conn.execute(query).scalar_one())

    def find(self, kind: str, **index: str) -> builtins.list[Record]:
        query = sa.select(resources).where(resources.c.kind == kind)
        for column, value in index.items():
            query = query.where(resources.c[column] == value)
        return [_record(row) for row in self._conn.execute(query.order_by(resources.c.seq))]

    def remember(self, scope: str, fingerprint: str, response: Mapping[str, Any]) -> None:
        self._sql.forget.run(self._conn, scope=scope)
        self._sql.remember.run(
            self._conn,
            scope=scope,
            fingerprint=fingerprint,
            response=_dumps(response),
            at=self._clock.now(),
        )

    def recall(self, scope: str) -> tuple[str, Mapping[str, Any]] | None:
        row = self._sql.recall.run(self._conn, scope=scope).first()
        if row is None:
            return None
        fingerprint, response = tuple(row)
        return str(fingerprint), orjson.loads(response)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'meshway.db'}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's is broken)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


class RecentChanges:
    """The changes this process committed, for the engines that follow the feed.

    Every engine (runtime, scheduler, xDS sync, resolver) reads `changes_since` after each
    commit; served from the database that was a query per engine per commit, and on a busy
    endpoint it cost more than the requests themselves. This holds every change with a revision
    above `floor`, whole revisions only.
    """

    def __init__(self, floor: int, capacity: int = 50_000) -> None:
        self._floor = floor
        self._capacity = capacity
        self._changes: collections.deque[Change] = collections.deque()
        self._lock = threading.Lock()

    def add(self, committed: builtins.list[Change]) -> None:
        with self._lock:
            self._changes.extend(committed)
            while len(self._changes) > self._capacity:
                dropped = self._changes.popleft()
                while self._changes and self._changes[0].revision == dropped.revision:
                    self._changes.popleft()
                self._floor = dropped.revision

    def since(self, revision: int) -> builtins.list[Change] | None:
        """Every change after `revision`, or None when some of them are older than we hold."""
        with self._lock:
            if revision < self._floor:
                return None
            if not self._changes or self._changes[-1].revision <= revision:
                return []
            return [c for c in self._changes if c.revision > revision]


class SqlStore:
    """The `Store` on one SQLAlchemy engine."""

    def __init__(self, url: str, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._sqlite = url.startswith("sqlite")
        self.engine = sa.create_engine(url, future=True)
        if self._sqlite:
            _configure_sqlite(self.engine)
        self._listeners: list[Callable[[int], None]] = []
        self._listeners_lock = threading.Lock()
        metadata.create_all(self.engine)
        self._statements = Statements(self.engine.dialect)
        with self.engine.begin() as conn:
            if conn.execute(sa.select(meta.c.id)).first() is None:
                conn.execute(meta.insert().values(id=1, revision=0, seq=0))
        # Only a SQLite file is this process's alone; a shared database is read for changes.
        self._recent = RecentChanges(self.revision()) if self._sqlite else None

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[SqlTransaction]:
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            else:
                conn.begin()
            tx = SqlTransaction(conn, self._clock, self._statements)
            try:
                yield tx
            except BaseException:
                conn.exec_driver_sql("ROLLBACK") if self._sqlite else conn.rollback()
                raise
            conn.exec_driver_sql("COMMIT") if self._sqlite else conn.commit()
        if tx.revision is not None:
            if self._recent is not None:
                self._recent.add(tx.changes)
            self._notify(tx.revision)

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Call `listener(revision)` after each commit that changed something in this process
        (from the committing thread; keep it short). Returns the unsubscribe function. Other
        processes sharing the database are seen through `changes_since`, not here."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, revision: int) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(revision)

    def transaction(self) -> Any:
        return self._begin(write=True)

    def read(self) -> Any:
        return self._begin(write=False)

    def revision(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(meta.c.revision)).scalar_one())

    def changes_since(self, revision: int, limit: int = 1000) -> list[Change]:
        """Changes after `revision`, oldest first, in whole revisions (a revision is never cut
        in two, so a follower may always resume from the last revision it saw)."""
        if self._recent is not None:
            recent = self._recent.since(revision)
            if recent is not None:
                return recent
        with self.engine.connect() as conn:
            rows = self._changes_after(conn, revision, limit)
            if len(rows) >= limit:
                last = rows[-1].revision
                whole = [c for c in rows if c.revision != last]
                rows = whole or self._changes_after(conn, last - 1, None)
        return rows

    @staticmethod
    def _changes_after(conn: Connection, revision: int, limit: int | None) -> list[Change]:
        query = (
            sa.select(changes)
            .where(changes.c.revision > revision)
            .order_by(changes.c.revision, changes.c.id)  # walks the revision index, no scan
        )
        if limit is not None:
            query = query.limit(limit)
        else:
            query = query.where(changes.c.revision == revision + 1)
        return [
            Change(
                revision=row.revision,
                kind=row.kind,
                key=row.key,
                parent=row.parent,
                op=ChangeOp(row.op),
                at=row.at,
            )
            for row in conn.execute(query)
        ]

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None, data_dir: Path, *, clock: Clock | None = None) -> SqlStore:
    """The store named by `--store`, or SQLite under `--data-dir`."""
    if url is None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        ensure_private_file(data_dir / "meshway.db")  # its -wal and -shm files inherit 0600
        url = sqlite_url(data_dir)
    return SqlStore(url, clock=clock)
