"""The container graph: cycle detection and the start order the runtime will follow."""

from __future__ import annotations

import pytest

from meshway.model.ecs.dependencies import has_cycle, start_order


@pytest.mark.parametrize(
    ("edges", "cyclic"),
    [
        ({}, False),
        ({"a": []}, False),
        ({"a": ["a"]}, True),
        ({"a": ["b"], "b": []}, False),
        ({"a": ["b"], "b": ["a"]}, True),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, True),
        ({"a": ["b", "c"], "b": ["c"], "c": []}, False),  # a diamond is not a cycle
        ({"a": ["missing"]}, False),  # unknown names are reported elsewhere, not as cycles
        ({"x": [], "a": ["b"], "b": ["c"], "c": ["b"]}, True),  # a cycle away from the first node
    ],
)
def test_cycles_are_found_wherever_they_are(edges: dict[str, list[str]], cyclic: bool) -> None:
    assert has_cycle(edges) is cyclic


def test_start_order_puts_dependencies_first_and_keeps_definition_order_otherwise() -> None:
    containers = [
        {"name": "app", "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}]},
        {"name": "envoy"},
        {"name": "xray"},
        {
            "name": "init",
            "dependsOn": [
                {"containerName": "xray", "condition": "START"},
                {"containerName": "app", "condition": "START"},
            ],
        },
    ]
    assert start_order(containers) == ["envoy", "app", "xray", "init"]
