"""App Mesh's validation through boto3 against a real server: every semantic rule and the model's
own constraints come back as BadRequestException (HTTP 400) with their message, and a rejected
create or update leaves nothing stored and nothing changed.

The clients here skip botocore's own parameter validation, so each request reaches the server as
written and the server alone decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.appmesh_kinds import aws_error
from tests.conftest import ServerProcess, make_client
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
)

HC = {
    "healthyThreshold": 2,
    "unhealthyThreshold": 2,
    "intervalMillis": 5000,
    "timeoutMillis": 2000,
    "protocol": "http",
    "path": "/ping",
}
RETRY = {"maxRetries": 2, "perRetryTimeout": {"unit": "s", "value": 1}}


@dataclass(frozen=True)
class Kind:
    op: str  # boto3 method suffix
    member: str  # output member
    parent: dict[str, str]  # the parent's name members (a route's router, ...)


NODE = Kind("virtual_node", "virtualNode", {})
ROUTER = Kind("virtual_router", "virtualRouter", {})
ROUTE = Kind("route", "route", {"virtualRouterName": "vr"})
GATEWAY = Kind("virtual_gateway", "virtualGateway", {})
GATEWAY_ROUTE = Kind("gateway_route", "gatewayRoute", {"virtualGatewayName": "vg"})
MESH = Kind("mesh", "mesh", {})


@pytest.fixture
def client(server: ServerProcess, account: str) -> Any:
    return make_client(
        server.url,
        "appmesh",
        aws_access_key_id=account,
        config_kwargs={"parameter_validation": False},
    )


class Mesh:
    """A fresh mesh with a node `blue`, a service `color.local` it provides, and (when asked) a
    router `vr` and a gateway `vg` with the given specs."""

    def __init__(self, client: Any, name: str) -> None:
        self.client, self.name = client, name
        client.create_mesh(meshName=name)
        client.create_virtual_node(meshName=name, virtualNodeName="blue", spec=node())
        client.create_virtual_service(
            meshName=name,
            virtualServiceName="color.local",
            spec={"provider": {"virtualNode": {"virtualNodeName": "blue"}}},
        )

    def with_parent(self, kind: Kind, parent_spec: dict[str, Any] | None) -> Mesh:
        if kind is ROUTE:
            spec = parent_spec or router()
            self.client.create_virtual_router(meshName=self.name, virtualRouterName="vr", spec=spec)
        if kind is GATEWAY_ROUTE:
            spec = parent_spec or gateway()
            self.client.create_virtual_gateway(
                meshName=self.name, virtualGatewayName="vg", spec=spec
            )
        return self

    def ids(self, kind: Kind, name: str) -> dict[str, str]:
        return {"meshName": self.name, **kind.parent, f"{kind.member}Name": name}

    def call(self, verb: str, kind: Kind, name: str, **kwargs: Any) -> dict[str, Any]:
        method = getattr(self.client, f"{verb}_{kind.op}")
        return method(**self.ids(kind, name), **kwargs)[kind.member]  # type: ignore[no-any-return]


def case(
    name: str,
    kind: Kind,
    valid: dict[str, Any],
    invalid: dict[str, Any],
    message: str,
    parent: dict[str, Any] | None = None,
) -> Any:
    return pytest.param(kind, valid, invalid, message, parent, id=name)


def two_listeners(kind: Kind) -> dict[str, Any]:
    protocol = "grpc" if kind is ROUTE else "http2"
    return router((8080, "http"), (9090, protocol))


SEMANTIC = [
    # --- virtual nodes (API VirtualNodeSpec, HealthCheckPolicy; UG virtual_nodes.md)
    case(
        "node-listener-without-service-discovery",
        NODE,
        node(),
        changed(node(), "serviceDiscovery", DELETE),
        "ServiceDiscovery must be specified when a listener is specified.",
    ),
    case(
        "node-duplicate-listener-ports",
        NODE,
        node(),
        changed(node(), "listeners.1", {"portMapping": {"port": 8080, "protocol": "tcp"}}),
        "Virtual node listeners must have unique ports: port 8080 appears more than once",
    ),
    case(
        "node-health-check-port-not-the-listener-port",
        NODE,
        node(),
        changed(node(), "listeners.0.healthCheck", {**HC, "port": 9000}),
        "Health check port 9000 at 'spec.listeners.1.member.healthCheck.port' must match the "
        "port defined in the PortMapping for the listener (8080)",
    ),
    case(
        "node-grpc-health-check-on-http-listener",
        NODE,
        node(),
        changed(node(), "listeners.0.healthCheck", {**HC, "protocol": "grpc"}),
        "GRPC HealthCheck requires listener type of HTTP2 or GRPC.",
    ),
    case(
        "node-connection-pool-of-another-protocol",
        NODE,
        node(),
        changed(node(), "listeners.0.connectionPool", {"http2": {"maxRequests": 5}}),
        "The connectionPool protocol (http2) at 'spec.listeners.1.member.connectionPool' must "
        "be the same as the portMapping protocol (http)",
    ),
    case(
        "node-timeout-of-another-protocol",
        NODE,
        node(),
        changed(node(), "listeners.0.timeout", {"tcp": {"idle": {"unit": "s", "value": 5}}}),
        "The timeout protocol (tcp) at 'spec.listeners.1.member.timeout' must be the same as "
        "the portMapping protocol (http)",
    ),
    case(
        "node-duration-without-unit",
        NODE,
        node(),
        changed(node(), "listeners.0.timeout", {"http": {"idle": {"value": 5}}}),
        "The duration at 'spec.listeners.1.member.timeout.http.idle' must specify both a unit "
        "and a value",
    ),
    case(
        "node-san-neither-fqdn-nor-uri",
        NODE,
        node(),
        changed(node(), "backendDefaults.clientPolicy", client_policy("not a name")),
        "Subject Alternative Name 'not a name' at 'spec.backendDefaults.clientPolicy.tls."
        "validation.subjectAlternativeNames.match.exact.1.member' must be FQDN or URI formatted",
    ),
    # --- virtual routers
    case(
        "router-duplicate-listener-ports",
        ROUTER,
        router(),
        router((8080, "http"), (8080, "http2")),
        "Virtual router listeners must have unique ports: port 8080 appears more than once",
    ),
    # --- routes (API RouteSpec, HttpRouteMatch, GrpcRouteMatch, WeightedTarget,
    #     HttpRetryPolicy; UG routes.md; AWS's own message for the port match)
    case(
        "route-without-a-route-type",
        ROUTE,
        http_route(),
        {"priority": 5},
        "Route spec must specify one route type: one of httpRoute, http2Route, grpcRoute, tcpRoute",
    ),
    case(
        "route-with-two-route-types",
        ROUTE,
        http_route(),
        {**http_route(), **http_route("http2Route")},
        "Route spec must specify only one route type, found httpRoute, http2Route",
    ),
    case(
        "route-type-not-the-router-protocol",
        ROUTE,
        http_route(),
        http_route("http2Route"),
        "Route type http2Route does not match the Virtual Router listener protocol (http)",
    ),
    case(
        "route-without-port-on-a-two-listener-router",
        ROUTE,
        changed(http_route(), "httpRoute.match.port", 8080),
        http_route(),
        "Route must define a port match criteria if the Virtual Router has multiple listeners",
        parent=two_listeners(ROUTE),
    ),
    case(
        "route-port-not-a-router-listener",
        ROUTE,
        changed(http_route(), "httpRoute.match.port", 8080),
        changed(http_route(), "httpRoute.match.port", 8081),
        "Route match port 8081 does not match any listener port of the Virtual Router (8080)",
    ),
    case(
        "route-prefix-without-leading-slash",
        ROUTE,
        http_route(),
        changed(http_route(), "httpRoute.match.prefix", "color"),
        "The prefix 'color' at 'spec.httpRoute.match.prefix' must start with /",
    ),
    case(
        "route-neither-prefix-nor-path",
        ROUTE,
        http_route(),
        changed(http_route(), "httpRoute.match", {"method": "GET"}),
        "Either prefix or path must be specified in 'spec.httpRoute.match'",
    ),
    case(
        "route-scheme-on-an-http-route",
        ROUTE,
        http_route(),
        changed(http_route(), "httpRoute.match.scheme", "https"),
        "The scheme match at 'spec.httpRoute.match.scheme' is applicable only for HTTP2 routes",
    ),
    case(
        "route-empty-header-range",
        ROUTE,
        http_route(),
        changed(
            http_route(),
            "httpRoute.match.headers",
            [{"name": "x-v", "match": {"range": {"start": 3, "end": 1}}}],
        ),
        "Invalid match range at 'spec.httpRoute.match.headers.1.member.match.range': end (1) "
        "has to be greater than start (3)",
    ),
    case(
        "route-grpc-method-without-service",
        ROUTE,
        grpc_route(),
        changed(grpc_route(), "grpcRoute.match.serviceName", DELETE),
        "The methodName at 'spec.grpcRoute.match.methodName' requires a serviceName",
        parent=router((8080, "grpc")),
    ),
    case(
        "route-total-weight-over-100",
        ROUTE,
        http_route(),
        changed(
            http_route(), "httpRoute.action.weightedTargets.1", {"virtualNode": "blue", "weight": 1}
        ),
        "The total weight for all targets combined at 'spec.httpRoute.action.weightedTargets' "
        "must be less than or equal to 100, but is 101",
    ),
    case(
        "route-retry-policy-without-events",
        ROUTE,
        http_route(),
        changed(http_route(), "httpRoute.retryPolicy", RETRY),
        "The retry policy at 'spec.httpRoute.retryPolicy' must specify at least one value for "
        "at least one of the types of RetryEvents",
    ),
    case(
        "route-unknown-http-retry-event",
        ROUTE,
        http_route(),
        changed(
            http_route(),
            "httpRoute.retryPolicy",
            {**RETRY, "httpRetryEvents": ["server-error", "503"]},
        ),
        "Value '503' at 'spec.httpRoute.retryPolicy.httpRetryEvents.2.member' failed to satisfy "
        "constraint: Member must satisfy enum value set: [server-error, gateway-error, "
        "client-error, stream-error]",
    ),
    # --- virtual gateways (UG virtual_gateways.md)
    case(
        "gateway-without-listeners",
        GATEWAY,
        gateway(),
        {"listeners": []},
        "Value '[]' at 'spec.listeners' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1",
    ),
    case(
        "gateway-duplicate-listener-ports",
        GATEWAY,
        gateway(),
        gateway((8080, "http"), (8080, "grpc")),
        "Virtual gateway listeners must have unique ports: port 8080 appears more than once",
    ),
    case(
        "gateway-grpc-health-check-on-http-listener",
        GATEWAY,
        gateway(),
        changed(gateway(), "listeners.0.healthCheck", {**HC, "protocol": "grpc"}),
        "GRPC HealthCheck requires listener type of HTTP2 or GRPC.",
    ),
    case(
        "gateway-connection-pool-of-another-protocol",
        GATEWAY,
        gateway(),
        changed(gateway(), "listeners.0.connectionPool", {"grpc": {"maxRequests": 5}}),
        "The connectionPool protocol (grpc) at 'spec.listeners.1.member.connectionPool' must "
        "be the same as the portMapping protocol (http)",
    ),
    # --- gateway routes (UG gateway-routes.md; AWS's own message for the port match)
    case(
        "gateway-route-without-a-route-type",
        GATEWAY_ROUTE,
        gateway_route(),
        {"priority": 1},
        "Gateway route spec must specify one route type: one of httpRoute, http2Route, grpcRoute",
    ),
    case(
        "gateway-route-type-not-the-listener-protocol",
        GATEWAY_ROUTE,
        gateway_route(),
        gateway_route("http2Route"),
        "Gateway route type http2Route does not match the Virtual Gateway listener protocol (http)",
    ),
    case(
        "gateway-route-without-port-on-a-two-listener-gateway",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.match.port", 8080),
        gateway_route(),
        "Gateway route must define a match port if the parent Virtual Gateway has multiple "
        "listeners.",
        parent=two_listeners(GATEWAY_ROUTE),
    ),
    case(
        "gateway-route-reserved-prefix",
        GATEWAY_ROUTE,
        gateway_route(),
        changed(gateway_route(), "httpRoute.match.prefix", "/aws-appmesh-admin"),
        "The prefix '/aws-appmesh-admin' at 'spec.httpRoute.match.prefix' is reserved",
    ),
    case(
        "gateway-route-reserved-grpc-service",
        GATEWAY_ROUTE,
        gateway_route("grpcRoute"),
        changed(gateway_route("grpcRoute"), "grpcRoute.match.serviceName", "aws.app-mesh.X"),
        "The service name 'aws.app-mesh.X' at 'spec.grpcRoute.match.serviceName' is reserved",
        parent=gateway((8080, "grpc")),
    ),
    case(
        "gateway-route-rewrite-prefix-not-slash-delimited",
        GATEWAY_ROUTE,
        gateway_route(),
        changed(gateway_route(), "httpRoute.action.rewrite.prefix", {"value": "/blue"}),
        "The rewrite prefix '/blue' at 'spec.httpRoute.action.rewrite.prefix.value' must start "
        "and end with '/'",
    ),
    case(
        "gateway-route-default-prefix-and-value",
        GATEWAY_ROUTE,
        gateway_route(),
        changed(
            gateway_route(),
            "httpRoute.action.rewrite.prefix",
            {"defaultPrefix": "ENABLED", "value": "/blue/"},
        ),
        "Cannot specify both defaultPrefix and value in 'spec.httpRoute.action.rewrite.prefix'",
    ),
    case(
        "gateway-route-hostname-exact-and-suffix",
        GATEWAY_ROUTE,
        gateway_route(),
        changed(
            gateway_route(),
            "httpRoute.match.hostname",
            {"exact": "a.example.com", "suffix": "example.com"},
        ),
        "Exactly one of exact or suffix must be specified for 'spec.httpRoute.match.hostname'",
    ),
    case(
        "gateway-route-exact-path-rewrite-without-slash",
        GATEWAY_ROUTE,
        changed(gateway_route(), "httpRoute.action.rewrite.path", {"exact": "/blue"}),
        changed(gateway_route(), "httpRoute.action.rewrite.path", {"exact": "blue"}),
        "The exact path 'blue' at 'spec.httpRoute.action.rewrite.path.exact' must start with /",
    ),
]


def bad_request(call: Any, message: str) -> str:
    with aws_error("BadRequestException", 400) as info:
        call()
    got: str = info.value.response["Error"]["Message"]
    assert message in got, got
    return got


def validation_error(call: Any, message: str) -> None:
    """AWS's front-end wording: "1 validation error detected: Value ... at '...' failed to
    satisfy constraint: ..."."""
    assert bad_request(call, message).startswith("1 validation error detected: Value ")


