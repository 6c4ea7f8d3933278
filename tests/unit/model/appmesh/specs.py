"""Valid App Mesh specs to start from, and `changed`, which edits a copy at a dotted path.

Shared by the rule unit tests and the API validation tests: each invalid case is one of these
valid specs with one edit, so a failure points at exactly one rule.
"""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()


def node() -> dict[str, Any]:
    return {
        "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": "colorteller.local"}},
    }


def router(*listeners: tuple[int, str]) -> dict[str, Any]:
    pairs = listeners or ((8080, "http"),)
    return {"listeners": [{"portMapping": {"port": p, "protocol": proto}} for p, proto in pairs]}


def gateway(*listeners: tuple[int, str]) -> dict[str, Any]:
    return router(*listeners)


def http_route(route_type: str = "httpRoute") -> dict[str, Any]:
    return {
        route_type: {
            "match": {"prefix": "/"},
            "action": {"weightedTargets": [{"virtualNode": "blue", "weight": 100}]},
        }
    }


def grpc_route() -> dict[str, Any]:
    return {
        "grpcRoute": {
            "match": {"serviceName": "color.ColorService", "methodName": "Get"},
            "action": {"weightedTargets": [{"virtualNode": "blue", "weight": 100}]},
        }
    }


def tcp_route() -> dict[str, Any]:
    return {"tcpRoute": {"action": {"weightedTargets": [{"virtualNode": "blue", "weight": 100}]}}}


def gateway_route(route_type: str = "httpRoute") -> dict[str, Any]:
    match: dict[str, Any] = (
        {"serviceName": "color.ColorService"} if route_type == "grpcRoute" else {"prefix": "/"}
    )
    return {
        route_type: {
            "match": match,
            "action": {"target": {"virtualService": {"virtualServiceName": "color.local"}}},
        }
    }


def client_policy(*sans: str) -> dict[str, Any]:
    validation: dict[str, Any] = {"trust": {"file": {"certificateChain": "/certs/ca.pem"}}}
    if sans:
        validation["subjectAlternativeNames"] = {"match": {"exact": list(sans)}}
    return {"tls": {"validation": validation}}


def changed(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `spec` with `value` at `path` ("a.b.0.c"; digits index lists, one past the end
    appends), or the key removed when `value` is DELETE."""
    result = copy.deepcopy(spec)
    *parents, last = path.split(".")
    target: Any = result
    for name in parents:
        key: Any = int(name) if name.isdigit() else name
        if isinstance(target, dict) and key not in target:
            target[key] = {}
        target = target[key]
    key = int(last) if last.isdigit() else last
    if value is DELETE:
        del target[key]
    elif isinstance(target, list) and key == len(target):
        target.append(value)
    else:
        target[key] = value
    return result
