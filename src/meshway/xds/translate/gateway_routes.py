"""Gateway routes → the routes of a virtual gateway's `rds_ingress_<proto>_<port>`.

Every gateway route sends to the gateway's own egress listener through its `self_redirect`
cluster, rewriting Host to the target virtual service (or, with hostname rewrite disabled, naming
the service in `x-app-mesh-virtual-service`) and the path per the rewrite rules; the egress
listener then routes by Host like any caller. Field mapping: reference/translation.md §6 (rows
6.4-6.15). Routes without a hostname match share the `self_redirect` virtual host (`*`); a
hostname match gets its own virtual host, as Envoy picks a host before a route.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from meshway.xds import names
from meshway.xds.translate.backends import Exposure
from meshway.xds.translate.messages import Json
from meshway.xds.translate.routes import translate_header, translate_match
from meshway.xds.view import Spec

GATEWAY_ROUTE_PROTOCOL = {"httpRoute": "http", "http2Route": "http2", "grpcRoute": "grpc"}


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayRoute:
    name: str
    priority: int | None
    route_type: str
    spec: Spec  # the route type's body

    @property
    def service(self) -> str:
        target = (self.spec.get("action") or {}).get("target") or {}
        return str((target.get("virtualService") or {}).get("virtualServiceName"))

    @property
    def hostname_rewrite(self) -> bool:
        """Host becomes the target service unless defaultTargetHostname is DISABLED (6.10)."""
        rewrite = ((self.spec.get("action") or {}).get("rewrite") or {}).get("hostname") or {}
        return rewrite.get("defaultTargetHostname") != "DISABLED"


def routes_for_listener(routes: dict[str, Spec], port: int, protocol: str) -> list[GatewayRoute]:
    """The gateway routes of this listener (type = protocol, port match = port or none), in
    App Mesh's order: priority, then longest prefix (row 6.6)."""
    found = []
    for name, spec in routes.items():
        route_type = next((t for t in GATEWAY_ROUTE_PROTOCOL if spec.get(t) is not None), None)
        if route_type is None or GATEWAY_ROUTE_PROTOCOL[route_type] != protocol:
            continue
        body = spec[route_type]
        if (body.get("match") or {}).get("port") not in (None, port):
            continue
        found.append(
            GatewayRoute(name=name, priority=spec.get("priority"), route_type=route_type, spec=body)
        )
    found.sort(key=lambda r: (r.priority is None, r.priority or 0, -_prefix_length(r), r.name))
    return found


def _prefix_length(route: GatewayRoute) -> int:
    match = route.spec.get("match") or {}
    if route.route_type == "grpcRoute":
        return len(match.get("serviceName") or "")
    return len(match.get("prefix") or ((match.get("path") or {}).get("exact")) or "")


def virtual_host_key(route: GatewayRoute) -> tuple[str, str]:
    """("exact", h), ("suffix", s) or ("", "") for routes without a hostname match."""
    hostname = (route.spec.get("match") or {}).get("hostname") or {}
    if hostname.get("exact"):
        return "exact", str(hostname["exact"])
    if hostname.get("suffix"):
        return "suffix", str(hostname["suffix"])
    return "", ""


def virtual_host(key: tuple[str, str], routes: list[Json]) -> Json:
    kind, value = key
    if kind == "exact":
        return {
            "name": f"hostname_exact_{value}",
            "domains": [value, f"{value}:*"],
            "routes": routes,
        }
    if kind == "suffix":
        return {"name": f"hostname_suffix_{value}", "domains": [f"*{value}"], "routes": routes}
    return {"name": names.SELF_REDIRECT, "domains": ["*"], "routes": routes}


def translate_gateway_route(
    route: GatewayRoute, cluster: str, exposure: Exposure | None
) -> Iterator[Json]:
    action: Json = {"cluster": cluster}
    timeout = _implicit_timeout(exposure)
    if timeout is not None:
        action["timeout"] = timeout
    extra: Json = {}
    if route.hostname_rewrite:
        action["host_rewrite_literal"] = route.service
    else:
        extra["request_headers_to_add"] = [
            {"header": {"key": names.VIRTUAL_SERVICE_HEADER, "value": route.service}}
        ]
    for match, rewrite in _matches_and_rewrites(route):
        yield {"name": route.name, "match": match, "route": {**action, **rewrite}, **extra}


def _matches_and_rewrites(route: GatewayRoute) -> Iterator[tuple[Json, Json]]:
    match = route.spec.get("match") or {}
    if route.route_type == "grpcRoute":
        yield _grpc_match(match), {}
        return
    headers = translate_match("httpRoute", {**match, "prefix": None, "path": None})
    headers.pop("prefix", None)
    rewrite = (route.spec.get("action") or {}).get("rewrite") or {}
    path = match.get("path") or {}
    if path:
        base = translate_match("httpRoute", {"path": path})
        yield {**base, **headers}, _path_rewrite(rewrite, path)
        return
    prefix = match.get("prefix")
    if prefix is None:  # hostname-only match
        yield {"prefix": "/", **headers}, {}
        return
    prefix_rewrite = rewrite.get("prefix") or {}
    if prefix_rewrite.get("value") is not None:
        yield {"prefix": prefix, **headers}, {"prefix_rewrite": prefix_rewrite["value"]}
    elif prefix_rewrite.get("defaultPrefix") == "DISABLED":
        yield {"prefix": prefix, **headers}, {}
    elif prefix.endswith("/"):
        yield {"prefix": prefix, **headers}, {"prefix_rewrite": "/"}
    else:
        # Row 6.5: `/red/tell` → `/tell` and `/red` → `/`; the trailing "/" marks the prefix's end.
        yield {"prefix": f"{prefix}/", **headers}, {"prefix_rewrite": "/"}
        yield {"prefix": prefix, **headers}, {"prefix_rewrite": "/"}


def _path_rewrite(rewrite: Spec, path: Spec) -> Json:
    exact = (rewrite.get("path") or {}).get("exact")
    if exact is None:
        return {}
    if path.get("exact") is not None:
        return {"prefix_rewrite": exact}  # the whole matched path is the "prefix" (row 6.9)
    return {"regex_rewrite": {"pattern": {"regex": path["regex"]}, "substitution": exact}}


def _grpc_match(match: Spec) -> Json:
    service = match.get("serviceName")
    out: Json = {"prefix": f"/{service}/" if service else "/"}
    headers = [translate_header(header) for header in match.get("metadata") or ()]
    if headers:
        out["headers"] = headers
    return out


def _implicit_timeout(exposure: Exposure | None) -> str | None:
    """The largest per-request timeout of the target service's routes (row 6.14); none when it
    has no routes. A 0 (disabled) timeout anywhere disables it here too."""
    if exposure is None or not exposure.routes:
        return None
    seconds = [_timeout_seconds(route.spec) for route in exposure.routes]
    if 0 in seconds:
        return "0s"
    top = max(seconds)
    return f"{top:g}s" if top == int(top) else f"{top:.3f}s"


def _timeout_seconds(spec: Spec) -> float:
    value = (spec.get("timeout") or {}).get("perRequest")
    if not value:
        return 15.0
    return float(value["value"]) / (1 if value["unit"] == "s" else 1000)
