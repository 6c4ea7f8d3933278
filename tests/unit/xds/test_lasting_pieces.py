"""A view's Shared takes over what each node builds for itself from the view it replaces, and
the snapshots it gives are the ones a fresh translation gives."""

from __future__ import annotations

from meshway.xds.cache import SnapshotCache
from meshway.xds.snapshot import LISTENER, PUSH_ORDER, ROUTE
from meshway.xds.translate import Shared, build_snapshot
from tests.unit.xds.scenarios import FRONT, SCENARIOS, seed


def test_a_route_change_reuses_the_callers_own_listener_and_changes_only_what_it_must() -> None:
    before_view, after_view = seed(50, 50).view(), seed(0, 100).view()
    before = Shared(before_view)
    after = Shared(after_view, before)
    old, new = build_snapshot(before_view, FRONT, before), build_snapshot(after_view, FRONT, after)
    ingress = next(n for n in old.resources[LISTENER] if "ingress" in n)
    assert new.resources[LISTENER][ingress] is old.resources[LISTENER][ingress]
    assert old.hashes[ROUTE] != new.hashes[ROUTE]


def test_taking_over_pieces_gives_what_a_fresh_translation_gives_in_every_scenario() -> None:
    for make, proxy in SCENARIOS.values():
        for previous in (seed(0, 100).view(), make().view()):
            view = make().view()
            carried = build_snapshot(view, proxy, Shared(view, Shared(previous)))
            warm = Shared(previous)
            build_snapshot(previous, proxy, warm)  # fills the previous view's pieces
            taken_over = build_snapshot(view, proxy, Shared(view, warm))
            fresh = build_snapshot(make().view(), proxy)
            for snapshot in (carried, taken_over):
                assert snapshot.hashes == fresh.hashes
                assert [snapshot.packed(u) for u in PUSH_ORDER] == [
                    fresh.packed(u) for u in PUSH_ORDER
                ]


def test_a_republished_snapshot_keeps_the_packed_form_of_a_message_it_already_served() -> None:
    before_view, after_view = seed(50, 50).view(), seed(0, 100).view()
    before = Shared(before_view)
    cache = SnapshotCache()
    cache.set_snapshot("front", build_snapshot(before_view, FRONT, before))
    served = cache.get("front")
    assert cache.set_snapshot(
        "front", build_snapshot(after_view, FRONT, Shared(after_view, before))
    )
    now = cache.get("front")
    ingress = next(n for n in served.of(LISTENER) if "ingress" in n)
    assert now.of(LISTENER)[ingress] is served.of(LISTENER)[ingress]
    assert now.of(ROUTE) != served.of(ROUTE)
