"""Proxy identity on xDS through a real server (issue 9): the credential `meshway
proxy-credential` prints lets an external Envoy stream its own node; task A's credential with
node B's id gets nothing of B (B's SDS secret names included); a stream without a credential
is refused; refusals are in the server's log and its /metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from google.protobuf import struct_pb2

from meshway.xds.credentials import HEADER, ProxyCredentials
from tests.conftest import REGION, ServerProcess
from tests.xds_client import CLUSTER, LISTENER, AdsClient
from tests.xds_credentials import minter

pytestmark = pytest.mark.anyio
SECRET = "spiffe://meshway.test/b-only"


def address(server: ServerProcess) -> str:
    return (server.data_dir / "xds-address").read_text().strip()


def client_of(server: ServerProcess, node_id: str, account: str, credential: Any) -> AdsClient:
    client = AdsClient(address(server), node_id, credential=credential)
    metadata = struct_pb2.Struct()
    metadata.update({"aws.appmesh.account": account})  # what the sidecar agent sends
    client.node.metadata.CopyFrom(metadata)
    client.node.locality.CopyFrom(base_pb2.Locality(region=REGION))
    return client


def two_nodes(appmesh: Any, mesh: str) -> None:
    """Node a in plain HTTP; node b terminating TLS with a certificate from SDS."""
    appmesh.create_mesh(meshName=mesh)
    plain = {"portMapping": {"port": 9080, "protocol": "http"}}
    dns = {"dns": {"hostname": f"a.{mesh}.local"}}
    appmesh.create_virtual_node(
        meshName=mesh, virtualNodeName="a", spec={"listeners": [plain], "serviceDiscovery": dns}
    )
    tls = {"mode": "STRICT", "certificate": {"sds": {"secretName": SECRET}}}
    appmesh.create_virtual_node(
        meshName=mesh,
        virtualNodeName="b",
        spec={"listeners": [{**plain, "tls": tls}], "serviceDiscovery": dns},
    )


async def everything(client: AdsClient) -> bytes:
    """Clusters and listeners the client gets, as bytes."""
    client.request(CLUSTER)
    clusters = await client.receive()
    client.ack(clusters)
    client.request(LISTENER)
    listeners = await client.receive()
    return bytes(clusters.SerializeToString() + listeners.SerializeToString())


async def refusal(client: AdsClient) -> grpc.StatusCode:
    client.request(CLUSTER)
    try:
        response = await client.receive(10)
    except grpc.aio.AioRpcError as error:
        return error.code()
    finally:
        await client.close()
    raise AssertionError(f"a refused stream got {response.type_url}: {response}")


def refused_total(server: ServerProcess, reason: str) -> float:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(f'meshway_xds_refused_streams_total{{reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_sds_secret_names_go_only_to_the_node_that_owns_them(
    server: ServerProcess, appmesh: Any, account: str, unique: str
) -> None:
    mesh = f"{unique}-mesh"
    two_nodes(appmesh, mesh)
    mint = minter(server.data_dir)
    b = client_of(server, f"mesh/{mesh}/virtualNode/b", account, mint)
    a = client_of(server, f"mesh/{mesh}/virtualNode/a", account, mint)
    try:
        assert SECRET.encode() in await everything(b)
        assert SECRET.encode() not in await everything(a)
    finally:
        await a.close()
        await b.close()


async def test_task_a_credential_with_node_b_gets_nothing_and_is_logged_and_counted(
    server: ServerProcess, appmesh: Any, account: str, unique: str
) -> None:
    mesh = f"{unique}-mesh"
    two_nodes(appmesh, mesh)
    task_a = f"arn:aws:ecs:{REGION}:{account}:task/c/{unique}"
    node_a = f"arn:aws:appmesh:{REGION}:{account}:mesh/{mesh}/virtualNode/a"
    stolen = ProxyCredentials.load(server.data_dir).mint(subject=task_a, node=node_a)
    before = refused_total(server, "other-node")
    thief = client_of(server, f"mesh/{mesh}/virtualNode/b", account, stolen)
    assert await refusal(thief) == grpc.StatusCode.PERMISSION_DENIED
    assert refused_total(server, "other-node") == before + 1
    log = (server.data_dir.parent / f"server-{server.port}.log").read_text()
    assert (
        f"refused (other-node): node 'mesh/{mesh}/virtualNode/b', credential of '{task_a}'" in log
    )
    assert stolen not in log


async def test_a_stream_without_a_credential_is_refused_and_counted(
    server: ServerProcess, appmesh: Any, account: str, unique: str
) -> None:
    mesh = f"{unique}-mesh"
    two_nodes(appmesh, mesh)
    before = refused_total(server, "missing")
    anonymous = client_of(server, f"mesh/{mesh}/virtualNode/a", account, None)
    assert await refusal(anonymous) == grpc.StatusCode.UNAUTHENTICATED
    assert refused_total(server, "missing") == before + 1


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "meshway", "proxy-credential", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def test_the_cli_credential_lets_an_external_envoy_stream_its_node(
    server: ServerProcess, appmesh: Any, account: str, unique: str
) -> None:
    mesh = f"{unique}-mesh"
    two_nodes(appmesh, mesh)
    node = f"mesh/{mesh}/virtualNode/a"
    data = ["--data-dir", str(server.data_dir), "--account", account, "--region", REGION]
    token = cli(node, *data).strip()
    client = client_of(server, node, account, token)
    try:
        assert f"cds_ingress_{mesh}_a_http_9080".encode() in await everything(client)
    finally:
        await client.close()
    snippet = json.loads(cli(node, *data, "--bootstrap"))
    [service] = snippet["dynamic_resources"]["ads_config"]["grpc_services"]
    assert service["initial_metadata"] == [{"key": HEADER, "value": token}]
    # The same node id with another account is another node: the token does not carry over.
    other = client_of(server, node, "999999999999", token)
    assert await refusal(other) == grpc.StatusCode.PERMISSION_DENIED


def test_the_cli_needs_a_data_directory_with_a_key(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "meshway", "proxy-credential", "mesh/m/virtualNode/a",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no xDS credential key" in done.stderr
