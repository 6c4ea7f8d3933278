"""The store's vocabulary: records, transactions and the change feed.

A record is one AWS resource as a JSON document under `(kind, key)`; `key` is usually its ARN and
`parent` the key its listing hangs under (a mesh's ARN for its virtual nodes, a cluster's ARN for
its tasks). Every write happens in one transaction, and every changed record appends one change
with the next revision, so `changes_since(n)` is the feed the control plane follows.
Implementations: `meshway.store.sql` (SQLite, and PostgreSQL through the same SQLAlchemy code).
"""

from __future__ import annotations

import builtins  # the `list` method below shadows the builtin inside the class
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class ChangeOp(StrEnum):
    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    kind: str
    key: str
    parent: str = ""
    name: str = ""
    body: Mapping[str, Any]
    seq: int = 0  # creation order, assigned by the store; the stable order of listings


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    revision: int
    kind: str
    key: str
    parent: str
    op: ChangeOp
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    records: list[Record]
    next_seq: int | None  # seq to resume after; None when this was the last page


class Transaction(Protocol):
    def get(self, kind: str, key: str) -> Record | None: ...

    def put(self, record: Record) -> Record:
        """Insert or replace; a replaced record keeps its seq. Returns what was stored."""
        ...

    def delete(self, kind: str, key: str) -> None: ...

    def list(
        self, kind: str, parent: str | None = None, *, after_seq: int = 0, limit: int | None = None
    ) -> Page: ...

    def count(self, kind: str, parent: str | None = None) -> int: ...

    def find(self, kind: str, **index: str) -> builtins.list[Record]:
        """Records of `kind` whose `name` and/or `parent` equal the given values."""
        ...

    def remember(self, scope: str, fingerprint: str, response: Mapping[str, Any]) -> None:
        """Keep the answer to an idempotent request (clientToken)."""
        ...

    def recall(self, scope: str) -> tuple[str, Mapping[str, Any]] | None: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A read-write transaction: all of it commits, or none of it."""
        ...

    def read(self) -> AbstractContextManager[Transaction]:
        """A read-only view (no writes; no write lock taken)."""
        ...

    def revision(self) -> int: ...

    def changes_since(self, revision: int, limit: int = 1000) -> list[Change]: ...

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Be told the revision of every commit made through this store object."""
        ...

    def close(self) -> None: ...


def iter_all(tx: Transaction, kind: str, parent: str | None = None) -> Iterator[Record]:
    """Every record of a kind, in creation order."""
    after = 0
    while True:
        page = tx.list(kind, parent, after_seq=after, limit=500)
        yield from page.records
        if page.next_seq is None:
            return
        after = page.next_seq
