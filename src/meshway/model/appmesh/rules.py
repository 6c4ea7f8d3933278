"""App Mesh's semantic rules beyond the model's constraints, and the defaults AWS fills in.

The service calls `check_spec` on every create and update, after shape validation (required
members, enums, ranges, lengths, unions: all enforced from the botocore model, so none of that is
repeated here). The rules themselves live per resource family in `rules_listeners` (nodes,
routers, gateways) and `rules_routes` (routes, gateway routes); each cites its source.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from meshway.model.appmesh.kinds import KindName
from meshway.model.appmesh.rules_listeners import (
    check_router_routes,
    check_virtual_gateway,
    check_virtual_node,
    check_virtual_router,
)
from meshway.model.appmesh.rules_routes import check_gateway_route, check_route

__all__ = ["check_router_routes", "check_spec", "with_defaults"]


def check_spec(
    kind: KindName,
    spec: Mapping[str, Any],
    *,
    router_spec: Mapping[str, Any] | None = None,
    gateway_spec: Mapping[str, Any] | None = None,
) -> None:
    """Raise BadRequestException for the first documented rule `spec` breaks.

    `router_spec` (for a route) and `gateway_spec` (for a gateway route) are the parent's spec;
    without them the checks against the parent's listeners are skipped.
    """
    if kind is KindName.VIRTUAL_NODE:
        check_virtual_node(spec)
    elif kind is KindName.VIRTUAL_ROUTER:
        check_virtual_router(spec)
    elif kind is KindName.VIRTUAL_GATEWAY:
        check_virtual_gateway(spec)
    elif kind is KindName.ROUTE:
        check_route(spec, router_spec)
    elif kind is KindName.GATEWAY_ROUTE:
        check_gateway_route(spec, gateway_spec)
    # A mesh and a virtual service have no rules beyond their shapes.


def with_defaults(kind: KindName, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec as AWS stores and returns it: documented defaults filled in (a copy)."""
    result = copy.deepcopy(dict(spec or {}))
    if kind is KindName.MESH:
        # API MeshSpec / REF §1.5: "By default, the type is DROP_ALL".
        result.setdefault("egressFilter", {"type": "DROP_ALL"})
    elif kind is KindName.VIRTUAL_NODE:
        result.setdefault("backends", [])
        result.setdefault("listeners", [])
        for policy in _client_policies(result):
            _default_enforce(policy)
    elif kind is KindName.VIRTUAL_GATEWAY:
        _default_enforce((result.get("backendDefaults") or {}).get("clientPolicy"))
    return result


def _client_policies(node_spec: dict[str, Any]) -> list[Any]:
    policies = [(node_spec.get("backendDefaults") or {}).get("clientPolicy")]
    for backend in node_spec.get("backends") or []:
        policies.append(((backend or {}).get("virtualService") or {}).get("clientPolicy"))
    return policies


def _default_enforce(policy: Any) -> None:
    # API ClientPolicyTls.enforce: "The default is True, if a value isn't specified."
    tls = policy.get("tls") if isinstance(policy, dict) else None
    if isinstance(tls, dict):
        tls.setdefault("enforce", True)