@pytest.mark.parametrize(("kind", "valid", "invalid", "message", "parent"), SEMANTIC)
def test_a_spec_breaking_a_rule_is_a_bad_request_and_changes_nothing(
    client: Any,
    unique: str,
    kind: Kind,
    valid: dict[str, Any],
    invalid: dict[str, Any],
    message: str,
    parent: dict[str, Any] | None,
) -> None:
    mesh = Mesh(client, unique[:60]).with_parent(kind, parent)
    created = mesh.call("create", kind, "subject", spec=valid)

    bad_request(lambda: mesh.call("update", kind, "subject", spec=invalid), message)
    assert mesh.call("describe", kind, "subject") == created, "a rejected update changed nothing"

    bad_request(lambda: mesh.call("create", kind, "rejected", spec=invalid), message)
    with aws_error("NotFoundException", 404):
        mesh.call("describe", kind, "rejected")


def test_more_than_fifty_backends_exceed_the_quota(client: Any, unique: str) -> None:
    mesh = Mesh(client, unique[:60])
    backends = [{"virtualService": {"virtualServiceName": f"s{i}.local"}} for i in range(51)]
    with aws_error("LimitExceededException", 400):
        mesh.call("create", NODE, "wide", spec=changed(node(), "backends", backends))
    created = mesh.call("create", NODE, "wide", spec=changed(node(), "backends", backends[:50]))
    assert len(created["spec"]["backends"]) == 50


