"""The aws-appmesh-envoy environment → Envoy bootstrap, golden-tested and checked against the
Bootstrap proto (an unknown field fails the load). Refresh: `pytest tests/unit/sidecar
--update-goldens`, then review the diff."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.metrics.v3 import stats_pb2  # noqa: F401 (Any types in the bootstrap)
from envoy.config.trace.v3 import datadog_pb2, xray_pb2, zipkin_pb2  # noqa: F401
from envoy.extensions.access_loggers.file.v3 import file_pb2  # noqa: F401
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2  # noqa: F401
from google.protobuf import json_format

from meshway.sidecar import bootstrap
from meshway.sidecar.bootstrap import BootstrapError, settings_from_env
from meshway.sidecar.bootstrap import bootstrap as build

GOLDEN = Path(__file__).parents[2] / "golden" / "sidecar"
XDS = "198.18.0.1:15010"
SEED = {"APPMESH_VIRTUAL_NODE_NAME": "mesh/meshName/virtualNode/virtualNodeName"}
EVERYTHING = {
    "APPMESH_RESOURCE_ARN": "arn:aws:appmesh:us-west-2:111122223333:mesh/shop/virtualNode/front",
    "APPMESH_RESOURCE_CLUSTER": "front-cluster",
    "AWS_REGION": "us-west-2",
    "ENVOY_LOG_LEVEL": "debug",
    "ENVOY_ADMIN_ACCESS_PORT": "9902",
    "ENVOY_ADMIN_ACCESS_LOG_FILE": "/dev/null",
    "ENVOY_INITIAL_FETCH_TIMEOUT": "5",
    "ENVOY_CONCURRENCY": "2",
    "APPMESH_XDS_ENDPOINT": "127.0.0.1:18000",
    "ENABLE_ENVOY_STATS_TAGS": "1",
    "ENVOY_STATS_FLUSH_INTERVAL": "10000ms",
    "ENABLE_ENVOY_XRAY_TRACING": "1",
    "XRAY_DAEMON_PORT": "2001",
    "XRAY_SAMPLING_RATE": "0.5",
}
CASES = {
    "seed": SEED,
    "everything": EVERYTHING,
    "gateway-jaeger-delta": {
        "APPMESH_RESOURCE_ARN": "arn:aws:appmesh:eu-west-1:111122223333:mesh/m/virtualGateway/gw",
        "ENABLE_ENVOY_JAEGER_TRACING": "true",
        "ENABLE_ENVOY_STATS_TAGS": "true",
        "MESHWAY_XDS_DELTA": "1",
    },
    "xray-named-daemon-address": {
        **SEED,
        "ENABLE_ENVOY_XRAY_TRACING": "1",
        "AWS_XRAY_DAEMON_ADDRESS": "198.18.0.9:2002",
        "XRAY_SEGMENT_NAME": "front-door",
    },
    "datadog-dogstatsd": {
        **SEED,
        "ENABLE_ENVOY_DATADOG_TRACING": "1",
        "DATADOG_TRACER_PORT": "8127",
        "ENABLE_ENVOY_DOG_STATSD": "1",
        "STATSD_PORT": "8135",
    },
    "dogstatsd-socket": {
        **SEED,
        "ENABLE_ENVOY_DOG_STATSD": "1",
        "STATSD_SOCKET_PATH": "/var/run/datadog/dsd.socket",
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_bootstrap_matches_the_golden_file(name: str, request: pytest.FixtureRequest) -> None:
    config = build(settings_from_env(CASES[name], default_xds=XDS, account="111122223333"))
    golden = GOLDEN / f"{name}.yaml"
    if request.config.getoption("--update-goldens"):
        golden.write_text(yaml.safe_dump(config, sort_keys=True))
    assert config == yaml.safe_load(golden.read_text())
    json_format.ParseDict(config, bootstrap_pb2.Bootstrap())  # every field is Envoy's


def test_the_node_id_prefers_the_resource_arn_over_the_deprecated_names() -> None:
    env = {
        **SEED,
        "APPMESH_RESOURCE_NAME": "mesh/a/virtualNode/b",
        "APPMESH_RESOURCE_ARN": "arn:aws:appmesh:us-east-1:1:mesh/c/virtualNode/d",
    }
    settings = settings_from_env(env, default_xds=XDS)
    assert (settings.node_id, settings.mesh, settings.resource_name) == (
        env["APPMESH_RESOURCE_ARN"],
        "c",
        "d",
    )
    assert settings.node_cluster == settings.node_id


def test_without_a_node_name_the_agent_refuses_with_the_images_message() -> None:
    with pytest.raises(
        BootstrapError, match=r"^APPMESH_RESOURCE_ARN environment variable must be set\.$"
    ):
        settings_from_env({}, default_xds=XDS)


def test_a_node_name_that_is_not_a_mesh_resource_is_refused() -> None:
    with pytest.raises(BootstrapError, match="Unrecognized resource name format: front"):
        settings_from_env({"APPMESH_VIRTUAL_NODE_NAME": "front"}, default_xds=XDS)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ENVOY_LOG_LEVEL": "loud"}, "ENVOY_LOG_LEVEL"),
        ({"ENVOY_ADMIN_ACCESS_PORT": "http"}, "not an integer"),
        (
            {"ENABLE_ENVOY_XRAY_TRACING": "1", "ENABLE_ENVOY_JAEGER_TRACING": "1"},
            "only one tracing driver",
        ),
        ({"ENABLE_ENVOY_XRAY_TRACING": "maybe"}, "not a boolean"),
        ({"APPMESH_XDS_ENDPOINT": "nowhere"}, "HOST:PORT"),
        (
            {"ENABLE_ENVOY_XRAY_TRACING": "1", "AWS_XRAY_DAEMON_ADDRESS": "xray.local:2000"},
            "static IP",
        ),
    ],
)
def test_bad_settings_are_refused_before_envoy_starts(env: dict[str, str], message: str) -> None:
    with pytest.raises(BootstrapError, match=message):
        settings_from_env({**SEED, **env}, default_xds=XDS)


def test_the_xds_endpoint_defaults_to_the_server_and_admin_stays_on_loopback() -> None:
    config = build(settings_from_env(SEED, default_xds=XDS))
    xds = config["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]
    address = xds["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == ("198.18.0.1", 15010)
    assert config["admin"]["address"]["socket_address"] == {
        "address": "127.0.0.1",
        "port_value": 9901,
    }
    assert config["dynamic_resources"]["cds_config"]["initial_fetch_timeout"] == "0s"


def test_envoy_always_runs_without_hot_restart() -> None:
    settings = settings_from_env({**SEED, "ENVOY_CONCURRENCY": "2"}, default_xds=XDS)
    argv = bootstrap.envoy_argv("/bin/envoy", "/tmp/c.json", settings)
    assert argv == [
        *("/bin/envoy", "-c", "/tmp/c.json", "-l", "info", "--concurrency", "2"),
        *("--drain-time-s", "20", "--disable-hot-restart", "--skip-deprecated-logs"),
    ]


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_real_envoy_accepts_the_bootstrap(name: str, tmp_path: Path) -> None:
    from meshway.sidecar.install import envoy_binary

    path = tmp_path / "config.json"
    path.write_text(json.dumps(build(settings_from_env(CASES[name], default_xds=XDS))))
    done = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(path), "--disable-hot-restart"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_sampling_rate_goes_to_a_manifest_file_of_this_agents_own(tmp_path: Path) -> None:
    from meshway.sidecar import envoy as agent

    settings = settings_from_env(
        {**SEED, "ENABLE_ENVOY_XRAY_TRACING": "1", "XRAY_SAMPLING_RATE": "1"}, default_xds=XDS
    )
    written, path = agent.write_sampling_rules(settings)
    try:
        assert path and path != bootstrap.XRAY_SAMPLING_RULES  # /tmp is shared between tasks
        assert json.loads(Path(path).read_text()) == {
            "version": 2,
            "default": {"fixed_target": 1, "rate": 1.0},
            "rules": [],
        }
        tracer = build(written)["tracing"]["http"]["typed_config"]
        assert tracer["sampling_rule_manifest"] == {"filename": path}
    finally:
        Path(path).unlink()


def test_a_given_manifest_or_the_default_rate_writes_no_rules_file() -> None:
    from meshway.sidecar import envoy as agent

    xray = {**SEED, "ENABLE_ENVOY_XRAY_TRACING": "1"}
    given = {**xray, "XRAY_SAMPLING_RATE": "1", "XRAY_SAMPLING_RULE_MANIFEST": "/m.json"}
    for env in (xray, {**xray, "XRAY_SAMPLING_RATE": "0.05"}, given):
        settings = settings_from_env(env, default_xds=XDS)
        assert agent.write_sampling_rules(settings) == (settings, "")


def test_the_xray_tracer_names_the_segment_after_mesh_and_node_with_app_mesh_fields() -> None:
    env = {**SEED, "ENABLE_ENVOY_XRAY_TRACING": "1"}
    tracer = build(settings_from_env(env, default_xds=XDS))["tracing"]["http"]
    assert tracer["name"] == "envoy.tracers.xray"
    config = tracer["typed_config"]
    assert config["segment_name"] == "meshName/virtualNodeName"
    assert config["daemon_endpoint"] == {
        "address": "127.0.0.1", "port_value": 2000, "protocol": "UDP"
    }  # fmt: skip
    assert config["segment_fields"] == {
        "origin": "AWS::AppMesh::Proxy",
        "aws": {"app_mesh": {"mesh_name": "meshName", "virtual_node_name": "virtualNodeName"}},
    }
    assert "sampling_rule_manifest" not in config  # Envoy's own default: 1/s + 5%
