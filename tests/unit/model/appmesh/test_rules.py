"""App Mesh's semantic rules: each documented rule rejects one edit of a valid spec, and the
specs AWS documents as valid pass."""

from __future__ import annotations

from typing import Any

import pytest

from meshway.core.errors import AwsError, BadRequestException, LimitExceededException
from meshway.model.appmesh.kinds import KindName
from meshway.model.appmesh.rules import check_router_routes, check_spec, with_defaults
from meshway.model.appmesh.rules_common import is_san
from tests.unit.model.appmesh.specs import (
    DELETE,
    changed,
    client_policy,
    gateway,
    gateway_route,
    grpc_route,
    http_route,
    node,
    router,
    tcp_route,
)

NODE, ROUTER, ROUTE = KindName.VIRTUAL_NODE, KindName.VIRTUAL_ROUTER, KindName.ROUTE
GATEWAY, GATEWAY_ROUTE = KindName.VIRTUAL_GATEWAY, KindName.GATEWAY_ROUTE

HC = {
    "healthyThreshold": 2,
    "unhealthyThreshold": 2,
    "intervalMillis": 5000,
    "timeoutMillis": 2000,
    "protocol": "http",
    "path": "/ping",
}
RETRY = {"maxRetries": 2, "perRetryTimeout": {"unit": "s", "value": 1}}


def case(name: str, kind: KindName, spec: dict[str, Any], message: str, **parents: Any) -> Any:
    return pytest.param(kind, spec, parents, message, id=name)


