"""The fuzz budget of tests/security and the count of inputs each target was tried with.

Every fuzz test here runs a bounded number of hypothesis examples (`budget(n)`, scaled by
MESHWAY_FUZZ_SCALE, default 1) with a deadline, and counts each input it sends under its target
(`tried("xds sotw")`); `tests/security/conftest.py` prints one summary line per target at the end
of the run, as issue 9 asks ("report how many inputs were tried").
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("MESHWAY_FUZZ_SCALE", "1"))
TRIED: Counter[str] = Counter()
OUTCOMES: dict[str, Counter[str]] = {}


def budget(examples: int, *, deadline_ms: int | None = 2000) -> Any:
    """Hypothesis settings for one fuzz test: `examples` inputs at most, each within a deadline
    (None for tests that talk to a server, whose first request may warm it up)."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=timedelta(milliseconds=deadline_ms) if deadline_ms else None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )


def tried(target: str, outcome: str | None = None) -> None:
    TRIED[target] += 1
    if outcome is not None:
        OUTCOMES.setdefault(target, Counter())[outcome] += 1


def outcome(target: str, what: str) -> None:
    OUTCOMES.setdefault(target, Counter())[what] += 1


def summary_lines() -> list[str]:
    lines = []
    for target in sorted(set(TRIED) | set(OUTCOMES)):
        seen = OUTCOMES.get(target)
        detail = f"; outcomes {dict(seen.most_common(8))}" if seen else ""
        count = f"{TRIED[target]} inputs" if target in TRIED else "noted"
        lines.append(f"security fuzz: {target}: {count}{detail}")
    return lines