SHAPE = [
    pytest.param(
        MESH,
        {"egressFilter": {"type": "BOGUS"}},
        "Value 'BOGUS' at 'spec.egressFilter.type' failed to satisfy constraint: Member "
        "must satisfy enum value set: [ALLOW_ALL, DROP_ALL]",
        id="enum",
    ),
    pytest.param(
        NODE,
        changed(node(), "listeners.0.portMapping.port", 0),
        "Value '0' at 'spec.listeners.1.member.portMapping.port' failed to satisfy "
        "constraint: Member must have value greater than or equal to 1",
        id="range",
    ),
    pytest.param(
        NODE,
        changed(node(), "listeners.0.healthCheck", {**HC, "healthyThreshold": 11}),
        "at 'spec.listeners.1.member.healthCheck.healthyThreshold' failed to satisfy "
        "constraint: Member must have value less than or equal to 10",
        id="range-max",
    ),
    pytest.param(
        ROUTE,
        changed(
            http_route(),
            "httpRoute.action.weightedTargets",
            [{"virtualNode": "blue", "weight": 1}] * 11,
        ),
        "at 'spec.httpRoute.action.weightedTargets' failed to satisfy constraint: "
        "Member must have length less than or equal to 10",
        id="list-length",
    ),
    pytest.param(
        ROUTE,
        changed(http_route(), "httpRoute.action.weightedTargets", []),
        "at 'spec.httpRoute.action.weightedTargets' failed to satisfy constraint: Member must "
        "have length greater than or equal to 1",
        id="no-weighted-target",
    ),
    pytest.param(
        ROUTE,
        changed(grpc_route(), "grpcRoute.match.methodName", "m" * 51),
        "at 'spec.grpcRoute.match.methodName' failed to satisfy constraint: Member must "
        "have length less than or equal to 50",
        id="string-length",
    ),
    pytest.param(
        NODE,
        changed(
            node(), "serviceDiscovery.awsCloudMap", {"namespaceName": "ns", "serviceName": "svc"}
        ),
        "at 'spec.serviceDiscovery' failed to satisfy constraint: Member must have "
        "exactly one member set",
        id="union-with-two-members",
    ),
    pytest.param(
        GATEWAY,
        {"listeners": [{"portMapping": {"port": 80, "protocol": "tcp"}}]},
        "Value 'tcp' at 'spec.listeners.1.member.portMapping.protocol' failed to satisfy "
        "constraint: Member must satisfy enum value set",
        id="gateway-listener-tcp",
    ),
    pytest.param(
        GATEWAY,
        {"backendDefaults": {}},
        "Value null at 'spec.listeners' failed to satisfy constraint: Member must not be null",
        id="missing-required",
    ),
    pytest.param(
        ROUTE,
        changed(http_route(), "httpRoute.action", DELETE),
        "Value null at 'spec.httpRoute.action' failed to satisfy constraint: Member must "
        "not be null",
        id="missing-required-nested",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "message"), SHAPE)