VALID = [
    case("mesh-empty", KindName.MESH, {}, ""),
    case("service-no-provider", KindName.VIRTUAL_SERVICE, {}, ""),
    case("node-without-listeners-needs-no-discovery", NODE, {"backends": []}, ""),
    case("node-listener-with-dns", NODE, node(), ""),
    case(
        "node-two-listeners-distinct-ports",
        NODE,
        changed(node(), "listeners.1", {"portMapping": {"port": 9090, "protocol": "grpc"}}),
        "",
    ),
    case(
        "node-health-check-on-listener-port",
        NODE,
        changed(node(), "listeners.0.healthCheck", {**HC, "port": 8080}),
        "",
    ),
    case(
        "node-path-on-tcp-health-check-is-ignored",
        NODE,
        changed(node(), "listeners.0.healthCheck", {**HC, "protocol": "tcp"}),
        "",
    ),
    case(
        "node-grpc-health-check-on-http2",
        NODE,
        changed(
            changed(node(), "listeners.0.portMapping.protocol", "http2"),
            "listeners.0.healthCheck",
            {**HC, "protocol": "grpc"},
        ),
        "",
    ),
    case(
        "node-http-pool-on-http",
        NODE,
        changed(node(), "listeners.0.connectionPool", {"http": {"maxConnections": 5}}),
        "",
    ),
    case(
        "node-http-timeout-on-http",
        NODE,
        changed(node(), "listeners.0.timeout", {"http": {"perRequest": {"unit": "s", "value": 0}}}),
        "",
    ),
    case(
        "node-outlier-detection",
        NODE,
        changed(
            node(),
            "listeners.0.outlierDetection",
            {
                "maxServerErrors": 5,
                "maxEjectionPercent": 50,
                "interval": {"unit": "s", "value": 10},
                "baseEjectionDuration": {"unit": "s", "value": 30},
            },
        ),
        "",
    ),
    case(
        "node-fqdn-uri-and-wildcard-sans",
        NODE,
        changed(
            node(),
            "backendDefaults.clientPolicy",
            client_policy("svc.mesh.local", "spiffe://mesh.local/ns/app", "*.example.com"),
        ),
        "",
    ),
    case("router-one-listener", ROUTER, router(), ""),
    case("router-no-listeners", ROUTER, {}, ""),
    case("route-http-on-http-router", ROUTE, http_route(), "", router_spec=router()),
    case("route-without-router-spec", ROUTE, http_route(), ""),
    case(
        "route-http2-scheme",
        ROUTE,
        changed(http_route("http2Route"), "http2Route.match.scheme", "https"),
        "",
        router_spec=router((80, "http2")),
    ),
    case("route-grpc-service-and-method", ROUTE, grpc_route(), "", router_spec=router((1, "grpc"))),
    case("route-tcp", ROUTE, tcp_route(), "", router_spec=router((5432, "tcp"))),
    case(
        "route-port-picks-the-listener",
        ROUTE,
        changed(grpc_route(), "grpcRoute.match.port", 9090),
        "",
        router_spec=router((8080, "http"), (9090, "grpc")),
    ),
    case(
        "route-weights-below-100-are-relative",
        ROUTE,
        changed(
            http_route(),
            "httpRoute.action.weightedTargets",
            [{"virtualNode": "a", "weight": 1}, {"virtualNode": "b", "weight": 1}],
        ),
        "",
    ),
    case(
        "route-zero-weight-target",
        ROUTE,
        changed(
            http_route(),
            "httpRoute.action.weightedTargets",
            [{"virtualNode": "a", "weight": 0}, {"virtualNode": "b", "weight": 100}],
        ),
        "",
    ),
    case(
        "route-all-zero-weights-accepted",
        ROUTE,
        changed(http_route(), "httpRoute.action.weightedTargets.0.weight", 0),
        "",
    ),
    case(
        "route-path-exact",
        ROUTE,
        changed(
            changed(http_route(), "httpRoute.match.prefix", DELETE),
            "httpRoute.match.path",
            {"exact": "/color"},
        ),
        "",
    ),
    case(
        "route-retry-with-tcp-event-only",
        ROUTE,
        changed(
            http_route(), "httpRoute.retryPolicy", {**RETRY, "tcpRetryEvents": ["connection-error"]}
        ),
        "",
    ),
    case(
        "route-header-range",
        ROUTE,
        changed(
            http_route(),
            "httpRoute.match.headers",
            [{"name": "x", "match": {"range": {"start": 1, "end": 2}}}],
        ),
        "",
    ),
    case("gateway-one-listener", GATEWAY, gateway(), ""),
    case("gateway-route-http", GATEWAY_ROUTE, gateway_route(), "", gateway_spec=gateway()),
    case(
        "gateway-route-grpc",
        GATEWAY_ROUTE,
        gateway_route("grpcRoute"),
        "",
        gateway_spec=gateway((8080, "grpc")),
    ),
    case(
        "gateway-route-hostname-only",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match", {"hostname": {"suffix": ".example.com"}}),
        "",
    ),
    case(
        "gateway-route-prefix-rewrite",
        GATEWAY_ROUTE,
        changed(
            changed(gateway_route(), "httpRoute.match.prefix", "/red"),
            "httpRoute.action.rewrite",
            {"prefix": {"value": "/blue/"}, "hostname": {"defaultTargetHostname": "DISABLED"}},
        ),
        "",
    ),
    case(
        "gateway-route-prefix-need-not-end-in-slash",
        GATEWAY_ROUTE,
        changed(
            changed(gateway_route(), "httpRoute.match.prefix", "/conor"),
            "httpRoute.action.rewrite.prefix",
            {"defaultPrefix": "DISABLED"},
        ),
        "",
    ),
    case(
        "gateway-route-service-that-only-looks-reserved",
        GATEWAY_ROUTE,
        changed(gateway_route("grpcRoute"), "grpcRoute.match.serviceName", "aws.appmeshy.Svc"),
        "",
    ),
]

