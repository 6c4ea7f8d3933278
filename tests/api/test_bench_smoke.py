"""The API benchmark stays runnable: a one-second run against Meshway alone, every call ok."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "api_throughput.py"


def test_the_api_throughput_benchmark_runs_against_meshway_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--targets",
            "meshway",
            "--clients",
            "raw",
            "--duration",
            "1",
            "--repeat",
            "1",
            "--workers",
            "1",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    (result,) = json.loads(out.read_text())["results"]
    assert result["ops"] > 0
    assert result["errors"] == 0
