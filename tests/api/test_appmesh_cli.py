"""The seed's App Mesh prerequisites made with the real aws CLI, read back and torn down in order.

The shape is AWS's getting-started color app: three colorteller nodes behind a virtual router whose
route splits traffic by weight, a colorgateway front node that names the colorteller service as a
backend, and two virtual services.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REGION, aws_cli

NAMESPACE = "appmesh-demo.local"
TELLERS = {"colorteller-white": 50, "colorteller-blue": 30, "colorteller-black": 20}


class Cli:
    """`aws appmesh ...` against the test server, as a user would run it."""

    def __init__(self, url: str, account: str, home: Path) -> None:
        self.url = url
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def run(
        self, *args: str, input_json: dict[str, Any] | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [*aws_cli(), "appmesh", *args, "--endpoint-url", self.url, "--output", "json"]
        if input_json is not None:
            command += ["--cli-input-json", json.dumps(input_json)]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def ok(self, *args: str, input_json: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.run(*args, input_json=input_json)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def fails(self, code: str, *args: str) -> str:
        """A service error: exit code 254 from aws CLI v2, 255 from v1 (its only error code)."""
        result = self.run(*args)
        assert result.returncode == service_error_exit_code(), (result.returncode, result.stderr)
        assert f"({code})" in result.stderr, result.stderr
        return result.stderr


@functools.cache
def service_error_exit_code() -> int:
    version = subprocess.run([*aws_cli(), "--version"], capture_output=True, text=True, check=True)
    major = int((version.stdout + version.stderr).split("/", 1)[1].split(".", 1)[0])
    return 254 if major >= 2 else 255


@pytest.fixture
def cli(server: Any, account: str, tmp_path: Path) -> Cli:
    return Cli(server.url, account, tmp_path)


def _node(mesh: str, name: str, backends: list[str]) -> dict[str, Any]:
    return {
        "meshName": mesh,
        "virtualNodeName": name,
        "spec": {
            "listeners": [
                {
                    "portMapping": {"port": 9080, "protocol": "http"},
                    "healthCheck": {
                        "protocol": "http",
                        "path": "/ping",
                        "port": 9080,
                        "healthyThreshold": 2,
                        "unhealthyThreshold": 2,
                        "timeoutMillis": 2000,
                        "intervalMillis": 5000,
                    },
                }
            ],
            "serviceDiscovery": {"dns": {"hostname": f"{name}.{NAMESPACE}"}},
            "backends": [{"virtualService": {"virtualServiceName": b}} for b in backends],
        },
    }


def _build(cli: Cli, mesh: str) -> None:
    created = cli.ok("create-mesh", "--mesh-name", mesh)["mesh"]
    assert created["status"]["status"] == "ACTIVE"
    for name in TELLERS:
        cli.ok("create-virtual-node", input_json=_node(mesh, name, []))
    cli.ok(
        "create-virtual-node", input_json=_node(mesh, "colorgateway", [f"colorteller.{NAMESPACE}"])
    )
    cli.ok(
        "create-virtual-router",
        "--mesh-name",
        mesh,
        "--virtual-router-name",
        "colorteller-vr",
        "--spec",
        json.dumps({"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]}),
    )
    cli.ok(
        "create-route",
        input_json={
            "meshName": mesh,
            "virtualRouterName": "colorteller-vr",
            "routeName": "colorteller-route",
            "spec": {
                "httpRoute": {
                    "match": {"prefix": "/"},
                    "action": {
                        "weightedTargets": [
                            {"virtualNode": n, "weight": w} for n, w in TELLERS.items()
                        ]
                    },
                }
            },
        },
    )
    cli.ok(
        "create-virtual-service",
        input_json={
            "meshName": mesh,
            "virtualServiceName": f"colorteller.{NAMESPACE}",
            "spec": {"provider": {"virtualRouter": {"virtualRouterName": "colorteller-vr"}}},
        },
    )
    cli.ok(
        "create-virtual-service",
        input_json={
            "meshName": mesh,
            "virtualServiceName": f"colorgateway.{NAMESPACE}",
            "spec": {"provider": {"virtualNode": {"virtualNodeName": "colorgateway"}}},
        },
    )


def _read_back(cli: Cli, mesh: str, account: str) -> None:
    mesh_data = cli.ok("describe-mesh", "--mesh-name", mesh)["mesh"]
    assert mesh_data["metadata"]["arn"] == f"arn:aws:appmesh:{REGION}:{account}:mesh/{mesh}"
    nodes = cli.ok("list-virtual-nodes", "--mesh-name", mesh)["virtualNodes"]
    assert sorted(n["virtualNodeName"] for n in nodes) == sorted([*TELLERS, "colorgateway"])
    front = cli.ok(
        "describe-virtual-node", "--mesh-name", mesh, "--virtual-node-name", "colorgateway"
    )["virtualNode"]
    assert front["spec"]["backends"] == [
        {"virtualService": {"virtualServiceName": f"colorteller.{NAMESPACE}"}}
    ]
    route = cli.ok(
        "describe-route",
        "--mesh-name",
        mesh,
        "--virtual-router-name",
        "colorteller-vr",
        "--route-name",
        "colorteller-route",
    )["route"]
    targets = route["spec"]["httpRoute"]["action"]["weightedTargets"]
    assert {t["virtualNode"]: t["weight"] for t in targets} == TELLERS
    assert route["metadata"]["version"] == 1
    services = cli.ok("list-virtual-services", "--mesh-name", mesh)["virtualServices"]
    assert {s["virtualServiceName"] for s in services} == {
        f"colorteller.{NAMESPACE}",
        f"colorgateway.{NAMESPACE}",
    }
    routers = cli.ok("list-virtual-routers", "--mesh-name", mesh)["virtualRouters"]
    assert [r["virtualRouterName"] for r in routers] == ["colorteller-vr"]
    # The CLI paginates on its own: a page size of 1 must still yield every node once.
    paged = cli.ok("list-virtual-nodes", "--mesh-name", mesh, "--page-size", "1")
    assert len(paged["virtualNodes"]) == 4


def _refuse_out_of_order(cli: Cli, mesh: str) -> None:
    cli.fails("ResourceInUseException", "delete-mesh", "--mesh-name", mesh)
    cli.fails(
        "ResourceInUseException",
        "delete-virtual-router",
        "--mesh-name",
        mesh,
        "--virtual-router-name",
        "colorteller-vr",
    )
    cli.fails(
        "ResourceInUseException",
        "delete-virtual-node",
        "--mesh-name",
        mesh,
        "--virtual-node-name",
        "colorteller-blue",
    )
    cli.fails(
        "ResourceInUseException",
        "delete-virtual-node",
        "--mesh-name",
        mesh,
        "--virtual-node-name",
        "colorgateway",
    )


def _tear_down(cli: Cli, mesh: str) -> None:
    steps = [
        ("delete-virtual-service", "--virtual-service-name", f"colorgateway.{NAMESPACE}"),
        ("delete-virtual-service", "--virtual-service-name", f"colorteller.{NAMESPACE}"),
        (
            "delete-route",
            "--virtual-router-name",
            "colorteller-vr",
            "--route-name",
            "colorteller-route",
        ),
        ("delete-virtual-router", "--virtual-router-name", "colorteller-vr"),
        *[("delete-virtual-node", "--virtual-node-name", n) for n in [*TELLERS, "colorgateway"]],
    ]
    for command, *args in steps:
        answer = cli.ok(command, "--mesh-name", mesh, *args)
        (data,) = answer.values()
        assert data["status"]["status"] == "DELETED"
    assert cli.ok("delete-mesh", "--mesh-name", mesh)["mesh"]["status"]["status"] == "DELETED"
    cli.fails("NotFoundException", "describe-mesh", "--mesh-name", mesh)


def test_the_seed_mesh_is_built_read_back_and_torn_down_with_the_aws_cli(
    cli: Cli, account: str, unique: str
) -> None:
    mesh = f"appmesh-mesh-{unique}"[:60]
    _build(cli, mesh)
    _read_back(cli, mesh, account)
    _refuse_out_of_order(cli, mesh)
    _tear_down(cli, mesh)
    assert mesh not in [m["meshName"] for m in cli.ok("list-meshes")["meshes"]]


def test_a_service_error_fails_the_cli_with_the_aws_code_and_message(cli: Cli, unique: str) -> None:
    cli.ok("create-mesh", "--mesh-name", unique)
    stderr = cli.fails("ConflictException", "create-mesh", "--mesh-name", unique)
    assert "CreateMesh operation" in stderr
