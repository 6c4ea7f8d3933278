"""Each scenario's snapshot matches its golden file, compared as Envoy messages.

The golden YAML is loaded back into the Envoy protos (`json_format.ParseDict`, which rejects an
unknown field), so a golden file cannot drift into something Envoy would not read. Refresh with
`pytest tests/unit/xds --update-goldens` and review the diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format

from meshway.xds.snapshot import MESSAGE_TYPES
from meshway.xds.translate import build_snapshot
from tests.unit.xds.scenarios import SCENARIOS

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "xds"
SHORT_TYPES = {url.rsplit(".", 1)[-1]: cls for url, cls in MESSAGE_TYPES.items()}


def as_messages(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parse every resource into its Envoy message and back: structural, order-free form."""
    out: dict[str, dict[str, Any]] = {}
    for short, named in resources.items():
        cls = SHORT_TYPES[short]
        out[short] = {}
        for name, body in named.items():
            message = json_format.ParseDict(body, cls())
            out[short][name] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return out


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_snapshot_matches_the_golden_file(scenario: str, request: pytest.FixtureRequest) -> None:
    make, proxy = SCENARIOS[scenario]
    snapshot = build_snapshot(make().view(), proxy)
    produced = snapshot.as_dict()
    golden = GOLDEN / f"{scenario}.yaml"
    if request.config.getoption("--update-goldens"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(yaml.safe_dump(produced, sort_keys=False, width=100))
    assert snapshot.problems() == ()
    assert as_messages(produced) == as_messages(yaml.safe_load(golden.read_text()))


def test_a_golden_file_with_an_unknown_field_does_not_load() -> None:
    with pytest.raises(json_format.ParseError):
        as_messages({"Cluster": {"c": {"name": "c", "conect_timeout": "1s"}}})
