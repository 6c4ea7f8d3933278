"""The 38 App Mesh operations, in the API's own words, each a thin call into `AppMeshCore`."""

from __future__ import annotations

from typing import Any

from meshway.core.context import RequestContext
from meshway.model.appmesh.kinds import KindName, ResourceId, mesh_scope
from meshway.service.appmesh.core import AppMeshCore, Output

Spec = dict[str, Any] | None
Tags = list[dict[str, str]] | None

MESH = KindName.MESH
NODE = KindName.VIRTUAL_NODE
ROUTER = KindName.VIRTUAL_ROUTER
ROUTE = KindName.ROUTE
SERVICE = KindName.VIRTUAL_SERVICE
GATEWAY = KindName.VIRTUAL_GATEWAY
GATEWAY_ROUTE = KindName.GATEWAY_ROUTE


def _mesh(ctx: RequestContext, mesh: str, owner: str | None = None) -> ResourceId:
    return AppMeshCore._rid(ctx, MESH, mesh, owner=owner)


class AppMeshService(AppMeshCore):
    # -- meshes --------------------------------------------------------------------------
    def create_mesh(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        spec: Spec = None,
        tags: Tags = None,
        client_token: str | None = None,
    ) -> Output:
        return self._create(ctx, _mesh(ctx, mesh_name), spec, tags, client_token)

    def describe_mesh(
        self, ctx: RequestContext, *, mesh_name: str, mesh_owner: str | None = None
    ) -> Output:
        return self._describe(_mesh(ctx, mesh_name, mesh_owner))

    def update_mesh(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        spec: Spec = None,
        client_token: str | None = None,
    ) -> Output:
        return self._update(_mesh(ctx, mesh_name), spec, client_token)

    def delete_mesh(self, ctx: RequestContext, *, mesh_name: str) -> Output:
        return self._delete(_mesh(ctx, mesh_name))

    def list_meshes(
        self, ctx: RequestContext, *, limit: int | None = None, next_token: str | None = None
    ) -> Output:
        scope = mesh_scope(ctx.account, ctx.region)
        return self._list(None, MESH, scope, limit, next_token)

    # -- virtual nodes, routers, services and gateways (children of a mesh) ----------------
    def create_virtual_node(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_node_name: str,
        spec: Spec,
        tags: Tags = None,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, NODE, mesh_name, virtual_node_name, owner=mesh_owner)
        return self._create(ctx, rid, spec, tags, client_token)

    def describe_virtual_node(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_node_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._describe(self._rid(ctx, NODE, mesh_name, virtual_node_name, owner=mesh_owner))

    def update_virtual_node(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_node_name: str,
        spec: Spec,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, NODE, mesh_name, virtual_node_name, owner=mesh_owner)
        return self._update(rid, spec, client_token)

    def delete_virtual_node(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_node_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._delete(self._rid(ctx, NODE, mesh_name, virtual_node_name, owner=mesh_owner))

    def list_virtual_nodes(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        limit: int | None = None,
        next_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._list(_mesh(ctx, mesh_name, mesh_owner), NODE, None, limit, next_token)

    def create_virtual_router(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        spec: Spec,
        tags: Tags = None,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, ROUTER, mesh_name, virtual_router_name, owner=mesh_owner)
        return self._create(ctx, rid, spec, tags, client_token)

    def describe_virtual_router(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._describe(
            self._rid(ctx, ROUTER, mesh_name, virtual_router_name, owner=mesh_owner)
        )

    def update_virtual_router(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        spec: Spec,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, ROUTER, mesh_name, virtual_router_name, owner=mesh_owner)
        return self._update(rid, spec, client_token)

    def delete_virtual_router(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._delete(
            self._rid(ctx, ROUTER, mesh_name, virtual_router_name, owner=mesh_owner)
        )

    def list_virtual_routers(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        limit: int | None = None,
        next_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._list(_mesh(ctx, mesh_name, mesh_owner), ROUTER, None, limit, next_token)

    def create_virtual_service(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_service_name: str,
        spec: Spec,
        tags: Tags = None,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, SERVICE, mesh_name, virtual_service_name, owner=mesh_owner)
        return self._create(ctx, rid, spec, tags, client_token)

    def describe_virtual_service(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_service_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._describe(
            self._rid(ctx, SERVICE, mesh_name, virtual_service_name, owner=mesh_owner)
        )

    def update_virtual_service(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_service_name: str,
        spec: Spec,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, SERVICE, mesh_name, virtual_service_name, owner=mesh_owner)
        return self._update(rid, spec, client_token)

    def delete_virtual_service(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_service_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._delete(
            self._rid(ctx, SERVICE, mesh_name, virtual_service_name, owner=mesh_owner)
        )

    def list_virtual_services(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        limit: int | None = None,
        next_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._list(_mesh(ctx, mesh_name, mesh_owner), SERVICE, None, limit, next_token)

    def create_virtual_gateway(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        spec: Spec,
        tags: Tags = None,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, GATEWAY, mesh_name, virtual_gateway_name, owner=mesh_owner)
        return self._create(ctx, rid, spec, tags, client_token)

    def describe_virtual_gateway(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._describe(
            self._rid(ctx, GATEWAY, mesh_name, virtual_gateway_name, owner=mesh_owner)
        )

    def update_virtual_gateway(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        spec: Spec,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(ctx, GATEWAY, mesh_name, virtual_gateway_name, owner=mesh_owner)
        return self._update(rid, spec, client_token)

    def delete_virtual_gateway(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._delete(
            self._rid(ctx, GATEWAY, mesh_name, virtual_gateway_name, owner=mesh_owner)
        )

    def list_virtual_gateways(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        limit: int | None = None,
        next_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._list(_mesh(ctx, mesh_name, mesh_owner), GATEWAY, None, limit, next_token)

    # -- routes (children of a virtual router) and gateway routes (of a virtual gateway) ----
    def create_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        route_name: str,
        spec: Spec,
        tags: Tags = None,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(
            ctx, ROUTE, mesh_name, route_name, parent=virtual_router_name, owner=mesh_owner
        )
        return self._create(ctx, rid, spec, tags, client_token)

    def describe_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        route_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._describe(
            self._rid(
                ctx, ROUTE, mesh_name, route_name, parent=virtual_router_name, owner=mesh_owner
            )
        )

    def update_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        route_name: str,
        spec: Spec,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(
            ctx, ROUTE, mesh_name, route_name, parent=virtual_router_name, owner=mesh_owner
        )
        return self._update(rid, spec, client_token)

    def delete_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        route_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._delete(
            self._rid(
                ctx, ROUTE, mesh_name, route_name, parent=virtual_router_name, owner=mesh_owner
            )
        )

    def list_routes(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_router_name: str,
        limit: int | None = None,
        next_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        router = self._rid(ctx, ROUTER, mesh_name, virtual_router_name, owner=mesh_owner)
        return self._list(router, ROUTE, None, limit, next_token)

    def create_gateway_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        gateway_route_name: str,
        spec: Spec,
        tags: Tags = None,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(
            ctx,
            GATEWAY_ROUTE,
            mesh_name,
            gateway_route_name,
            parent=virtual_gateway_name,
            owner=mesh_owner,
        )
        return self._create(ctx, rid, spec, tags, client_token)

    def describe_gateway_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        gateway_route_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._describe(
            self._rid(
                ctx,
                GATEWAY_ROUTE,
                mesh_name,
                gateway_route_name,
                parent=virtual_gateway_name,
                owner=mesh_owner,
            )
        )

    def update_gateway_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        gateway_route_name: str,
        spec: Spec,
        client_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        rid = self._rid(
            ctx,
            GATEWAY_ROUTE,
            mesh_name,
            gateway_route_name,
            parent=virtual_gateway_name,
            owner=mesh_owner,
        )
        return self._update(rid, spec, client_token)

    def delete_gateway_route(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        gateway_route_name: str,
        mesh_owner: str | None = None,
    ) -> Output:
        return self._delete(
            self._rid(
                ctx,
                GATEWAY_ROUTE,
                mesh_name,
                gateway_route_name,
                parent=virtual_gateway_name,
                owner=mesh_owner,
            )
        )

    def list_gateway_routes(
        self,
        ctx: RequestContext,
        *,
        mesh_name: str,
        virtual_gateway_name: str,
        limit: int | None = None,
        next_token: str | None = None,
        mesh_owner: str | None = None,
    ) -> Output:
        gateway = self._rid(ctx, GATEWAY, mesh_name, virtual_gateway_name, owner=mesh_owner)
        return self._list(gateway, GATEWAY_ROUTE, None, limit, next_token)
