"""The snapshot cache: publish, no-op detection, watchers, consistency, the empty default."""

from __future__ import annotations

import threading

import pytest

from meshway.xds.cache import EMPTY, InconsistentSnapshotError, SnapshotCache, content_hash
from meshway.xds.snapshot import CLUSTER, ROUTE, Snapshot
from tests import xds_resources as res

KEY = "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualNode/a"


def test_an_unknown_key_gets_the_empty_entry() -> None:
    cache = SnapshotCache()
    assert cache.get(KEY) is EMPTY and not EMPTY.published and EMPTY.of(CLUSTER) == {}


def test_publishing_wakes_the_watchers_of_that_key_only() -> None:
    cache = SnapshotCache()
    woken: list[str] = []
    cache.watch(KEY, lambda: woken.append("a"))
    cache.watch("other", lambda: woken.append("other"))
    assert cache.set_snapshot(KEY, res.snapshot(10000, {"cds_a": [9001]})) is True
    assert woken == ["a"]
    entry = cache.get(KEY)
    assert entry.published and list(entry.of(CLUSTER)) == ["cds_a"]
    assert entry.of(ROUTE)[res.ROUTE_NAME].packed.type_url == ROUTE


def test_publishing_the_same_content_again_changes_nothing_and_wakes_nobody() -> None:
    cache = SnapshotCache()
    cache.set_snapshot(KEY, res.snapshot(10000, {"cds_a": [9001]}))
    woken: list[int] = []
    cache.watch(KEY, lambda: woken.append(1))
    assert cache.set_snapshot(KEY, res.snapshot(10000, {"cds_a": [9001]})) is False
    assert woken == []


def test_a_cancelled_watch_is_not_called() -> None:
    cache = SnapshotCache()
    woken: list[int] = []
    cancel = cache.watch(KEY, lambda: woken.append(1))
    cancel()
    cache.set_snapshot(KEY, res.snapshot(10000, {"cds_a": [9001]}))
    assert woken == [] and cache.watcher_count(KEY) == 0


def test_an_inconsistent_snapshot_is_refused_and_the_old_one_stays() -> None:
    cache = SnapshotCache()
    cache.set_snapshot(KEY, res.snapshot(10000, {"cds_a": [9001]}))
    dangling = Snapshot.of([res.listener(10000), res.route({"cds_missing": 100})])
    with pytest.raises(InconsistentSnapshotError, match="cds_missing"):
        cache.set_snapshot(KEY, dangling)
    assert list(cache.get(KEY).of(CLUSTER)) == ["cds_a"]


def test_clearing_a_key_falls_back_to_the_empty_snapshot_and_wakes_its_watchers() -> None:
    cache = SnapshotCache()
    cache.set_snapshot(KEY, res.snapshot(10000, {"cds_a": [9001]}))
    woken: list[int] = []
    cache.watch(KEY, lambda: woken.append(1))
    cache.clear(KEY)
    assert cache.get(KEY) is EMPTY and woken == [1]


def test_resource_versions_are_the_snapshots_content_hashes() -> None:
    snapshot = res.snapshot(10000, {"cds_a": [9001]})
    cache = SnapshotCache()
    cache.set_snapshot(KEY, snapshot)
    version = cache.get(KEY).of(CLUSTER)["cds_a"].version
    assert version == snapshot.hashes[CLUSTER]["cds_a"]
    assert content_hash(snapshot.resources[CLUSTER]["cds_a"]) == version[:16]


def test_snapshots_can_be_published_from_worker_threads() -> None:
    cache = SnapshotCache()
    woken: list[int] = []
    cache.watch(KEY, lambda: woken.append(1))
    threads = [
        threading.Thread(
            target=cache.set_snapshot, args=(KEY, res.snapshot(10000 + i, {"cds_a": [9001]}))
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(woken) == 8


def test_watched_keys_are_the_keys_some_proxy_watches() -> None:
    cache = SnapshotCache()
    cancel = cache.watch(KEY, lambda: None)
    cache.watch("other", lambda: None)
    assert cache.watched_keys() == [KEY, "other"]
    cancel()
    assert cache.watched_keys() == ["other"]


def test_publishing_a_batch_wakes_each_changed_key_once_and_refuses_the_inconsistent_ones() -> None:
    cache = SnapshotCache()
    other = KEY.replace("virtualNode/a", "virtualNode/b")
    broken = KEY.replace("virtualNode/a", "virtualNode/c")
    cache.set_snapshot(other, res.snapshot(10000, {"cds_a": [9001]}))
    cache.set_snapshot(broken, res.snapshot(10000, {"cds_a": [9001]}))
    kept = cache.get(broken)
    woken: list[str] = []
    for key in (KEY, other, broken):
        cache.watch(key, lambda key=key: woken.append(key))  # type: ignore[misc]
    bad = Snapshot.of([res.listener(10000), res.route({"cds_missing": 100})])
    changed, rejected = cache.set_snapshots(
        [
            (KEY, res.snapshot(10000, {"cds_a": [9001]})),
            (other, res.snapshot(10000, {"cds_a": [9001]})),  # the same as published
            (broken, bad),
        ]
    )
    assert changed == 1 and woken == [KEY]
    assert [key for key, _ in rejected] == [broken] and "cds_missing" in rejected[0][1]
    assert cache.get(broken) is kept and list(cache.get(KEY).of(CLUSTER)) == ["cds_a"]
