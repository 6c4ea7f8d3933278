"""The container graph of a task definition: `dependsOn` rules and cycles, and `links` cycles.

The task runtime orders containers by the same `dependsOn` edges (start in dependency order,
stop in reverse), so a registered definition must be a DAG; this module is where that holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meshway.core.errors import ClientException
from meshway.model.ecs.containers import Container, is_essential

TERMINAL_CONDITIONS = frozenset({"COMPLETE", "SUCCESS"})


def check_depends_on(containers: Sequence[Container]) -> None:
    by_name = {c["name"]: c for c in containers}
    for container in containers:
        for dependency in container.get("dependsOn") or ():
            _check_dependency(dependency, by_name)
    if has_cycle(depends_on_edges(containers)):
        raise ClientException("Container dependencies should not have a cycle")  # unverified


def _check_dependency(dependency: Mapping[str, Any], by_name: Mapping[str, Container]) -> None:
    target_name, condition = dependency.get("containerName"), dependency.get("condition")
    target = by_name.get(target_name or "")
    if target is None:
        # NOTE: the literal " + " is in AWS's message (eagletmt/hako#99, dagster-io/dagster#6926).
        raise ClientException(
            f"Cannot depend on container + '{target_name}' because it does not exist"
        )
    if condition in TERMINAL_CONDITIONS and is_essential(target):
        raise ClientException(
            "A dependency container with SUCCESS or COMPLETE condition cannot be an essential "
            "container"
        )
    if condition == "HEALTHY" and not target.get("healthCheck"):
        raise ClientException(
            "A dependency container with HEALTHY condition must have health check configured"
        )


def depends_on_edges(containers: Iterable[Container]) -> dict[str, list[str]]:
    """container name → the names it depends on."""
    return {
        c["name"]: [d.get("containerName", "") for d in c.get("dependsOn") or ()]
        for c in containers
    }


def check_links(containers: Sequence[Container]) -> None:
    if has_cycle(link_edges(containers)):
        raise ClientException("Container links should not have a cycle")


def link_edges(containers: Iterable[Container]) -> dict[str, list[str]]:
    """container name → the containers it links to (`name` or `name:alias`)."""
    return {c["name"]: [link.split(":", 1)[0] for link in c.get("links") or ()] for c in containers}


def has_cycle(edges: Mapping[str, Sequence[str]]) -> bool:
    """True when following edges between known nodes can return to a node (self-edges count)."""
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        if _cycle_from(start, edges, done):
            return True
    return False


def _cycle_from(start: str, edges: Mapping[str, Sequence[str]], done: set[str]) -> bool:
    # Iterative DFS: a node on the current path seen again closes a cycle.
    on_path: set[str] = {start}
    stack: list[tuple[str, Iterable[str]]] = [(start, iter(edges.get(start, ())))]
    while stack:
        node, pending = stack[-1]
        step = next((n for n in pending if n in edges and n not in done), None)
        if step is None:
            stack.pop()
            on_path.discard(node)
            done.add(node)
        elif step in on_path:
            return True
        else:
            on_path.add(step)
            stack.append((step, iter(edges.get(step, ()))))
    return False


def start_order(containers: Sequence[Container]) -> list[str]:
    """Container names with every dependency before its dependents (definition order otherwise).
    Assumes `check_depends_on` passed."""
    edges = depends_on_edges(containers)
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in edges:
            return
        placed.add(name)
        for dependency in edges[name]:
            place(dependency)
        order.append(name)

    for container in containers:
        place(container["name"])
    return order
