"""Concurrent writers on one route: every update is one version, none lost, none repeated."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.api.appmesh_kinds import MODEL, NODE_SPECS, ROUTER_SPECS
from tests.conftest import REGION

WRITERS = 20
ALLOWED = {e.name for e in MODEL.operation_model("UpdateRoute").error_shapes}


def _route_spec(index: int) -> dict[str, Any]:
    return {
        "httpRoute": {
            "match": {"prefix": f"/writer-{index}"},
            "action": {"weightedTargets": [{"virtualNode": "target", "weight": 100}]},
        }
    }


def _client(url: str, account: str) -> Any:
    session = boto3.session.Session()  # one per thread: boto3's default session is shared
    return session.client(
        "appmesh",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=account,
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=2),
    )


def test_twenty_concurrent_route_updates_each_get_a_distinct_version_or_fail_cleanly(
    server: Any, appmesh: Any, account: str, unique: str
) -> None:
    mesh = unique
    appmesh.create_mesh(meshName=mesh)
    appmesh.create_virtual_node(meshName=mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    appmesh.create_virtual_router(meshName=mesh, virtualRouterName="vr", spec=ROUTER_SPECS[0])
    appmesh.create_route(meshName=mesh, virtualRouterName="vr", routeName="r", spec=_route_spec(-1))
    clients = [_client(server.url, account) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def write(index: int) -> tuple[int, Any]:
        start.wait()
        try:
            answer = clients[index].update_route(
                meshName=mesh, virtualRouterName="vr", routeName="r", spec=_route_spec(index)
            )
        except ClientError as error:
            return index, error.response
        return index, answer["route"]

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(write, range(WRITERS)))

    successes = {i: r for i, r in results if "metadata" in r}
    failures = [r for _, r in results if "metadata" not in r]
    for failure in failures:
        assert failure["Error"]["Code"] in ALLOWED, failure
        assert failure["ResponseMetadata"]["HTTPStatusCode"] < 500 or failure["Error"]["Code"] in (
            "ServiceUnavailableException",
        ), failure
    versions = [r["metadata"]["version"] for r in successes.values()]
    assert len(set(versions)) == len(versions), sorted(versions)
    assert set(versions) <= set(range(2, WRITERS + 2))
    final = appmesh.describe_route(meshName=mesh, virtualRouterName="vr", routeName="r")["route"]
    assert final["metadata"]["version"] == len(successes) + 1
    last_writer = max(successes, key=lambda i: successes[i]["metadata"]["version"])
    assert final["spec"] == successes[last_writer]["spec"]
    print(f"{len(successes)} updates succeeded, {len(failures)} failed cleanly")


def _race(clients: list[Any], call: Any) -> list[Any]:
    start = threading.Barrier(len(clients))

    def run(client: Any) -> Any:
        start.wait()
        try:
            return call(client)["route"]
        except ClientError as error:
            return error.response

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(run, clients))


def _router_world(appmesh: Any, mesh: str) -> None:
    appmesh.create_mesh(meshName=mesh)
    appmesh.create_virtual_node(meshName=mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    appmesh.create_virtual_router(meshName=mesh, virtualRouterName="vr", spec=ROUTER_SPECS[0])


def test_concurrent_creates_of_one_name_make_one_route_and_conflicts(
    server: Any, appmesh: Any, account: str, unique: str
) -> None:
    _router_world(appmesh, unique)
    clients = [_client(server.url, account) for _ in range(WRITERS)]
    results = _race(
        clients,
        lambda c: c.create_route(
            meshName=unique, virtualRouterName="vr", routeName="r", spec=_route_spec(0)
        ),
    )
    created = [r for r in results if "metadata" in r]
    assert len(created) == 1
    assert all(r["Error"]["Code"] == "ConflictException" for r in results if "metadata" not in r)
    listed = appmesh.list_routes(meshName=unique, virtualRouterName="vr")["routes"]
    assert [r["routeName"] for r in listed] == ["r"]


def test_concurrent_creates_with_one_client_token_all_get_the_one_answer(
    server: Any, appmesh: Any, account: str, unique: str
) -> None:
    _router_world(appmesh, unique)
    clients = [_client(server.url, account) for _ in range(WRITERS)]
    results = _race(
        clients,
        lambda c: c.create_route(
            meshName=unique,
            virtualRouterName="vr",
            routeName="r",
            spec=_route_spec(0),
            clientToken="one-token",
        ),
    )
    assert all("metadata" in r for r in results), results
    assert len({r["metadata"]["uid"] for r in results}) == 1
    assert {r["metadata"]["version"] for r in results} == {1}
