"""The seven App Mesh resource kinds and how each is named, keyed and shown.

Everything here is derived from one table (`KINDS`), so the service, the ARNs and the wire names
of a kind never disagree. ARN resource paths follow AWS (reference/appmesh-api.md §1.2):
`mesh/M`, `mesh/M/virtualNode/N`, `mesh/M/virtualRouter/R/route/X`, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class KindName(StrEnum):
    MESH = "mesh"
    VIRTUAL_NODE = "virtualNode"
    VIRTUAL_ROUTER = "virtualRouter"
    ROUTE = "route"
    VIRTUAL_SERVICE = "virtualService"
    VIRTUAL_GATEWAY = "virtualGateway"
    GATEWAY_ROUTE = "gatewayRoute"


@dataclass(frozen=True, slots=True, kw_only=True)
class Kind:
    name: KindName
    title: str  # "Virtual node": the words AWS's messages use
    parent: KindName | None  # a route's parent is its virtual router; mesh children: MESH
    quota: int | None  # per parent (per account for meshes), reference/appmesh-api.md §3.1

    @property
    def store_kind(self) -> str:
        return f"appmesh.{self.name.value}"

    @property
    def name_member(self) -> str:
        """`virtualNodeName`, `routeName`, ...: the member that carries the name on the wire."""
        return f"{self.name.value}Name"

    @property
    def list_member(self) -> str:
        """`virtualNodes`, `routes`, ...: the member a List operation returns."""
        return f"{self.name.value}es" if self.name.value.endswith("sh") else f"{self.name.value}s"


KINDS: dict[KindName, Kind] = {
    k.name: k
    for k in (
        Kind(name=KindName.MESH, title="Mesh", parent=None, quota=15),
        Kind(name=KindName.VIRTUAL_NODE, title="VirtualNode", parent=KindName.MESH, quota=200),
        Kind(name=KindName.VIRTUAL_ROUTER, title="VirtualRouter", parent=KindName.MESH, quota=200),
        Kind(name=KindName.ROUTE, title="Route", parent=KindName.VIRTUAL_ROUTER, quota=50),
        Kind(
            name=KindName.VIRTUAL_SERVICE, title="VirtualService", parent=KindName.MESH, quota=200
        ),
        Kind(name=KindName.VIRTUAL_GATEWAY, title="VirtualGateway", parent=KindName.MESH, quota=3),
        Kind(
            name=KindName.GATEWAY_ROUTE,
            title="GatewayRoute",
            parent=KindName.VIRTUAL_GATEWAY,
            quota=10,
        ),
    )
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceId:
    """Where a resource lives: owner account, region, mesh, and its path below the mesh."""

    kind: KindName
    account: str  # the mesh owner
    region: str
    mesh: str
    parent_name: str = ""  # the router of a route, the gateway of a gateway route
    name: str = ""  # empty for a mesh

    def resource_path(self) -> str:
        path = f"mesh/{self.mesh}"
        if self.kind is KindName.MESH:
            return path
        if self.kind is KindName.ROUTE:
            return f"{path}/virtualRouter/{self.parent_name}/route/{self.name}"
        if self.kind is KindName.GATEWAY_ROUTE:
            return f"{path}/virtualGateway/{self.parent_name}/gatewayRoute/{self.name}"
        return f"{path}/{self.kind.value}/{self.name}"

    def arn(self) -> str:
        return f"arn:aws:appmesh:{self.region}:{self.account}:{self.resource_path()}"

    def parent(self) -> ResourceId | None:
        """The resource a listing of this kind hangs under (None for a mesh)."""
        parent_kind = KINDS[self.kind].parent
        if parent_kind is None:
            return None
        if parent_kind is KindName.MESH:
            return ResourceId(
                kind=KindName.MESH, account=self.account, region=self.region, mesh=self.mesh
            )
        return ResourceId(
            kind=parent_kind,
            account=self.account,
            region=self.region,
            mesh=self.mesh,
            name=self.parent_name,
        )

    def sibling(self, kind: KindName, name: str, parent_name: str = "") -> ResourceId:
        """Another resource of the same mesh (a reference from this one's spec)."""
        return ResourceId(
            kind=kind,
            account=self.account,
            region=self.region,
            mesh=self.mesh,
            parent_name=parent_name,
            name=name,
        )


def mesh_scope(account: str, region: str) -> str:
    """What meshes are listed under: one account in one region."""
    return f"appmesh:{region}:{account}"


def parse_arn(arn: str) -> ResourceId | None:
    """The resource an App Mesh ARN names, or None when it names none."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "appmesh":
        return None
    region, account, path = parts[3], parts[4], parts[5].split("/")
    if len(path) < 2 or path[0] != "mesh" or not path[1]:
        return None
    base = {"account": account, "region": region, "mesh": path[1]}
    shapes: dict[int, KindName | None] = {2: KindName.MESH, 4: None, 6: None}
    if len(path) not in shapes:
        return None
    if len(path) == 2:
        return ResourceId(kind=KindName.MESH, **base)
    if len(path) == 4:
        kind = _kind_of(
            path[2],
            {
                KindName.VIRTUAL_NODE,
                KindName.VIRTUAL_ROUTER,
                KindName.VIRTUAL_SERVICE,
                KindName.VIRTUAL_GATEWAY,
            },
        )
        return ResourceId(kind=kind, name=path[3], **base) if kind and path[3] else None
    nested = {
        ("virtualRouter", "route"): KindName.ROUTE,
        ("virtualGateway", "gatewayRoute"): KindName.GATEWAY_ROUTE,
    }
    kind = nested.get((path[2], path[4]))
    if kind is None or not path[3] or not path[5]:
        return None
    return ResourceId(kind=kind, parent_name=path[3], name=path[5], **base)


def _kind_of(text: str, allowed: set[KindName]) -> KindName | None:
    try:
        kind = KindName(text)
    except ValueError:
        return None
    return kind if kind in allowed else None
