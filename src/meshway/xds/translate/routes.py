"""RouteConfigurations: `rds_ingress_<proto>_<port>` to the local app, `rds_egress_<proto>_<port>`
with a virtual host per backend virtual service reachable on that port.

Field mapping: reference/translation.md rows 1.9-1.11 (ingress) and §5 (matches, ordering, weights,
timeouts, retries). `translate_match`, `translate_retry_policy` and `translate_action` each map one
App Mesh field group; `build_routes` makes the set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from envoy.config.route.v3 import route_pb2

from meshway.xds import names
from meshway.xds.translate.backends import (
    HTTP_FAMILY,
    EgressPlan,
    Exposure,
    PlannedRoute,
)
from meshway.xds.translate.messages import (
    PREVIOUS_HOSTS,
    Json,
    aggregate_stats,
    duration,
    message,
    typed,
)
from meshway.xds.view import Spec

# App Mesh's default per-request timeout, written explicitly (rows 1.10, 5.5.1).
DEFAULT_TIMEOUT = "15s"

# App Mesh's default retry policy "on all destinations where no retry strategy is defined"
# (row 5.6.9: RM#229's YAML, plus `reset` per UG envoy-defaults.md). Not visible in the API.
DEFAULT_RETRY_POLICY: Json = {
    "retry_on": "unavailable,connect-failure,refused-stream,retriable-status-codes,reset",
    "num_retries": 2,
    "retriable_status_codes": [503],
    "retry_host_predicate": [
        {
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": typed(PREVIOUS_HOSTS),
        }
    ],
    "host_selection_retry_max_attempts": 5,
}

# httpRetryEvents → (retry_on tokens, retriable status codes); rows 5.6.3-5.6.6.
_HTTP_EVENTS: Mapping[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "server-error": (
        ("reset", "retriable-status-codes"),
        (500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511),
    ),
    "gateway-error": (("reset", "retriable-status-codes"), (502, 503, 504)),
    "client-error": (("retriable-status-codes",), (409,)),
    "stream-error": (("refused-stream",), ()),
}
_TCP_EVENTS = {"connection-error": "connect-failure"}  # row 5.6.7
# One fixed order for retry_on, so equal policies give equal bytes (D1 shows this order).
_TOKEN_ORDER = (
    "reset",
    "refused-stream",
    "connect-failure",
    "retriable-status-codes",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
)


def build_routes(
    mesh: str, node: str, node_spec: Spec, plan: EgressPlan
) -> list[route_pb2.RouteConfiguration]:
    return [*ingress_configs(mesh, node, node_spec), *egress_configs(plan)]


# --- ingress -----------------------------------------------------------------------------------


def ingress_configs(
    mesh: str, node: str, node_spec: Spec
) -> Iterator[route_pb2.RouteConfiguration]:
    for listener in node_spec.get("listeners") or ():
        port, protocol = _port_protocol(listener)
        if protocol not in HTTP_FAMILY:
            continue
        timeouts = (listener.get("timeout") or {}).get(protocol) or {}
        action: Json = {
            "cluster": names.ingress_cluster(mesh, node, protocol, port),
            "timeout": duration(timeouts.get("perRequest"), DEFAULT_TIMEOUT),
        }
        idle = duration(timeouts.get("idle"))
        if idle is not None:
            action["idle_timeout"] = idle
        host = {
            "name": names.INGRESS_VIRTUAL_HOST,
            "domains": ["*"],
            "routes": [{"match": {"prefix": "/"}, "route": action}],
        }
        yield message(
            route_pb2.RouteConfiguration,
            {"name": names.ingress_routes(protocol, port), "virtual_hosts": [host]},
        )


def _port_protocol(listener: Spec) -> tuple[int, str]:
    mapping = listener.get("portMapping") or {}
    return int(mapping["port"]), str(mapping["protocol"])


# --- egress ------------------------------------------------------------------------------------


def egress_ports(plan: EgressPlan) -> dict[int, list[Exposure]]:
    """HTTP-family exposures by port: one filter chain and one route configuration per port."""
    ports: dict[int, list[Exposure]] = {}
    for exposure in plan.exposures:
        if exposure.protocol in HTTP_FAMILY:
            ports.setdefault(exposure.port, []).append(exposure)
    return ports


def egress_route_name(port: int, exposures: list[Exposure]) -> str:
    """`rds_egress_<proto>_<port>`; Meshway's choice when services of different HTTP protocols
    share a port (one chain, one configuration): `http`."""
    protocols = {exposure.protocol for exposure in exposures}
    return names.egress_routes(protocols.pop() if len(protocols) == 1 else "http", port)


def egress_configs(plan: EgressPlan) -> Iterator[route_pb2.RouteConfiguration]:
    for port, exposures in sorted(egress_ports(plan).items()):
        hosts = [virtual_host(exposure, port) for exposure in exposures]
        yield message(
            route_pb2.RouteConfiguration,
            {"name": egress_route_name(port, exposures), "virtual_hosts": hosts},
        )


def virtual_host(exposure: Exposure, domain_port: int) -> Json:
    """A service whose provider yields no routes keeps its virtual host (404, row 2.4).
    `domain_port` is the port callers name in Host: the service's port, or 15001 on a gateway's
    egress listener (row 6.2)."""
    return {
        "name": names.egress_virtual_host(exposure.service),
        "domains": names.virtual_host_domains(exposure.service, domain_port),
        "routes": [egress_route(route, exposure.service) for route in exposure.routes],
    }


def egress_route(route: PlannedRoute, service: str) -> Json:
    out: Json = {
        "name": route.name,
        "match": translate_match(route.route_type, route.spec.get("match") or {}),
        "metadata": aggregate_stats([{"key": "TargetVirtualService", "value": service}]),
    }
    if sum(w.weight for w in route.clusters) == 0:
        # Envoy rejects weighted clusters that sum to 0: a route whose targets are all weight 0
        # (or all gone) matches and answers 503, as a cluster with no hosts would.
        out["direct_response"] = {"status": 503}
        return out
    out["route"] = translate_action(route)
    return out


def translate_action(route: PlannedRoute) -> Json:
    if route.route_type == "":  # a node provider's route: one cluster, defaults only
        action: Json = {"cluster": route.clusters[0].cluster, "timeout": DEFAULT_TIMEOUT}
        action["retry_policy"] = DEFAULT_RETRY_POLICY
        return action
    clusters = [{"name": w.cluster, "weight": w.weight} for w in route.clusters]
    timeouts = route.spec.get("timeout") or {}
    action = {
        "weighted_clusters": {"clusters": clusters},
        "timeout": duration(timeouts.get("perRequest"), DEFAULT_TIMEOUT),
        "retry_policy": translate_retry_policy(route.spec.get("retryPolicy")),
    }
    idle = duration(timeouts.get("idle"))
    if idle is not None:
        action["idle_timeout"] = idle
    return action


def translate_retry_policy(policy: Spec | None) -> Json:
    """A user policy replaces the default wholesale (row 5.6.9); every policy avoids the host
    that just failed (row 5.6.2)."""
    if not policy:
        return DEFAULT_RETRY_POLICY
    tokens: set[str] = set()
    codes: set[int] = set()
    for event in policy.get("httpRetryEvents") or ():
        event_tokens, event_codes = _HTTP_EVENTS[event]
        tokens.update(event_tokens)
        codes.update(event_codes)
    tokens.update(_TCP_EVENTS[event] for event in policy.get("tcpRetryEvents") or ())
    tokens.update(policy.get("grpcRetryEvents") or ())  # Envoy's gRPC tokens are the same words
    out: Json = {
        "retry_on": ",".join(token for token in _TOKEN_ORDER if token in tokens),
        "num_retries": int(policy.get("maxRetries") or 0),
        "retry_host_predicate": DEFAULT_RETRY_POLICY["retry_host_predicate"],
        "host_selection_retry_max_attempts": 5,
    }
    per_try = duration(policy.get("perRetryTimeout"))
    if per_try is not None:
        out["per_try_timeout"] = per_try
    if codes:
        out["retriable_status_codes"] = sorted(codes)
    return out


# --- matches -----------------------------------------------------------------------------------


def translate_match(route_type: str, match: Spec) -> Json:
    if route_type == "grpcRoute":
        return _grpc_match(match)
    if route_type == "":
        return {"prefix": "/"}
    out: Json = _path_match(match)
    headers = [translate_header(header) for header in match.get("headers") or ()]
    if match.get("method"):
        headers.append({"name": ":method", "string_match": {"exact": match["method"]}})
    if match.get("scheme"):
        headers.append({"name": ":scheme", "string_match": {"exact": match["scheme"]}})
    if headers:
        out["headers"] = headers
    params = [_query_parameter(param) for param in match.get("queryParameters") or ()]
    if params:
        out["query_parameters"] = params
    return out


def _path_match(match: Spec) -> Json:
    path = match.get("path") or {}
    if path.get("exact") is not None:
        return {"path": path["exact"]}
    if path.get("regex") is not None:
        return {"safe_regex": {"regex": path["regex"]}}
    return {"prefix": match.get("prefix") or "/"}


def _grpc_match(match: Spec) -> Json:
    service, method = match.get("serviceName"), match.get("methodName")
    out: Json
    if service and method:
        out = {"path": f"/{service}/{method}"}
    elif service:
        out = {"prefix": f"/{service}/"}
    else:
        out = {"prefix": "/"}
    headers = [translate_header(header) for header in match.get("metadata") or ()]
    if headers:
        out["headers"] = headers
    return out


def translate_header(header: Spec) -> Json:
    """HttpRouteHeader / GrpcRouteMetadata → HeaderMatcher (rows 5.2.3-5.2.5)."""
    out: Json = {"name": header["name"]}
    match = header.get("match") or {}
    if header.get("invert"):
        out["invert_match"] = True
    if match.get("range") is not None:
        out["range_match"] = {"start": match["range"]["start"], "end": match["range"]["end"]}
    elif match:
        out["string_match"] = _string_match(match)
    else:
        out["present_match"] = True
    return out


def _string_match(match: Spec) -> Json:
    for key in ("exact", "prefix", "suffix"):
        if match.get(key) is not None:
            return {key: match[key]}
    return {"safe_regex": {"regex": match["regex"]}}


def _query_parameter(param: Spec) -> Json:
    exact = (param.get("match") or {}).get("exact")
    if exact is None:
        return {"name": param["name"], "present_match": True}
    return {"name": param["name"], "string_match": {"exact": exact}}
