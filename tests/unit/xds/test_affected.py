"""Which proxies a change reaches (translate/affected.py): exact on the seed mesh, and never
missing a proxy whose resources a full rebuild would change, over every scenario and mutation."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest

from meshway.model.appmesh.kinds import KindName
from meshway.xds.snapshot import Snapshot
from meshway.xds.translate import build_snapshot
from meshway.xds.translate.affected import (
    Proxy,
    affected_proxies,
    changed_refs,
    reverse_index,
)
from meshway.xds.view import Endpoint, MeshView, ProxyId
from tests.unit.xds.scenarios import SCENARIOS, Mesh, backend, dns, gateway, http_listener, seed

NODE, GATEWAY = KindName.VIRTUAL_NODE, KindName.VIRTUAL_GATEWAY


def reached(old: MeshView, new: MeshView) -> set[Proxy]:
    return affected_proxies(changed_refs(old, new), reverse_index(old), reverse_index(new))


def test_a_route_weight_change_reaches_the_callers_of_its_service_only() -> None:
    old, new = seed(50, 50).view(), seed(0, 100).view()
    assert reached(old, new) == {(NODE, "front")}


def test_a_route_change_reaches_a_gateway_routing_to_the_router_s_service() -> None:
    before, after = gateway(), gateway()
    for record in after.records:
        data = record["body"]["data"]
        if data.get("routeName") == "colorteller-route":
            targets = data["spec"]["httpRoute"]["action"]["weightedTargets"]
            targets[0]["weight"], targets[1]["weight"] = 0, 100
    assert reached(before.view(), after.view()) == {(NODE, "front"), (GATEWAY, "ingress-gw")}


def test_an_endpoint_change_reaches_the_callers_of_that_node_only() -> None:
    mesh = seed()
    mesh.node("bystander", {"listeners": [http_listener()], "serviceDiscovery": dns("b.local")})
    old = mesh.view()
    mesh.endpoints["colorteller-black"] = [Endpoint(address="198.18.0.22")]
    assert reached(old, mesh.view()) == {(NODE, "front")}


def test_a_new_node_reaches_its_own_proxy_and_callers_naming_it_but_nobody_else() -> None:
    old = seed().view()
    mesh = seed()
    mesh.node("newcomer", {"listeners": [http_listener()], "serviceDiscovery": dns("n.local")})
    assert reached(old, mesh.view()) == {(NODE, "newcomer")}


def test_a_service_created_after_its_caller_named_it_reaches_that_caller() -> None:
    mesh = Mesh().node("early", {"backends": [backend("later.local")]})
    mesh.node("other", {})
    old = mesh.view()
    mesh.service("later.local", {"provider": {"virtualNode": {"virtualNodeName": "other"}}})
    assert reached(old, mesh.view()) == {(NODE, "early")}


def test_a_mesh_egress_filter_change_reaches_every_proxy() -> None:
    old = gateway().view()
    mesh = gateway()
    mesh.spec = {"egressFilter": {"type": "ALLOW_ALL"}}
    everyone = {(NODE, name) for name in old.virtual_nodes} | {(GATEWAY, "ingress-gw")}
    assert reached(old, mesh.view()) == everyone


# -- soundness: nothing a full rebuild would change is left out -------------------------------


def mutations(mesh: Mesh) -> Iterator[tuple[str, Mesh]]:
    """Each record removed, each route's weights reversed, each node's listeners dropped, each
    node's endpoints cleared and extended, and the egress filter flipped."""
    for index, record in enumerate(mesh.records):
        data = record["body"]["data"]
        name = next(str(v) for k, v in data.items() if k.endswith("Name") and k != "meshName")
        removed = copy.deepcopy(mesh)
        del removed.records[index]
        yield f"remove {record['kind']} {name}", removed
        changed = copy.deepcopy(mesh)
        spec = changed.records[index]["body"]["data"]["spec"]
        for body in spec.values():
            targets = (
                (body.get("action") or {}).get("weightedTargets")
                if isinstance(body, dict)
                else None
            )
            if targets and len(targets) > 1:
                targets.reverse()
                weights = [t["weight"] for t in targets]
                for target, weight in zip(targets, reversed(weights), strict=True):
                    target["weight"] = weight + 1
        if spec.get("listeners"):
            spec["listeners"] = spec["listeners"][:-1]
        if changed.records[index] != mesh.records[index]:
            yield f"edit {record['kind']} {name}", changed
    nodes = [r["body"]["data"]["virtualNodeName"] for r in mesh.records if "virtualNodeName" in (
        r["body"]["data"]) and r["kind"] == "appmesh.virtualNode"]  # fmt: skip
    for node in nodes:
        cleared = copy.deepcopy(mesh)
        cleared.endpoints.pop(node, None)
        yield f"no endpoints for {node}", cleared
        grown = copy.deepcopy(mesh)
        grown.endpoints[node] = [*grown.endpoints.get(node, []), Endpoint(address="198.18.9.9")]
        yield f"one more endpoint for {node}", grown
    flipped = copy.deepcopy(mesh)
    flipped.spec = {"egressFilter": {"type": "ALLOW_ALL" if not mesh.spec else "DROP_ALL"}}
    yield "egress filter flipped", flipped


def proxies_of(*views: MeshView) -> set[Proxy]:
    found: set[Proxy] = set()
    for view in views:
        found |= {(NODE, name) for name in view.virtual_nodes}
        found |= {(GATEWAY, name) for name in view.virtual_gateways}
    return found


def snapshot_of(view: MeshView, proxy: Proxy) -> Snapshot:
    kind, name = proxy
    return build_snapshot(view, ProxyId(mesh=view.mesh, kind=kind, name=name))


MAKERS: dict[str, Callable[[], Mesh]] = {
    scenario: make for scenario, (make, _) in sorted(SCENARIOS.items())
}


@pytest.mark.parametrize("scenario", sorted(MAKERS))
def test_every_proxy_a_full_rebuild_would_change_is_reached(scenario: str) -> None:
    mesh = MAKERS[scenario]()
    old = mesh.view()
    before = {proxy: snapshot_of(old, proxy).hashes for proxy in proxies_of(old)}
    checked = 0
    for label, mutated in mutations(mesh):
        new = mutated.view()
        changed = {
            proxy
            for proxy in proxies_of(old, new)
            if snapshot_of(new, proxy).hashes != before.get(proxy, Snapshot.empty().hashes)
        }
        assert changed <= reached(old, new), label
        checked += 1
    assert checked > len(mesh.records)