INVALID = [
    # --- virtual nodes
    case(
        "node-listener-without-service-discovery",
        NODE,
        changed(node(), "serviceDiscovery", DELETE),
        "ServiceDiscovery must be specified when a listener is specified.",
    ),
    case(
        "node-duplicate-listener-ports",
        NODE,
        changed(node(), "listeners.1", {"portMapping": {"port": 8080, "protocol": "grpc"}}),
        "Virtual node listeners must have unique ports: port 8080",
    ),
    case(
        "node-health-check-port-differs",
        NODE,
        changed(node(), "listeners.0.healthCheck", {**HC, "port": 9000}),
        "Health check port 9000 at 'spec.listeners.1.member.healthCheck.port' must match the port "
        "defined in the PortMapping for the listener (8080)",
    ),
    case(
        "node-grpc-health-check-on-http",
        NODE,
        changed(node(), "listeners.0.healthCheck", {**HC, "protocol": "grpc"}),
        "GRPC HealthCheck requires listener type of HTTP2 or GRPC.",
    ),
    case(
        "node-connection-pool-protocol-differs",
        NODE,
        changed(node(), "listeners.0.connectionPool", {"tcp": {"maxConnections": 5}}),
        "The connectionPool protocol (tcp) at 'spec.listeners.1.member.connectionPool' must be the "
        "same as the portMapping protocol (http)",
    ),
    case(
        "node-timeout-protocol-differs",
        NODE,
        changed(node(), "listeners.0.timeout", {"grpc": {"idle": {"unit": "s", "value": 5}}}),
        "The timeout protocol (grpc)",
    ),
    case(
        "node-timeout-duration-without-unit",
        NODE,
        changed(node(), "listeners.0.timeout", {"http": {"idle": {"value": 5}}}),
        "The duration at 'spec.listeners.1.member.timeout.http.idle' must specify both a unit and "
        "a value",
    ),
    case(
        "node-outlier-interval-without-value",
        NODE,
        changed(
            node(),
            "listeners.0.outlierDetection",
            {
                "maxServerErrors": 5,
                "maxEjectionPercent": 50,
                "interval": {"unit": "s"},
                "baseEjectionDuration": {"unit": "s", "value": 30},
            },
        ),
        "'spec.listeners.1.member.outlierDetection.interval'",
    ),
    case(
        "node-listener-tls-san-not-fqdn-or-uri",
        NODE,
        changed(
            node(),
            "listeners.0.tls",
            {
                "mode": "STRICT",
                "certificate": {"sds": {"secretName": "cert"}},
                "validation": {
                    "trust": {"sds": {"secretName": "ca"}},
                    "subjectAlternativeNames": {"match": {"exact": ["not a name"]}},
                },
            },
        ),
        "Subject Alternative Name 'not a name' at "
        "'spec.listeners.1.member.tls.validation.subjectAlternativeNames.match.exact.1.member' "
        "must be FQDN or URI formatted",
    ),
    case(
        "node-backend-client-policy-san",
        NODE,
        changed(
            node(),
            "backends",
            [
                {
                    "virtualService": {
                        "virtualServiceName": "a.local",
                        "clientPolicy": client_policy("bad..name"),
                    }
                }
            ],
        ),
        "'spec.backends.1.member.virtualService.clientPolicy.tls.validation.",
    ),
    case(
        "node-backend-defaults-client-policy-san",
        NODE,
        changed(node(), "backendDefaults.clientPolicy", client_policy("-lead.example.com")),
        "'spec.backendDefaults.clientPolicy.tls.validation.",
    ),
    # --- virtual routers
    case(
        "router-duplicate-listener-ports",
        ROUTER,
        router((80, "http"), (80, "http2")),
        "Virtual router listeners must have unique ports: port 80",
    ),
    # --- routes
    case(
        "route-no-route-type",
        ROUTE,
        {"priority": 1},
        "Route spec must specify one route type: one of httpRoute, http2Route, grpcRoute, tcpRoute",
    ),
    case(
        "route-two-route-types",
        ROUTE,
        {**http_route(), **tcp_route()},
        "Route spec must specify only one route type, found httpRoute, tcpRoute",
    ),
    case(
        "route-type-differs-from-router-protocol",
        ROUTE,
        http_route("http2Route"),
        "Route type http2Route does not match the Virtual Router listener protocol (http)",
        router_spec=router(),
    ),
    case(
        "route-on-router-without-listeners",
        ROUTE,
        http_route(),
        "Route type httpRoute does not match the Virtual Router listener protocol (none)",
        router_spec={},
    ),
    case(
        "route-without-port-on-multi-listener-router",
        ROUTE,
        http_route(),
        "Route must define a port match criteria if the Virtual Router has multiple listeners",
        router_spec=router((8080, "http"), (9090, "grpc")),
    ),
    case(
        "route-port-not-a-router-listener",
        ROUTE,
        changed(http_route(), "httpRoute.match.port", 8081),
        "Route match port 8081 does not match any listener port of the Virtual Router (8080)",
        router_spec=router(),
    ),
    case(
        "route-port-names-a-listener-of-another-protocol",
        ROUTE,
        changed(http_route(), "httpRoute.match.port", 9090),
        "Route type httpRoute does not match the Virtual Router listener protocol (grpc)",
        router_spec=router((8080, "http"), (9090, "grpc")),
    ),
    case(
        "route-prefix-without-slash",
        ROUTE,
        changed(http_route(), "httpRoute.match.prefix", "color"),
        "The prefix 'color' at 'spec.httpRoute.match.prefix' must start with /",
    ),
    case(
        "route-neither-prefix-nor-path",
        ROUTE,
        changed(http_route(), "httpRoute.match", {"method": "GET"}),
        "Either prefix or path must be specified in 'spec.httpRoute.match'",
    ),
    case(
        "route-prefix-and-path",
        ROUTE,
        changed(http_route(), "httpRoute.match.path", {"exact": "/a"}),
        "Both prefix and path cannot be specified in 'spec.httpRoute.match'. Only 1 allowed",
    ),
    case(
        "route-path-exact-and-regex",
        ROUTE,
        changed(
            changed(http_route(), "httpRoute.match.prefix", DELETE),
            "httpRoute.match.path",
            {"exact": "/a", "regex": "/a.*"},
        ),
        "Exactly one of exact or regex must be specified for 'spec.httpRoute.match.path'",
    ),
    case(
        "route-scheme-on-http-route",
        ROUTE,
        changed(http_route(), "httpRoute.match.scheme", "https"),
        "The scheme match at 'spec.httpRoute.match.scheme' is applicable only for HTTP2 routes",
    ),
    case(
        "route-header-range-end-before-start",
        ROUTE,
        changed(
            http_route(),
            "httpRoute.match.headers",
            [{"name": "x", "match": {"range": {"start": 5, "end": 5}}}],
        ),
        "Invalid match range at 'spec.httpRoute.match.headers.1.member.match.range'",
    ),
    case(
        "route-grpc-method-without-service",
        ROUTE,
        changed(grpc_route(), "grpcRoute.match.serviceName", DELETE),
        "The methodName at 'spec.grpcRoute.match.methodName' requires a serviceName",
    ),
    case(
        "route-grpc-metadata-range",
        ROUTE,
        changed(
            grpc_route(),
            "grpcRoute.match.metadata",
            [{"name": "x", "match": {"range": {"start": 9, "end": 1}}}],
        ),
        "Invalid match range at 'spec.grpcRoute.match.metadata.1.member.match.range'",
    ),
    case(
        "route-total-weight-over-100",
        ROUTE,
        changed(
            http_route(),
            "httpRoute.action.weightedTargets",
            [{"virtualNode": "a", "weight": 100}, {"virtualNode": "b", "weight": 1}],
        ),
        "The total weight for all targets combined at 'spec.httpRoute.action.weightedTargets' must "
        "be less than or equal to 100, but is 101",
    ),
    case(
        "route-retry-without-events",
        ROUTE,
        changed(http_route(), "httpRoute.retryPolicy", RETRY),
        "The retry policy at 'spec.httpRoute.retryPolicy' must specify at least one value for at "
        "least one of the types of RetryEvents",
    ),
    case(
        "route-retry-with-empty-event-lists",
        ROUTE,
        changed(grpc_route(), "grpcRoute.retryPolicy", {**RETRY, "grpcRetryEvents": []}),
        "must specify at least one value for at least one of the types of RetryEvents",
    ),
    case(
        "route-retry-unknown-http-event",
        ROUTE,
        changed(http_route(), "httpRoute.retryPolicy", {**RETRY, "httpRetryEvents": ["5xx"]}),
        "1 validation error detected: Value '5xx' at "
        "'spec.httpRoute.retryPolicy.httpRetryEvents.1.member' failed to satisfy constraint: "
        "Member must satisfy enum value set: [server-error, gateway-error, client-error, "
        "stream-error]",
    ),
    case(
        "route-retry-timeout-without-unit",
        ROUTE,
        changed(
            http_route(),
            "httpRoute.retryPolicy",
            {"maxRetries": 2, "perRetryTimeout": {"value": 1}, "httpRetryEvents": ["server-error"]},
        ),
        "The duration at 'spec.httpRoute.retryPolicy.perRetryTimeout' must specify both a unit",
    ),
    case(
        "route-timeout-without-value",
        ROUTE,
        changed(tcp_route(), "tcpRoute.timeout", {"idle": {"unit": "ms"}}),
        "The duration at 'spec.tcpRoute.timeout.idle'",
    ),
    # --- virtual gateways
    case(
        "gateway-without-listeners",
        GATEWAY,
        {"listeners": []},
        "1 validation error detected: Value '[]' at 'spec.listeners' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1",
    ),
    case(
        "gateway-duplicate-listener-ports",
        GATEWAY,
        gateway((443, "http"), (443, "grpc")),
        "Virtual gateway listeners must have unique ports: port 443",
    ),
    case(
        "gateway-grpc-health-check-on-http",
        GATEWAY,
        changed(gateway(), "listeners.0.healthCheck", {**HC, "protocol": "grpc"}),
        "GRPC HealthCheck requires listener type of HTTP2 or GRPC.",
    ),
    case(
        "gateway-health-check-port-differs",
        GATEWAY,
        changed(gateway(), "listeners.0.healthCheck", {**HC, "port": 1}),
        "must match the port defined in the PortMapping for the listener (8080)",
    ),
    case(
        "gateway-connection-pool-protocol-differs",
        GATEWAY,
        changed(gateway(), "listeners.0.connectionPool", {"grpc": {"maxRequests": 5}}),
        "The connectionPool protocol (grpc)",
    ),
    case(
        "gateway-backend-defaults-san",
        GATEWAY,
        changed(gateway(), "backendDefaults.clientPolicy", client_policy("a b")),
        "Subject Alternative Name 'a b'",
    ),
    # --- gateway routes
    case(
        "gateway-route-no-route-type",
        GATEWAY_ROUTE,
        {},
        "Gateway route spec must specify one route type: one of httpRoute, http2Route, grpcRoute",
    ),
    case(
        "gateway-route-two-route-types",
        GATEWAY_ROUTE,
        {**gateway_route(), **gateway_route("grpcRoute")},
        "Gateway route spec must specify only one route type, found httpRoute, grpcRoute",
    ),
    case(
        "gateway-route-type-differs-from-listener",
        GATEWAY_ROUTE,
        gateway_route("grpcRoute"),
        "Gateway route type grpcRoute does not match the Virtual Gateway listener protocol (http)",
        gateway_spec=gateway(),
    ),
    case(
        "gateway-route-without-port-on-multi-listener-gateway",
        GATEWAY_ROUTE,
        gateway_route(),
        "Gateway route must define a match port if the parent Virtual Gateway has multiple "
        "listeners.",
        gateway_spec=gateway((80, "http"), (81, "http2")),
    ),
    case(
        "gateway-route-port-not-a-listener",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match.port", 81),
        "Gateway route match port 81 does not match any listener port of the Virtual Gateway "
        "(8080)",
        gateway_spec=gateway(),
    ),
    case(
        "gateway-route-prefix-without-slash",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match.prefix", "red"),
        "The prefix 'red' at 'spec.httpRoute.match.prefix' must start with /",
    ),
    case(
        "gateway-route-reserved-prefix-appmesh",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match.prefix", "/aws-appmesh/x"),
        "The prefix '/aws-appmesh/x' at 'spec.httpRoute.match.prefix' is reserved",
    ),
    case(
        "gateway-route-reserved-prefix-app-mesh",
        GATEWAY_ROUTE,
        changed(gateway_route("http2Route"), "http2Route.match.prefix", "/aws-app-mesh"),
        "is reserved: you can't specify either /aws-appmesh* or /aws-app-mesh*",
    ),
    case(
        "gateway-route-reserved-grpc-service",
        GATEWAY_ROUTE,
        changed(gateway_route("grpcRoute"), "grpcRoute.match.serviceName", "aws.app-mesh.Health"),
        "The service name 'aws.app-mesh.Health' at 'spec.grpcRoute.match.serviceName' is reserved",
    ),
    case(
        "gateway-route-reserved-grpc-service-appmesh",
        GATEWAY_ROUTE,
        changed(gateway_route("grpcRoute"), "grpcRoute.match.serviceName", "aws.appmesh"),
        "is reserved",
    ),
    case(
        "gateway-route-grpc-neither-service-nor-hostname",
        GATEWAY_ROUTE,
        changed(gateway_route("grpcRoute"), "grpcRoute.match", {}),
        "Either serviceName or hostname must be specified in 'spec.grpcRoute.match'",
    ),
    case(
        "gateway-route-http-nothing-to-match",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match", {"method": "GET"}),
        "Either prefix or path or hostname must be specified in 'spec.httpRoute.match'",
    ),
    case(
        "gateway-route-hostname-exact-and-suffix",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match.hostname", {"exact": "a.b", "suffix": ".b"}),
        "Exactly one of exact or suffix must be specified for 'spec.httpRoute.match.hostname'",
    ),
    case(
        "gateway-route-hostname-empty",
        GATEWAY_ROUTE,
        changed(gateway_route("grpcRoute"), "grpcRoute.match.hostname", {}),
        "Exactly one of exact or suffix must be specified for 'spec.grpcRoute.match.hostname'",
    ),
    case(
        "gateway-route-prefix-and-path-rewrite",
        GATEWAY_ROUTE,
        changed(
            gateway_route(),
            "httpRoute.action.rewrite",
            {"prefix": {"defaultPrefix": "ENABLED"}, "path": {"exact": "/x"}},
        ),
        "Both prefix and path rewrites cannot be specified in 'spec.httpRoute.action.rewrite'",
    ),
    case(
        "gateway-route-default-prefix-and-value",
        GATEWAY_ROUTE,
        changed(
            gateway_route(),
            "httpRoute.action.rewrite.prefix",
            {"defaultPrefix": "DISABLED", "value": "/x/"},
        ),
        "Cannot specify both defaultPrefix and value in 'spec.httpRoute.action.rewrite.prefix'",
    ),
    case(
        "gateway-route-rewrite-value-without-trailing-slash",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.action.rewrite.prefix", {"value": "/blue"}),
        "The rewrite prefix '/blue' at 'spec.httpRoute.action.rewrite.prefix.value' must start and "
        "end with '/'",
    ),
    case(
        "gateway-route-rewrite-value-without-leading-slash",
        GATEWAY_ROUTE,
        changed(gateway_route("http2Route"), "http2Route.action.rewrite.prefix", {"value": "b/"}),
        "must start and end with '/'",
    ),
    case(
        "route-exact-path-without-slash",
        ROUTE,
        changed(
            changed(http_route("http2Route"), "http2Route.match.prefix", DELETE),
            "http2Route.match.path",
            {"exact": "color"},
        ),
        "The exact path 'color' at 'spec.http2Route.match.path.exact' must start with /",
    ),
    case(
        "gateway-route-exact-path-rewrite-without-slash",
        GATEWAY_ROUTE,
        changed(
            changed(
                changed(gateway_route(), "httpRoute.match.prefix", DELETE),
                "httpRoute.match.path",
                {"exact": "/red"},
            ),
            "httpRoute.action.rewrite.path",
            {"exact": "blue"},
        ),
        "The exact path 'blue' at 'spec.httpRoute.action.rewrite.path.exact' must start with /",
    ),
    case(
        "gateway-route-header-range",
        GATEWAY_ROUTE,
        changed(
            gateway_route(),
            "httpRoute.match.headers",
            [{"name": "x", "match": {"range": {"start": 2, "end": 1}}}],
        ),
        "Invalid match range at 'spec.httpRoute.match.headers.1.member.match.range'",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "parents", "message"), VALID)
