"""Task-level `cpu` and `memory` as ECS reads them: strings in units, or `1 vCPU` / `2 GB`.

When a task definition is registered ECS converts both to integer strings (CPU units, MiB), so
describe shows `"1024"` for `"1 vCPU"` and `"2048"` for `"2GB"` (model doc of TaskDefinition).
"""

from __future__ import annotations

import re

_CPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$", re.IGNORECASE)


def cpu_units(text: str) -> int | None:
    """CPU units for `"1024"` or `"1 vCPU"`; None when the text is neither."""
    match = _CPU.match(text)
    if match is None:
        return None
    value = float(match.group(1))
    units = value * 1024 if match.group(2) else value
    return int(units) if units == int(units) and units > 0 else None


def memory_mib(text: str) -> int | None:
    """MiB for `"512"` or `"2 GB"`; None when the text is neither."""
    match = _MEMORY.match(text)
    if match is None:
        return None
    value = float(match.group(1))
    unit = (match.group(2) or "").lower()
    mib = value * 1024 if unit in ("gb", "gib") else value
    return int(mib) if mib == int(mib) and mib > 0 else None
