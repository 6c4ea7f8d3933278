"""The API's RE2 check agrees with the real Envoy: every pattern the unit tests list is put in a
route's header matcher and path matcher of a static config, and `envoy --mode validate` accepts
exactly the ones `regex_problem` finds nothing wrong with."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from meshway.model.appmesh.rules_common import regex_problem
from meshway.sidecar.install import envoy_binary
from tests.unit.model.appmesh.test_rules_regex import RE2_ACCEPTS, RE2_REJECTS

pytestmark = [pytest.mark.e2e]


def config(pattern: str) -> dict[str, object]:
    route = {
        "match": {
            "safe_regex": {"regex": "/" + pattern},
            "headers": [{"name": "x-user", "string_match": {"safe_regex": {"regex": pattern}}}],
        },
        "direct_response": {"status": 200},
    }
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
        ".HttpConnectionManager",
        "stat_prefix": "regex",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [route]}]},
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            }
        ],
    }
    listener = {
        "name": "regex",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }
    return {"static_resources": {"listeners": [listener]}}


def envoy_accepts(pattern: str, tmp_path: Path) -> bool:
    path = tmp_path / "envoy.json"
    path.write_text(json.dumps(config(pattern)))
    done = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(path), "-l", "critical"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the exit code is the verdict
    )
    return done.returncode == 0


@pytest.mark.parametrize("pattern", [*RE2_ACCEPTS, *RE2_REJECTS])
def test_envoy_accepts_a_regex_exactly_when_the_api_does(pattern: str, tmp_path: Path) -> None:
    assert envoy_accepts(pattern, tmp_path) is (regex_problem(pattern) is None)