def test_documented_valid_specs_pass_every_rule(
    kind: KindName, spec: dict[str, Any], parents: dict[str, Any], message: str
) -> None:
    check_spec(kind, spec, **parents)


@pytest.mark.parametrize(("kind", "spec", "parents", "message"), INVALID)
def test_each_rule_rejects_its_violation_with_a_bad_request(
    kind: KindName, spec: dict[str, Any], parents: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequestException) as raised:
        check_spec(kind, spec, **parents)
    assert message in raised.value.message
    assert raised.value.code == "BadRequestException"
    assert raised.value.status == 400


def test_more_than_fifty_backends_exceed_the_documented_quota() -> None:
    backends = [{"virtualService": {"virtualServiceName": f"s{i}.local"}} for i in range(51)]
    with pytest.raises(LimitExceededException):
        check_spec(NODE, changed(node(), "backends", backends))
    check_spec(NODE, changed(node(), "backends", backends[:50]))


def test_check_spec_does_not_modify_the_spec_it_checks() -> None:
    spec = changed(node(), "backendDefaults.clientPolicy", client_policy("a.local"))
    before = repr(spec)
    check_spec(NODE, spec)
    assert repr(spec) == before


@pytest.mark.parametrize(
    "san",
    ["svc.local", "a", "*.mesh.local", "spiffe://td/ns/x", "https://a.example/x", "a_b.local."],
)
def test_fqdn_and_uri_sans_are_accepted(san: str) -> None:
    assert is_san(san)


