"""Task-level cpu and memory strings, normalised as ECS does at registration."""

from __future__ import annotations

import pytest

from meshway.model.ecs.units import cpu_units, memory_mib


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("256", 256),
        ("1 vCPU", 1024),
        ("0.25 vcpu", 256),
        ("2vCPU", 2048),
        ("", None),
        ("0", None),
        ("lots", None),
        ("1.5", None),
    ],
)
def test_cpu_units(text: str, units: int | None) -> None:
    assert cpu_units(text) == units


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("512", 512),
        ("1GB", 1024),
        ("0.5 GB", 512),
        ("2 gb", 2048),
        ("", None),
        ("-1", None),
        ("lots", None),
    ],
)
def test_memory_mib(text: str, mib: int | None) -> None:
    assert memory_mib(text) == mib
