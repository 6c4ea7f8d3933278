"""The SQLite store: one transaction per write, a monotonic revision, a change feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshway.core.clock import FixedClock
from meshway.store.base import ChangeOp, Record, iter_all
from meshway.store.sql import SqlStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    return open_store(None, tmp_path, clock=FixedClock())


def node(name: str, parent: str = "mesh-a", **body: object) -> Record:
    return Record(kind="node", key=f"{parent}/{name}", parent=parent, name=name, body=body)


def test_a_committed_record_reads_back_with_its_creation_order(store: SqlStore) -> None:
    with store.transaction() as tx:
        first = tx.put(node("a", x=1))
        second = tx.put(node("b"))
    with store.read() as tx:
        assert tx.get("node", "mesh-a/a") == first
    assert first.seq < second.seq


def test_a_failed_transaction_leaves_nothing_behind(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put(node("a"))
        raise RuntimeError("boom")
    with store.read() as tx:
        assert tx.get("node", "mesh-a/a") is None
    assert store.revision() == 0
    assert store.changes_since(0) == []


def test_each_writing_transaction_draws_one_revision_for_all_its_changes(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.put(node("a"))
        tx.put(node("b"))
    with store.transaction() as tx:
        tx.delete("node", "mesh-a/a")
    changes = store.changes_since(0)
    assert [(c.revision, c.key, c.op) for c in changes] == [
        (1, "mesh-a/a", ChangeOp.PUT),
        (1, "mesh-a/b", ChangeOp.PUT),
        (2, "mesh-a/a", ChangeOp.DELETE),
    ]
    assert store.revision() == 2
    assert [c.key for c in store.changes_since(1)] == ["mesh-a/a"]


def test_a_read_only_transaction_draws_no_revision(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.get("node", "missing")
    assert store.revision() == 0


def test_replacing_a_record_keeps_its_place_in_listings(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.put(node("a"))
        tx.put(node("b"))
        tx.put(node("a", x=2))
    with store.read() as tx:
        page = tx.list("node", "mesh-a")
    assert [r.name for r in page.records] == ["a", "b"]
    assert page.records[0].body == {"x": 2}


def test_listings_page_by_creation_order_without_gaps(store: SqlStore) -> None:
    with store.transaction() as tx:
        for i in range(7):
            tx.put(node(f"n{i}"))
        tx.put(node("elsewhere", parent="mesh-b"))
    seen: list[str] = []
    after = 0
    with store.read() as tx:
        while True:
            page = tx.list("node", "mesh-a", after_seq=after, limit=3)
            seen += [r.name for r in page.records]
            if page.next_seq is None:
                break
            after = page.next_seq
        assert seen == [f"n{i}" for i in range(7)]
        assert [r.name for r in iter_all(tx, "node")] == [*seen, "elsewhere"]
        assert tx.count("node", "mesh-a") == 7
        assert [r.name for r in tx.find("node", parent="mesh-b")] == ["elsewhere"]


def test_idempotency_answers_are_remembered_and_replaced(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.remember("scope", "f1", {"a": 1})
    with store.transaction() as tx:
        assert tx.recall("scope") == ("f1", {"a": 1})
        tx.remember("scope", "f2", {"a": 2})
        assert tx.recall("missing") is None
    with store.read() as tx:
        assert tx.recall("scope") == ("f2", {"a": 2})


def test_the_data_survives_reopening_the_file(tmp_path: Path) -> None:
    first = open_store(None, tmp_path)
    with first.transaction() as tx:
        tx.put(node("a", x=1))
    first.close()
    second = open_store(None, tmp_path)
    with second.read() as tx:
        assert tx.get("node", "mesh-a/a") is not None
    assert second.revision() == 1


def test_subscribers_hear_each_committed_revision_and_nothing_else(store: SqlStore) -> None:
    heard: list[int] = []
    unsubscribe = store.subscribe(heard.append)
    with store.transaction() as tx:
        tx.put(node("a"))
    with store.transaction() as tx:
        tx.get("node", "mesh-a/a")  # writes nothing
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put(node("b"))
        raise RuntimeError("rolled back")
    unsubscribe()
    with store.transaction() as tx:
        tx.put(node("c"))
    assert heard == [1]


def test_the_change_feed_is_the_same_from_memory_and_from_the_file(tmp_path: Path) -> None:
    first = open_store(None, tmp_path)
    with first.transaction() as tx:
        tx.put(node("a"))
        tx.put(node("b"))
    with first.transaction() as tx:
        tx.delete("node", "mesh-a/a")
    from_memory = first.changes_since(0)
    first.close()
    reopened = open_store(None, tmp_path)  # nothing in memory: read from the file
    assert reopened.changes_since(0) == from_memory
    assert [c.revision for c in from_memory] == [1, 1, 2]
    assert reopened.changes_since(2) == []


def test_a_page_of_the_feed_never_cuts_a_revision_in_two(tmp_path: Path) -> None:
    first = open_store(None, tmp_path)
    with first.transaction() as tx:
        for i in range(5):
            tx.put(node(f"n{i}"))
    with first.transaction() as tx:
        tx.put(node("later"))
    first.close()
    reopened = open_store(None, tmp_path)
    assert [c.revision for c in reopened.changes_since(0, limit=3)] == [1, 1, 1, 1, 1]
    assert [c.revision for c in reopened.changes_since(0, limit=7)] == [1, 1, 1, 1, 1, 2]