@pytest.mark.parametrize(
    "san", ["", "a b", "a..b", "-a.b", "a-.b", "a/b", "svc:80", "x" * 64 + ".local", "http://"]
)
def test_other_sans_are_rejected(san: str) -> None:
    assert not is_san(san)


def test_router_can_gain_a_second_listener_only_when_every_route_names_its_port() -> None:
    two = router((8080, "http"), (9090, "grpc"))
    routes = {
        "b-route": http_route(),
        "a-route": http_route(),
        "ported": changed(grpc_route(), "grpcRoute.match.port", 9090),
    }
    with pytest.raises(BadRequestException) as raised:
        check_router_routes(two, routes)
    assert raised.value.message == (
        "All Routes for this Virtual Router must define a port match before adding multiple "
        "listeners to this Virtual Router. 2 Route(s) are missing port. Listing up to 5 route "
        "names: [a-route, b-route]"
    )
    check_router_routes(router(), routes)
    check_router_routes(two, {"ported": routes["ported"]})


def test_route_missing_port_listing_stops_at_five_names() -> None:
    routes = {f"r{i}": tcp_route() for i in range(7)}
    with pytest.raises(AwsError) as raised:
        check_router_routes(router((1, "tcp"), (2, "tcp")), routes)
    assert "7 Route(s) are missing port" in raised.value.message
    assert raised.value.message.endswith("[r0, r1, r2, r3, r4]")


