"""The 38 App Mesh operations, in the API's own words, each a thin call into `AppMeshCore`.

Every kind has the same five operations, so they are made from one table rather than written 38
times: `create_virtual_node(ctx, mesh_name=..., virtual_node_name=..., spec=..., ...)` names its
resource with the members the kind's URI carries (mesh, parent router or gateway, own name, and
`meshOwner`), exactly as botocore's model spells them in snake_case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from meshway.core.context import RequestContext
from meshway.model.appmesh.kinds import KINDS, KindName, ResourceId, mesh_scope
from meshway.service.appmesh.core import AppMeshCore, Output

Operation = Callable[..., Output]


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _name_member(kind: KindName) -> str:
    """`virtualNodeName` → `virtual_node_name`: the member that names a resource of `kind`."""
    return _snake(KINDS[kind].name_member)


def resource_id(ctx: RequestContext, kind: KindName, members: Mapping[str, Any]) -> ResourceId:
    """The resource the request's members name."""
    parent_kind = KINDS[kind].parent
    nested = parent_kind is not None and parent_kind is not KindName.MESH
    return AppMeshCore._rid(
        ctx,
        kind,
        str(members["mesh_name"]),
        "" if kind is KindName.MESH else str(members[_name_member(kind)]),
        parent=str(members[_name_member(parent_kind)]) if nested and parent_kind else "",
        owner=members.get("mesh_owner"),
    )


def _parent_id(
    ctx: RequestContext, kind: KindName, members: Mapping[str, Any]
) -> ResourceId | None:
    parent_kind = KINDS[kind].parent
    return None if parent_kind is None else resource_id(ctx, parent_kind, members)


def _operations(kind: KindName) -> tuple[Operation, ...]:
    def create(
        self: AppMeshCore,
        ctx: RequestContext,
        *,
        spec: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        client_token: str | None = None,
        **names: Any,
    ) -> Output:
        return self._create(ctx, resource_id(ctx, kind, names), spec, tags, client_token)

    def describe(self: AppMeshCore, ctx: RequestContext, **names: Any) -> Output:
        return self._describe(resource_id(ctx, kind, names))

    def update(
        self: AppMeshCore,
        ctx: RequestContext,
        *,
        spec: dict[str, Any] | None = None,
        client_token: str | None = None,
        **names: Any,
    ) -> Output:
        return self._update(resource_id(ctx, kind, names), spec, client_token)

    def delete(self: AppMeshCore, ctx: RequestContext, **names: Any) -> Output:
        return self._delete(resource_id(ctx, kind, names))

    def list_(
        self: AppMeshCore,
        ctx: RequestContext,
        *,
        limit: int | None = None,
        next_token: str | None = None,
        **names: Any,
    ) -> Output:
        parent = _parent_id(ctx, kind, names)
        scope = mesh_scope(ctx.account, ctx.region) if parent is None else None
        return self._list(parent, kind, scope, limit, next_token)

    return create, describe, update, delete, list_


class AppMeshService(AppMeshCore):
    (create_mesh, describe_mesh, update_mesh, delete_mesh, list_meshes) = _operations(KindName.MESH)
    (
        create_virtual_node,
        describe_virtual_node,
        update_virtual_node,
        delete_virtual_node,
        list_virtual_nodes,
    ) = _operations(KindName.VIRTUAL_NODE)
    (
        create_virtual_router,
        describe_virtual_router,
        update_virtual_router,
        delete_virtual_router,
        list_virtual_routers,
    ) = _operations(KindName.VIRTUAL_ROUTER)
    (create_route, describe_route, update_route, delete_route, list_routes) = _operations(
        KindName.ROUTE
    )
    (
        create_virtual_service,
        describe_virtual_service,
        update_virtual_service,
        delete_virtual_service,
        list_virtual_services,
    ) = _operations(KindName.VIRTUAL_SERVICE)
    (
        create_virtual_gateway,
        describe_virtual_gateway,
        update_virtual_gateway,
        delete_virtual_gateway,
        list_virtual_gateways,
    ) = _operations(KindName.VIRTUAL_GATEWAY)
    (
        create_gateway_route,
        describe_gateway_route,
        update_gateway_route,
        delete_gateway_route,
        list_gateway_routes,
    ) = _operations(KindName.GATEWAY_ROUTE)
