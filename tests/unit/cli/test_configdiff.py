"""The dry run's Envoy diff, pure: a change to a mesh gives, per proxy, exactly the Envoy
resources that would change — translated the way the server translates them."""

from __future__ import annotations

from typing import Any

from meshway.cli.configdiff import proxy_diffs, snapshot_changes, view_of

LISTENER = [{"portMapping": {"port": 9080, "protocol": "http"}}]


def node(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "listeners": LISTENER,
        "serviceDiscovery": {"dns": {"hostname": f"{name}.local"}},
        **extra,
    }


def route(blue: int, red: int) -> dict[str, Any]:
    targets = [{"virtualNode": "blue", "weight": blue}, {"virtualNode": "red", "weight": red}]
    return {"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": targets}}}


def specs(blue: int = 75, red: int = 25) -> dict[tuple[str, str, str, str], Any]:
    backend = [{"virtualService": {"virtualServiceName": "color.local"}}]
    return {
        ("mesh", "", "", "m"): {},
        ("virtualNode", "m", "", "blue"): node("blue"),
        ("virtualNode", "m", "", "red"): node("red"),
        ("virtualNode", "m", "", "front"): node("front", backends=backend),
        ("virtualRouter", "m", "", "color"): {"listeners": LISTENER},
        ("route", "m", "color", "color-route"): route(blue, red),
        ("virtualService", "m", "", "color.local"): {
            "provider": {"virtualRouter": {"virtualRouterName": "color"}}
        },
    }


def test_a_weight_change_changes_only_the_callers_egress_route_configuration() -> None:
    diffs = proxy_diffs(view_of("m", specs()), view_of("m", specs(50, 50)))
    assert [d.proxy for d in diffs] == ["mesh/m/virtualNode/front"]
    (change,) = diffs[0].changes
    assert (change.type, change.change) == ("RouteConfiguration", "changed")
    assert '-                  "weight": 75\n' in change.diff
    assert '+                  "weight": 50\n' in change.diff


def test_no_change_means_no_proxy_is_affected() -> None:
    assert proxy_diffs(view_of("m", specs()), view_of("m", specs())) == []


def test_a_new_node_gets_its_whole_configuration_as_added() -> None:
    before = {k: v for k, v in specs().items() if k[3] != "red" and k[0] != "route"}
    after = {**before, ("virtualNode", "m", "", "extra"): node("extra")}
    diffs = proxy_diffs(view_of("m", before), view_of("m", after))
    assert [d.proxy for d in diffs] == ["mesh/m/virtualNode/extra"]
    assert {c.change for c in diffs[0].changes} == {"added"}
    assert {c.type for c in diffs[0].changes} >= {"Cluster", "Listener", "RouteConfiguration"}


def test_other_meshes_records_are_left_out_of_a_view() -> None:
    mixed = {**specs(), ("virtualNode", "other", "", "x"): node("x")}
    assert "x" not in view_of("m", mixed).virtual_nodes


def test_resource_changes_are_added_removed_or_changed_with_a_unified_diff() -> None:
    old = {"Cluster": {"a": {"n": 1}, "b": {"n": 1}}}
    new = {"Cluster": {"a": {"n": 2}, "c": {"n": 1}}}
    found = {(c.name, c.change): c.diff for c in snapshot_changes(old, new)}
    assert set(found) == {("a", "changed"), ("b", "removed"), ("c", "added")}
    assert found[("a", "changed")].startswith("--- a/Cluster/a\n+++ b/Cluster/a\n")