def test_mesh_defaults_to_drop_all_egress() -> None:
    assert with_defaults(KindName.MESH, None) == {"egressFilter": {"type": "DROP_ALL"}}
    allow = {"egressFilter": {"type": "ALLOW_ALL"}}
    assert with_defaults(KindName.MESH, allow) == allow


def test_virtual_node_defaults_backends_listeners_and_tls_enforce() -> None:
    spec = {
        "backendDefaults": {"clientPolicy": client_policy()},
        "backends": [
            {"virtualService": {"virtualServiceName": "a.local", "clientPolicy": client_policy()}},
            {"virtualService": {"virtualServiceName": "b.local"}},
        ],
    }
    spec["backends"][0]["virtualService"]["clientPolicy"]["tls"]["enforce"] = False
    result = with_defaults(NODE, spec)
    assert result["listeners"] == []
    assert result["backendDefaults"]["clientPolicy"]["tls"]["enforce"] is True
    assert result["backends"][0]["virtualService"]["clientPolicy"]["tls"]["enforce"] is False
    assert "clientPolicy" not in result["backends"][1]["virtualService"]
    assert "enforce" not in spec["backendDefaults"]["clientPolicy"]["tls"], "input untouched"
    assert with_defaults(NODE, None) == {"backends": [], "listeners": []}


def test_virtual_gateway_defaults_tls_enforce_and_nothing_else() -> None:
    spec = changed(gateway(), "backendDefaults.clientPolicy", client_policy())
    result = with_defaults(GATEWAY, spec)
    assert result["backendDefaults"]["clientPolicy"]["tls"]["enforce"] is True
    assert with_defaults(GATEWAY, gateway()) == gateway()


@pytest.mark.parametrize("kind", [ROUTER, ROUTE, KindName.VIRTUAL_SERVICE, GATEWAY_ROUTE])
def test_kinds_without_documented_defaults_are_returned_as_given(kind: KindName) -> None:
    spec = {"a": {"b": [1]}}
    result = with_defaults(kind, spec)
    assert result == spec
    assert result is not spec
