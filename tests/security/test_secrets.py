"""Secrets stay secret (issue 9, part 3): after a TLS scenario — a virtual node whose listener
serves TLS from certificate and private-key files, whose backends use client TLS with a client
certificate, and a gateway doing the same — created through the API and fetched by a scripted
ADS client standing for the node, no private key material appears anywhere Meshway shows or
keeps things: API responses (Describe*/List*), X-Ray answers, the server's log (at debug level),
`/meshway/proxies` and its config JSON, `meshway proxies` and `meshway proxy-config` output, the
xDS responses themselves, and every file in the data directory. The keys are referenced by path;
only the proxy that needs them reads them.

And the data directory and the files Meshway makes in it are private to its user (0700/0600).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from envoy.config.core.v3 import base_pb2
from google.protobuf import json_format, struct_pb2

import meshway.xds.translate.messages  # noqa: F401 (registers every type the config uses)
from meshway.console.app import API
from meshway.xds.credentials import KEY_FILE
from meshway.xds.snapshot import MESSAGE_TYPES
from tests.conftest import REGION, ServerProcess
from tests.xds_client import CLUSTER, LISTENER, AdsClient
from tests.xds_credentials import minter

pytestmark = pytest.mark.anyio
ACCOUNT = "313131313131"
MESH = "secret-mesh"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate and a client certificate, keys in PEM files."""
    folder = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=meshway-test-ca", cwd=folder)  # fmt: skip
    for name in ("server", "client"):
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}.local",
                 cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", cwd=folder)  # fmt: skip
    return folder


def needles(pki: Path) -> list[bytes]:
    """What would give a private key away: the PEM armour, and each key's base64 body lines."""
    found = [b"PRIVATE KEY"]
    for key in ("ca.key", "server.key", "client.key"):
        lines = (pki / key).read_bytes().splitlines()
        body = [line for line in lines if line and not line.startswith(b"-----")]
        found += [line for line in body if len(line) >= 24]
        found.append(b"".join(body)[:48])
    keys = b"".join((pki / key).read_bytes() for key in ("ca.key", "server.key", "client.key"))
    assert len(found) > 6 and all(n in keys for n in found)  # real key material, not vacuous
    return found


def _tls(pki: Path, name: str) -> dict[str, Any]:
    return {"file": {"certificateChain": str(pki / f"{name}.pem"),
                     "privateKey": str(pki / f"{name}.key")}}  # fmt: skip


def _scenario(appmesh: Any, pki: Path) -> None:
    appmesh.create_mesh(meshName=MESH)
    trust = {"trust": {"file": {"certificateChain": str(pki / "ca.pem")}}}
    client_tls = {"tls": {"enforce": True, "certificate": _tls(pki, "client"), "validation": trust}}
    appmesh.create_virtual_node(
        meshName=MESH,
        virtualNodeName="back",
        spec={
            "listeners": [{"portMapping": {"port": 9080, "protocol": "http"},
                           "tls": {"mode": "STRICT", "certificate": _tls(pki, "server"),
                                   "validation": trust}}],
            "serviceDiscovery": {"dns": {"hostname": "back.local"}},
        },
    )  # fmt: skip
    appmesh.create_virtual_service(
        meshName=MESH,
        virtualServiceName="back.local",
        spec={"provider": {"virtualNode": {"virtualNodeName": "back"}}},
    )
    appmesh.create_virtual_node(
        meshName=MESH,
        virtualNodeName="front",
        spec={
            "listeners": [{"portMapping": {"port": 9080, "protocol": "http"},
                           "tls": {"mode": "STRICT", "certificate": _tls(pki, "server")}}],
            "serviceDiscovery": {"dns": {"hostname": "front.local"}},
            "backends": [{"virtualService": {"virtualServiceName": "back.local"}}],
            "backendDefaults": {"clientPolicy": client_tls},
        },
    )  # fmt: skip
    appmesh.create_virtual_gateway(
        meshName=MESH,
        virtualGatewayName="gw",
        spec={
            "listeners": [{"portMapping": {"port": 8443, "protocol": "http"},
                           "tls": {"mode": "STRICT", "certificate": _tls(pki, "server")}}],
            "backendDefaults": {"clientPolicy": client_tls},
        },
    )  # fmt: skip


def _node_client(server: ServerProcess, node_id: str) -> AdsClient:
    client = AdsClient(
        (server.data_dir / "xds-address").read_text().strip(),
        node_id,
        credential=minter(server.data_dir),
    )
    metadata = struct_pb2.Struct()
    metadata.update({"aws.appmesh.account": ACCOUNT})
    client.node.metadata.CopyFrom(metadata)
    client.node.locality.CopyFrom(base_pb2.Locality(region=REGION))
    return client


async def _fetch(client: AdsClient) -> list[bytes]:
    """The node's clusters and listeners as an Envoy gets them (JSON of every resource)."""
    out = []
    for type_url in (CLUSTER, LISTENER):
        client.request(type_url)
        response = await client.receive()
        for packed in response.resources:
            message = MESSAGE_TYPES[packed.type_url]()
            packed.Unpack(message)
            out.append(json_format.MessageToJson(message).encode())
        client.ack(response)
    return out