def test_a_model_constraint_violation_is_an_aws_validation_error(
    client: Any, unique: str, kind: Kind, spec: dict[str, Any], message: str
) -> None:
    if kind is MESH:
        name = unique[:60]
        client.create_mesh(meshName=name)
        before = client.describe_mesh(meshName=name)["mesh"]
        validation_error(lambda: client.update_mesh(meshName=name, spec=spec), message)
        assert client.describe_mesh(meshName=name)["mesh"] == before
        validation_error(lambda: client.create_mesh(meshName=name + "-x", spec=spec), message)
        with aws_error("NotFoundException", 404):
            client.describe_mesh(meshName=name + "-x")
        return
    mesh = Mesh(client, unique[:60]).with_parent(kind, None)
    valid = {"virtual_node": node(), "route": http_route(), "virtual_gateway": gateway()}[kind.op]
    created = mesh.call("create", kind, "subject", spec=valid)
    validation_error(lambda: mesh.call("update", kind, "subject", spec=spec), message)
    assert mesh.call("describe", kind, "subject") == created
    validation_error(lambda: mesh.call("create", kind, "rejected", spec=spec), message)
    with aws_error("NotFoundException", 404):
        mesh.call("describe", kind, "rejected")


def test_a_name_too_long_is_a_validation_error_and_creates_nothing(client: Any) -> None:
    name = "m" * 256
    try:
        client.create_mesh(meshName=name)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "BadRequestException"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert (
            "Member must have length less than or equal to 255"
            in (error.response["Error"]["Message"])
        )
    else:
        pytest.fail("a 256-character mesh name was accepted")
    assert name not in [m["meshName"] for m in client.list_meshes()["meshes"]]
