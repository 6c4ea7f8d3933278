"""Acknowledged writes survive `kill -9` of the server; a write in flight is all there or absent.

Real processes and a real SQLite file: the server is started, written to through boto3, killed
with SIGKILL (no shutdown code runs) and started again on the same data directory.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.api.appmesh_kinds import NODE_SPECS, ROUTER_SPECS, aws_error
from tests.conftest import ServerProcess

ACCOUNT = "111122223333"


def _route(version_hint: int) -> dict[str, Any]:
    return {
        "httpRoute": {
            "match": {"prefix": f"/v{version_hint}"},
            "action": {"weightedTargets": [{"virtualNode": "target", "weight": 100}]},
        }
    }


def _snapshot(client: Any) -> dict[str, Any]:
    mesh = {"meshName": "durable"}
    return {
        "mesh": client.describe_mesh(**mesh)["mesh"],
        "nodes": [
            client.describe_virtual_node(**mesh, virtualNodeName=n)["virtualNode"]
            for n in ("target", "other")
        ],
        "router": client.describe_virtual_router(**mesh, virtualRouterName="vr")["virtualRouter"],
        "route": client.describe_route(**mesh, virtualRouterName="vr", routeName="r")["route"],
        "service": client.describe_virtual_service(**mesh, virtualServiceName="svc.local")[
            "virtualService"
        ],
        "listing": client.list_virtual_nodes(**mesh)["virtualNodes"],
        "tags": client.list_tags_for_resource(
            resourceArn=client.describe_mesh(**mesh)["mesh"]["metadata"]["arn"]
        )["tags"],
    }


def test_acknowledged_writes_survive_kill_9_and_a_restart(
    start_server: Callable[..., ServerProcess],
) -> None:
    first = start_server()
    client = first.client("appmesh", aws_access_key_id=ACCOUNT)
    mesh = {"meshName": "durable"}
    client.create_mesh(**mesh, tags=[{"key": "team", "value": "color"}])
    for name in ("target", "other", "doomed"):
        client.create_virtual_node(**mesh, virtualNodeName=name, spec=NODE_SPECS[0])
    client.create_virtual_router(**mesh, virtualRouterName="vr", spec=ROUTER_SPECS[0])
    client.create_route(
        **mesh, virtualRouterName="vr", routeName="r", spec=_route(1), clientToken="create-r"
    )
    client.update_route(**mesh, virtualRouterName="vr", routeName="r", spec=_route(2))
    client.update_route(**mesh, virtualRouterName="vr", routeName="r", spec=_route(3))
    client.create_virtual_service(
        **mesh,
        virtualServiceName="svc.local",
        spec={"provider": {"virtualRouter": {"virtualRouterName": "vr"}}},
    )
    client.tag_resource(
        resourceArn=client.describe_mesh(**mesh)["mesh"]["metadata"]["arn"],
        tags=[{"key": "tier", "value": "1"}],
    )
    client.delete_virtual_node(**mesh, virtualNodeName="doomed")
    before = _snapshot(client)
    first.stop(signal.SIGKILL)

    second = start_server(data_dir=first.data_dir)
    client = second.client("appmesh", aws_access_key_id=ACCOUNT)
    assert _snapshot(client) == before
    assert before["route"]["metadata"]["version"] == 3
    with aws_error("NotFoundException", 404):
        client.describe_virtual_node(**mesh, virtualNodeName="doomed")
    with aws_error("ResourceInUseException", 409):  # the references survived too
        client.delete_virtual_node(**mesh, virtualNodeName="target")
    replay = client.create_route(
        **mesh, virtualRouterName="vr", routeName="r", spec=_route(1), clientToken="create-r"
    )["route"]
    assert replay["metadata"]["version"] == 1  # the remembered first answer, not a conflict
    assert replay["metadata"]["uid"] == before["route"]["metadata"]["uid"]


ROUNDS = 3  # each round kills the server at another moment of a write


def _write_until_stopped(
    server: ServerProcess,
    prefix: str,
    acked_nodes: dict[str, str],
    route_version: list[int],
    stop: threading.Event,
) -> None:
    """Create nodes and update the route, one after the other, recording each answer."""
    writer = server.client("appmesh", aws_access_key_id=ACCOUNT)
    mesh = {"meshName": "durable"}
    index = 0
    while not stop.is_set():
        try:
            node = writer.create_virtual_node(
                **mesh, virtualNodeName=f"{prefix}{index}", spec=NODE_SPECS[0]
            )["virtualNode"]
            acked_nodes[node["virtualNodeName"]] = node["metadata"]["uid"]
            route = writer.update_route(
                **mesh, virtualRouterName="vr", routeName="r", spec=_route(route_version[0] + 1)
            )["route"]
            route_version[0] = route["metadata"]["version"]
        except Exception:  # the server is gone mid-request: any failure ends it
            return
        index += 1


def test_a_write_in_flight_at_kill_9_is_wholly_there_or_wholly_absent(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    client = server.client("appmesh", aws_access_key_id=ACCOUNT)
    mesh = {"meshName": "durable"}
    client.create_mesh(**mesh)
    client.create_virtual_node(**mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    client.create_virtual_router(**mesh, virtualRouterName="vr", spec=ROUTER_SPECS[0])
    client.create_route(**mesh, virtualRouterName="vr", routeName="r", spec=_route(1))
    acked_nodes: dict[str, str] = {}  # name -> uid, over all rounds
    found_unanswered = 0
    for round_ in range(ROUNDS):
        before = len(acked_nodes)
        version = client.describe_route(**mesh, virtualRouterName="vr", routeName="r")["route"]
        route_version = [version["metadata"]["version"]]
        stop = threading.Event()
        thread = threading.Thread(
            target=_write_until_stopped,
            args=(server, f"round{round_}-", acked_nodes, route_version, stop),
        )
        thread.start()
        deadline = time.monotonic() + 10
        while len(acked_nodes) < before + 10 + 5 * round_ and time.monotonic() < deadline:
            time.sleep(0.005)
        server.stop(signal.SIGKILL)
        stop.set()
        thread.join(30)

        server = start_server(data_dir=server.data_dir)
        client = server.client("appmesh", aws_access_key_id=ACCOUNT)
        listed = {n["virtualNodeName"] for n in client.list_virtual_nodes(**mesh)["virtualNodes"]}
        for name, uid in acked_nodes.items():
            node = client.describe_virtual_node(**mesh, virtualNodeName=name)["virtualNode"]
            assert node["metadata"]["uid"] == uid
        unanswered = listed - set(acked_nodes) - {"target"}
        assert len(unanswered) <= 1, unanswered  # at most the one create never answered
        for name in unanswered:  # there, then whole: listed, described, with its spec
            node = client.describe_virtual_node(**mesh, virtualNodeName=name)["virtualNode"]
            assert node["metadata"]["version"] == 1 and node["spec"]["listeners"]
            acked_nodes[name] = node["metadata"]["uid"]
        route = client.describe_route(**mesh, virtualRouterName="vr", routeName="r")["route"]
        version = route["metadata"]["version"]
        assert version in (route_version[0], route_version[0] + 1)
        assert route["spec"]["httpRoute"]["match"]["prefix"] == f"/v{version}"  # one write, whole
        found_unanswered += len(unanswered) + version - route_version[0]
    print(
        f"{ROUNDS} kills; {len(acked_nodes)} creates survived; "
        f"{found_unanswered} unanswered writes found whole after restarts"
    )
