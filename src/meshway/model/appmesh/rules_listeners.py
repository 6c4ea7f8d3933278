"""App Mesh rules for the resources that listen: virtual nodes, virtual routers, virtual gateways.

Also the one rule that ties a router to its existing routes (`check_router_routes`), which the
service calls on UpdateVirtualRouter. Shared checks live in `rules_common`.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshway.core.errors import LimitExceededException
from meshway.model.appmesh.rules_common import (
    Spec,
    check_client_policy,
    check_connection_pool,
    check_health_check,
    check_listener_timeout,
    check_listener_tls,
    check_outlier_detection,
    check_unique_ports,
    fail,
    items,
    join,
    obj,
)

# REF §3.1: "Backends per virtual node (L-8775AB18)": 50.
BACKENDS_PER_VIRTUAL_NODE = 50


def check_virtual_node(spec: Spec) -> None:
    listeners = items(spec.get("listeners"))
    # API VirtualNodeSpec.serviceDiscovery: "If you specify a listener, then you must specify
    # service discovery information."
    if listeners and spec.get("serviceDiscovery") is None:
        fail("ServiceDiscovery must be specified when a listener is specified.")
    check_unique_ports(listeners, "spec.listeners", "Virtual node")
    for index, listener in enumerate(listeners, start=1):
        path = join("spec.listeners", index, "member")
        check_health_check(listener, path)
        check_connection_pool(listener, path)
        check_listener_timeout(listener, path)
        check_outlier_detection(listener, path)
        check_listener_tls(listener, path)
    _check_backends(spec)


def _check_backends(spec: Spec) -> None:
    backends = items(spec.get("backends"))
    if len(backends) > BACKENDS_PER_VIRTUAL_NODE:
        raise LimitExceededException(
            f"The number of backends ({len(backends)}) exceeds the limit of "
            f"{BACKENDS_PER_VIRTUAL_NODE} backends per virtual node"
        )
    for index, backend in enumerate(backends, start=1):
        service = obj(backend.get("virtualService"))
        path = join("spec.backends", index, "member.virtualService.clientPolicy")
        check_client_policy(service.get("clientPolicy"), path)
    check_client_policy(
        obj(spec.get("backendDefaults")).get("clientPolicy"), "spec.backendDefaults.clientPolicy"
    )


def check_virtual_router(spec: Spec) -> None:
    check_unique_ports(items(spec.get("listeners")), "spec.listeners", "Virtual router")


def check_virtual_gateway(spec: Spec) -> None:
    listeners = items(spec.get("listeners"))
    # The model marks `listeners` required; a gateway without one cannot take traffic (REF §1.5,
    # and the CDK team: "you cannot create a Virtual Gateway without a listener", aws-cdk#10879).
    # Older models stated it as min=1, so the message is the model's wording.
    if not listeners:
        fail(
            "1 validation error detected: Value '[]' at 'spec.listeners' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1"
        )
    check_unique_ports(listeners, "spec.listeners", "Virtual gateway")
    for index, listener in enumerate(listeners, start=1):
        path = join("spec.listeners", index, "member")
        check_health_check(listener, path)
        check_connection_pool(listener, path)
        check_listener_tls(listener, path)
    check_client_policy(
        obj(spec.get("backendDefaults")).get("clientPolicy"), "spec.backendDefaults.clientPolicy"
    )


def check_router_routes(router_spec: Spec, routes: Mapping[str, Spec]) -> None:
    """UpdateVirtualRouter: a router may gain a second listener only once every route names its
    port. AWS's message, quoted in aws/aws-app-mesh-controller-for-k8s#715."""
    if len(items(router_spec.get("listeners"))) <= 1:
        return
    missing = sorted(name for name, spec in routes.items() if _route_port(spec) is None)
    if missing:
        fail(
            "All Routes for this Virtual Router must define a port match before adding multiple "
            f"listeners to this Virtual Router. {len(missing)} Route(s) are missing port. "
            f"Listing up to 5 route names: [{', '.join(missing[:5])}]"
        )


def _route_port(spec: Spec) -> int | None:
    for route_type in ("httpRoute", "http2Route", "grpcRoute", "tcpRoute"):
        route = spec.get(route_type)
        if route is not None:
            port = obj(obj(route).get("match")).get("port")
            return port if isinstance(port, int) else None
    return None