def _responses(server: ServerProcess) -> list[bytes]:
    """Every read operation's answer about the scenario, as the bytes on the wire."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    appmesh = server.client("appmesh", aws_access_key_id=ACCOUNT)
    xray = server.client("xray", aws_access_key_id=ACCOUNT)
    for client in (appmesh, xray):
        client.meta.events.register("after-call", keep)
    ids = {"meshName": MESH}
    appmesh.list_meshes()
    appmesh.describe_mesh(**ids)
    for name in ("front", "back"):
        appmesh.describe_virtual_node(**ids, virtualNodeName=name)
    appmesh.list_virtual_nodes(**ids)
    appmesh.describe_virtual_gateway(**ids, virtualGatewayName="gw")
    appmesh.list_virtual_gateways(**ids)
    appmesh.list_virtual_services(**ids)
    appmesh.describe_virtual_service(**ids, virtualServiceName="back.local")
    xray.get_trace_summaries(StartTime=0, EndTime=4_000_000_000)
    xray.get_service_graph(StartTime=0, EndTime=4_000_000_000)
    assert len(bodies) == 11
    return bodies


def _cli(server: ServerProcess, *args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "meshway", *args, "--endpoint-url", server.url],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout + done.stderr


def _http(server: ServerProcess, path: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return bytes(response.read())


async def test_no_private_key_material_appears_anywhere_after_a_tls_scenario(
    start_server: Any, pki: Path
) -> None:
    server: ServerProcess = start_server("--no-runtime", "--log-level", "debug")
    _scenario(server.client("appmesh", aws_access_key_id=ACCOUNT), pki)
    arn = f"arn:aws:appmesh:{REGION}:{ACCOUNT}:mesh/{MESH}/virtualNode/front"
    mesh_arn = f"arn:aws:appmesh:{REGION}:{ACCOUNT}:mesh/{MESH}"
    clients = [
        _node_client(server, f"mesh/{MESH}/virtualNode/front"),
        _node_client(server, f"mesh/{MESH}/virtualGateway/gw"),
    ]
    try:  # the proxies stay connected while everything is read, as Envoys would
        xds = [doc for client in clients for doc in await _fetch(client)]
        assert any(str(pki / "server.key").encode() in doc for doc in xds)  # served by path
        proxies = _http(server, "/meshway/proxies")
        assert b"virtualNode/front" in proxies and b"virtualGateway/gw" in proxies
        config = _http(server, "/meshway/proxies/config?key=" + arn)
        assert str(pki / "client.key").encode() in config  # the config is there, by path
        seen: dict[str, bytes] = {
            "xds": b"\n".join(xds),
            "api": b"\n".join(_responses(server)),
            "/meshway/proxies": proxies,
            "/meshway/proxies/config": config,
            "console": b"\n".join(
                _http(server, f"{API}/{query}")
                for query in ("scopes", "meshes", "proxies", f"mesh?arn={mesh_arn}")
            ),
            "meshway proxies": _cli(server, "proxies", "--json") + _cli(server, "proxies"),
            "meshway proxy-config": _cli(server, "proxy-config", f"mesh/{MESH}/virtualNode/front"),
        }
        assert b"front" in seen["console"] and b"gw" in seen["console"]  # it shows the mesh
    finally:
        for client in clients:
            await client.close()
    log = server.data_dir.parent / f"server-{server.port}.log"
    seen["server log"] = log.read_bytes()
    for path in sorted(p for p in server.data_dir.rglob("*") if p.is_file()):
        seen[f"data dir: {path.relative_to(server.data_dir)}"] = path.read_bytes()
    leaks = {where: n[:30] for where, text in seen.items() for n in needles(pki) if n in text}
    assert not leaks, leaks
    # The proxy credentials are secrets too: the key, and the bearer tokens the proxies used.
    key_file = server.data_dir / KEY_FILE
    tokens = [client.credential(client.node).encode() for client in clients]  # type: ignore[misc]
    credential_needles = [key_file.read_text().strip().encode(), *tokens]
    leaks = {
        where: n[:12]
        for where, text in seen.items()
        if where != f"data dir: {KEY_FILE}"
        for n in credential_needles
        if n in text
    }
    assert not leaks, leaks


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_and_its_files_are_private_to_the_server_user(
    start_server: Any, tmp_path: Path
) -> None:
    """0700 for the data directory, 0600 for the database (and its WAL and shared memory) and
    every other file Meshway writes there — even where the umask would let others read."""
    (tmp_path / "fresh").mkdir()
    old = os.umask(0o022)  # the usual umask: files 0644 unless Meshway says otherwise
    try:
        server: ServerProcess = start_server("--no-runtime", data_dir=tmp_path / "fresh" / "data")
        server.client("appmesh", aws_access_key_id=ACCOUNT).create_mesh(meshName="perm")
    finally:
        os.umask(old)
    data = server.data_dir
    assert _mode(data) == 0o700, oct(_mode(data))
    made = sorted(p for p in data.rglob("*") if "sidecar" not in p.parts and "xray" not in p.parts)
    assert data / "meshway.db" in made
    loose = {
        str(p.relative_to(data)): oct(_mode(p))
        for p in made
        if _mode(p) & 0o077 and not (p.is_dir() and _mode(p) == 0o700)
    }
    assert not loose, loose
