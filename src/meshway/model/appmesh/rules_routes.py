"""App Mesh rules for routes (under a virtual router) and gateway routes (under a virtual gateway).

A route is checked on its own and, when the service passes its parent's spec, against the
parent's listeners: the route type must be the protocol of the listener it applies to, and with
several listeners the route must name that listener's port. Shared checks live in `rules_common`.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshway.model.appmesh.rules_common import (
    Spec,
    check_duration,
    check_header_matches,
    check_path,
    check_path_match,
    check_prefix,
    fail,
    items,
    join,
    listener_ports,
    obj,
)

ROUTE_PROTOCOLS = {
    "httpRoute": "http",
    "http2Route": "http2",
    "grpcRoute": "grpc",
    "tcpRoute": "tcp",
}
GATEWAY_ROUTE_PROTOCOLS = {"httpRoute": "http", "http2Route": "http2", "grpcRoute": "grpc"}

# API HttpRetryPolicy.httpRetryEvents: "Specify at least one of the following values" (the model
# types them as free strings, so the model cannot say it).
HTTP_RETRY_EVENTS = ("server-error", "gateway-error", "client-error", "stream-error")

# API WeightedTarget: "The total weight for all targets combined must be less than or equal to
# 100." The console's "must add up to 100" (UG routes.md) is a console rule: AWS's own examples
# send weights 1 + 1 (aws-app-mesh-examples#93), so only the model's bound is enforced. A weight
# of 0 is valid (roadmap #133, #204); so is, deliberately, a route whose weights are all 0 (no
# AWS source rejects it; the translation must then send no traffic rather than an empty cluster).
MAX_TOTAL_WEIGHT = 100


def route_type_of(spec: Spec, types: Mapping[str, str], what: str) -> str:
    # API RouteSpec / GatewayRouteSpec: "Specify one route type." (not a union in the model)
    present = [name for name in types if spec.get(name) is not None]
    if not present:
        fail(f"{what} spec must specify one route type: one of {', '.join(types)}")
    if len(present) > 1:
        fail(f"{what} spec must specify only one route type, found {', '.join(present)}")
    return present[0]


# --- routes ---------------------------------------------------------------------------------------


def check_route(spec: Spec, router_spec: Spec | None) -> None:
    route_type = route_type_of(spec, ROUTE_PROTOCOLS, "Route")
    route, path = obj(spec[route_type]), f"spec.{route_type}"
    match = obj(route.get("match"))
    if route_type in ("httpRoute", "http2Route"):
        _check_http_route_match(route_type, match, join(path, "match"))
    elif route_type == "grpcRoute":
        _check_grpc_route_match(match, join(path, "match"))
    _check_weighted_targets(obj(route.get("action")), join(path, "action"))
    _check_retry_policy(route.get("retryPolicy"), join(path, "retryPolicy"))
    for name, duration in obj(route.get("timeout")).items():
        check_duration(duration, join(path, "timeout", name))
    if router_spec is not None:
        _check_router_fit(route_type, match.get("port"), router_spec)


def _check_http_route_match(route_type: str, match: Spec, path: str) -> None:
    # CTL virtualrouter_validator.go: "Either Prefix or Path must be specified".
    if match.get("prefix") is None and match.get("path") is None:
        fail(f"Either prefix or path must be specified in '{path}'")
    check_path_match(match, path)
    check_prefix(match.get("prefix"), join(path, "prefix"))
    # API HttpRouteMatch.scheme: "Applicable only for HTTP2 routes."
    if route_type != "http2Route" and match.get("scheme") is not None:
        fail(f"The scheme match at '{join(path, 'scheme')}' is applicable only for HTTP2 routes")
    check_header_matches(match.get("headers"), join(path, "headers"))


def _check_grpc_route_match(match: Spec, path: str) -> None:
    # API GrpcRouteMatch.methodName: "If you specify a name, you must also specify a
    # serviceName."
    if match.get("methodName") is not None and match.get("serviceName") is None:
        fail(
            f"The methodName at '{join(path, 'methodName')}' requires a serviceName: if you "
            f"specify a method name, you must also specify a serviceName"
        )
    check_header_matches(match.get("metadata"), join(path, "metadata"))


def _check_weighted_targets(action: Spec, path: str) -> None:
    # At least one target is the model's (WeightedTargets min=1), checked by shape validation.
    total = sum(int(target.get("weight") or 0) for target in items(action.get("weightedTargets")))
    if total > MAX_TOTAL_WEIGHT:
        fail(
            f"The total weight for all targets combined at '{join(path, 'weightedTargets')}' "
            f"must be less than or equal to {MAX_TOTAL_WEIGHT}, but is {total}"
        )


def _check_retry_policy(policy: object, path: str) -> None:
    if policy is None:
        return
    retry = obj(policy)
    # API HttpRetryPolicy / GrpcRetryPolicy: "Specify at least one value for at least one of the
    # types of RetryEvents, a value for maxRetries, and a value for perRetryTimeout."
    kinds = ("httpRetryEvents", "tcpRetryEvents", "grpcRetryEvents")
    if not any(retry.get(kind) for kind in kinds):
        fail(
            f"The retry policy at '{path}' must specify at least one value for at least one of "
            f"the types of RetryEvents ({', '.join(kinds)})"
        )
    for index, event in enumerate(retry.get("httpRetryEvents") or [], start=1):
        if event not in HTTP_RETRY_EVENTS:
            fail(
                f"1 validation error detected: Value '{event}' at "
                f"'{join(path, 'httpRetryEvents', index, 'member')}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: "
                f"[{', '.join(HTTP_RETRY_EVENTS)}]"
            )
    check_duration(retry.get("perRetryTimeout"), join(path, "perRetryTimeout"))


def _check_router_fit(route_type: str, port: object, router_spec: Spec) -> None:
    listeners = listener_ports(items(router_spec.get("listeners")))
    # AWS's message, quoted in aws/aws-app-mesh-controller-for-k8s#715; UG routes.md: "Port
    # match is required if this virtual router has multiple listeners."
    if len(listeners) > 1 and port is None:
        fail("Route must define a port match criteria if the Virtual Router has multiple listeners")
    if isinstance(port, int) and port not in listeners:
        fail(
            f"Route match port {port} does not match any listener port of the Virtual Router "
            f"({_ports(listeners)})"
        )
    applies_to = {port: listeners[port]} if isinstance(port, int) else listeners
    # UG routes.md: "The protocol that you select must match the listener protocol that you
    # selected for your virtual router".
    if ROUTE_PROTOCOLS[route_type] not in applies_to.values():
        fail(
            f"Route type {route_type} does not match the Virtual Router listener protocol "
            f"({_protocols(applies_to)})"
        )


# --- gateway routes -------------------------------------------------------------------------------

# UG gateway-routes.md: "You can't specify either /aws-appmesh* or /aws-app-mesh* for Prefix
# match" and "You can't specify /aws.app-mesh* or aws.appmesh for the Service name. These ...
# are reserved for future App Mesh internal use."
RESERVED_PREFIXES = ("/aws-appmesh", "/aws-app-mesh")


def check_gateway_route(spec: Spec, gateway_spec: Spec | None) -> None:
    route_type = route_type_of(spec, GATEWAY_ROUTE_PROTOCOLS, "Gateway route")
    route, path = obj(spec[route_type]), f"spec.{route_type}"
    match = obj(route.get("match"))
    if route_type == "grpcRoute":
        _check_grpc_gateway_match(match, join(path, "match"))
    else:
        _check_http_gateway_match(match, join(path, "match"))
        _check_rewrite(obj(obj(route.get("action")).get("rewrite")), join(path, "action.rewrite"))
    if gateway_spec is not None:
        _check_gateway_fit(route_type, match.get("port"), gateway_spec)


def _check_http_gateway_match(match: Spec, path: str) -> None:
    # CTL gatewayroute_validator.go: "Either prefix or path or hostname must be specified".
    if all(match.get(key) is None for key in ("prefix", "path", "hostname")):
        fail(f"Either prefix or path or hostname must be specified in '{path}'")
    check_path_match(match, path)
    prefix = match.get("prefix")
    check_prefix(prefix, join(path, "prefix"))
    if isinstance(prefix, str) and prefix.startswith(RESERVED_PREFIXES):
        fail(
            f"The prefix '{prefix}' at '{join(path, 'prefix')}' is reserved: you can't specify "
            f"either /aws-appmesh* or /aws-app-mesh* for a prefix match"
        )
    _check_hostname(match.get("hostname"), join(path, "hostname"))
    check_header_matches(match.get("headers"), join(path, "headers"))


def _check_grpc_gateway_match(match: Spec, path: str) -> None:
    service = match.get("serviceName")
    # CTL gatewayroute_validator.go: "Either servicename or hostname must be specified".
    if service is None and match.get("hostname") is None:
        fail(f"Either serviceName or hostname must be specified in '{path}'")
    if isinstance(service, str) and _reserved_service(service):
        fail(
            f"The service name '{service}' at '{join(path, 'serviceName')}' is reserved: you "
            f"can't specify /aws.app-mesh* or aws.appmesh for the service name"
        )
    _check_hostname(match.get("hostname"), join(path, "hostname"))
    check_header_matches(match.get("metadata"), join(path, "metadata"))


def _reserved_service(name: str) -> bool:
    bare = name.lstrip("/")
    return (
        bare.startswith("aws.app-mesh") or bare == "aws.appmesh" or bare.startswith("aws.appmesh.")
    )


def _check_hostname(hostname: object, path: str) -> None:
    # GatewayRouteHostnameMatch is not a union in the model; CTL: "Either exact or suffix match
    # for hostname must be specified" / "Both exact and suffix ... Only one must be specified".
    if hostname is None:
        return
    chosen = [key for key in ("exact", "suffix") if obj(hostname).get(key) is not None]
    if len(chosen) != 1:
        fail(f"Exactly one of exact or suffix must be specified for '{path}'")


def _check_rewrite(rewrite: Spec, path: str) -> None:
    # CTL gatewayroute_validator.go (validateHTTPRouteRewrite, validatePrefixRewrite); the CDK
    # (aws-cdk#15527) states the same start-and-end rule for the new prefix.
    if rewrite.get("prefix") is not None and rewrite.get("path") is not None:
        fail(f"Both prefix and path rewrites cannot be specified in '{path}'. Only 1 allowed")
    prefix = obj(rewrite.get("prefix"))
    if prefix.get("defaultPrefix") is not None and prefix.get("value") is not None:
        fail(
            f"Cannot specify both defaultPrefix and value in '{join(path, 'prefix')}', only 1 "
            f"allowed"
        )
    # aws-cdk http-route-path-match.ts: "Exact Path for the rewrite must start with '/'".
    check_path(obj(rewrite.get("path")).get("exact"), join(path, "path.exact"), "exact path")
    value = prefix.get("value")
    if isinstance(value, str) and not (value.startswith("/") and value.endswith("/")):
        fail(
            f"The rewrite prefix '{value}' at '{join(path, 'prefix.value')}' must start and end "
            f"with '/'"
        )


def _check_gateway_fit(route_type: str, port: object, gateway_spec: Spec) -> None:
    listeners = listener_ports(items(gateway_spec.get("listeners")))
    # AWS's message, quoted in aws/aws-cdk#22452; UG gateway-routes.md: "Port match is required
    # if this virtual gateway has multiple listeners."
    if len(listeners) > 1 and port is None:
        fail(
            "Gateway route must define a match port if the parent Virtual Gateway has multiple "
            "listeners."
        )
    if isinstance(port, int) and port not in listeners:
        fail(
            f"Gateway route match port {port} does not match any listener port of the Virtual "
            f"Gateway ({_ports(listeners)})"
        )
    applies_to = {port: listeners[port]} if isinstance(port, int) else listeners
    # UG routes.md's rule for routes ("must match the listener protocol"), held for gateway
    # routes too (decision: UG gateway-routes.md offers the types a gateway listener speaks).
    if GATEWAY_ROUTE_PROTOCOLS[route_type] not in applies_to.values():
        fail(
            f"Gateway route type {route_type} does not match the Virtual Gateway listener "
            f"protocol ({_protocols(applies_to)})"
        )


def _ports(listeners: Mapping[int, str | None]) -> str:
    return ", ".join(str(port) for port in sorted(listeners)) or "none"


def _protocols(listeners: Mapping[int, str | None]) -> str:
    return ", ".join(sorted({str(p) for p in listeners.values()})) or "none"
