"""Segment documents as Envoy's X-Ray tracer writes them in App Mesh, for the API tests.

A request from an uninstrumented client makes three segments: the front proxy's ingress segment
(no parent), its egress segment (parent: the ingress one, same name) and the backend proxy's
ingress segment (parent: the front's egress one). Fields as `tracer.cc` sends them: origin
`AWS::AppMesh::Proxy`, `aws.app_mesh`, http request/response, `error` for 4xx, `throttle` for 429,
`fault` for 5xx, false flags omitted, annotations as strings.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from typing import Any

MESH = "mesh"
ORIGIN = "AWS::AppMesh::Proxy"
_ids = itertools.count(random.randrange(1 << 40))


def new_id() -> str:
    return f"{next(_ids):016x}"


def trace_id(epoch: float) -> str:
    return f"1-{int(epoch):08x}-{random.getrandbits(96):024x}"


def outcome(status: int) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    if 400 <= status < 500:
        flags["error"] = True
    if status == 429:
        flags["throttle"] = True
    if status >= 500:
        flags["fault"] = True
    return flags


def envoy_segment(
    node: str,
    tid: str,
    *,
    start: float,
    end: float | None,
    status: int,
    parent: str | None,
    direction: str,
    host: str,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": f"{MESH}/{node}",
        "id": new_id(),
        "trace_id": tid,
        "start_time": start,
        "origin": ORIGIN,
        "aws": {"app_mesh": {"mesh_name": MESH, "virtual_node_name": node}},
        "http": {
            "request": {"method": "GET", "url": f"http://{host}/color", "user_agent": "curl/8"},
            "response": {"status": status, "content_length": 12},
        },
        "annotations": {"direction": direction, "component": "proxy"},
        **outcome(status),
    }
    if end is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = end
    if parent is not None:
        doc["parent_id"] = parent
    return doc


@dataclass(frozen=True)
class Request:
    trace_id: str
    status: int
    segments: tuple[dict[str, Any], ...]  # front ingress, front egress, backend ingress


def request(epoch: float, status: int) -> Request:
    """One client → front → backend request whose backend answered `status` (passed back)."""
    tid = trace_id(epoch)
    ingress = envoy_segment(
        "front",
        tid,
        start=epoch,
        end=epoch + 0.030,
        status=status,
        parent=None,
        direction="ingress",
        host="front.local:8080",
    )
    egress = envoy_segment(
        "front",
        tid,
        start=epoch + 0.002,
        end=epoch + 0.025,
        status=status,
        parent=ingress["id"],
        direction="egress",
        host="backend.local:8080",
    )
    backend = envoy_segment(
        "backend",
        tid,
        start=epoch + 0.005,
        end=epoch + 0.020,
        status=status,
        parent=egress["id"],
        direction="ingress",
        host="backend.local:8080",
    )
    return Request(tid, status, (ingress, egress, backend))


def documents(segments: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(s) for s in segments]
