"""What the translation reads: one mesh's App Mesh resources plus live endpoints, frozen.

`MeshView.from_records` takes plain store records (`{"kind": "appmesh.virtualNode", "body":
{"data": VirtualNodeData, "tags": [...]}}`, the shape `service.appmesh.repository` saves) and keeps
only the specs, deep-frozen, so a view can be shared between rebuilds and never changes under one.
`ProxyId` parses the xDS node id an Envoy presents (DESIGN.md contract: `mesh/<mesh>/virtualNode/
<name>`, `mesh/<mesh>/virtualGateway/<name>`, or the full ARN). No store access, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from meshway.model.appmesh.kinds import KINDS, KindName, parse_arn

Spec = Mapping[str, Any]
_EMPTY: Spec = MappingProxyType({})


def freeze(value: Any) -> Any:
    """Dicts become read-only mappings and lists tuples, all the way down."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One live instance of a virtual node (a task's address), from the runtime.

    `port` None means "whatever listener port the cluster is for" (an awsvpc task serves every
    listener port on its one address); a set port puts the endpoint only in that port's cluster.
    """

    address: str
    port: int | None = None
    healthy: bool = True
    zone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyId:
    """Which virtual node or gateway an Envoy stands for, from its xDS node id."""

    mesh: str
    kind: KindName  # VIRTUAL_NODE or VIRTUAL_GATEWAY
    name: str
    account: str | None = None  # known only from an ARN
    region: str | None = None

    @staticmethod
    def parse(node_id: str) -> ProxyId | None:
        if node_id.startswith("arn:"):
            rid = parse_arn(node_id)
            if rid is None or rid.kind not in _PROXY_KINDS:
                return None
            return ProxyId(
                mesh=rid.mesh, kind=rid.kind, name=rid.name, account=rid.account, region=rid.region
            )
        parts = node_id.split("/")
        if len(parts) != 4 or parts[0] != "mesh" or not parts[1] or not parts[3]:
            return None
        kind = _PROXY_KINDS_BY_TEXT.get(parts[2])
        return None if kind is None else ProxyId(mesh=parts[1], kind=kind, name=parts[3])

    @property
    def node_id(self) -> str:
        """The short form, whatever form was parsed."""
        return f"mesh/{self.mesh}/{self.kind.value}/{self.name}"


_PROXY_KINDS = (KindName.VIRTUAL_NODE, KindName.VIRTUAL_GATEWAY)
_PROXY_KINDS_BY_TEXT = {kind.value: kind for kind in _PROXY_KINDS}


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshView:
    """One mesh's specs, keyed by name (children keyed by parent, then name), and endpoints.

    `endpoints` maps a virtual node name to its live instances. A node with Cloud Map discovery
    always gets an EDS cluster (absent = no instances yet); a node with DNS discovery gets an EDS
    cluster when it has an entry here, else a DNS cluster on its hostname as App Mesh does. The
    sync gives an entry, empty until instances exist, to every node whose instances Meshway can
    know (sync.py), so a caller's cluster never changes type when the first instance comes.
    """

    mesh: str
    mesh_spec: Spec = field(default_factory=lambda: MappingProxyType({}))
    virtual_nodes: Mapping[str, Spec] = field(default_factory=lambda: MappingProxyType({}))
    virtual_routers: Mapping[str, Spec] = field(default_factory=lambda: MappingProxyType({}))
    routes: Mapping[str, Mapping[str, Spec]] = field(default_factory=lambda: MappingProxyType({}))
    virtual_services: Mapping[str, Spec] = field(default_factory=lambda: MappingProxyType({}))
    virtual_gateways: Mapping[str, Spec] = field(default_factory=lambda: MappingProxyType({}))
    gateway_routes: Mapping[str, Mapping[str, Spec]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    endpoints: Mapping[str, tuple[Endpoint, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @staticmethod
    def from_records(
        mesh: str,
        records: Iterable[Mapping[str, Any]],
        endpoints: Mapping[str, Iterable[Endpoint]] | None = None,
    ) -> MeshView:
        """The view of `mesh` from store records; records of other meshes are ignored."""
        specs: dict[KindName, dict[str, Any]] = {kind: {} for kind in KindName}
        mesh_spec: Any = {}
        for record in records:
            kind = _KIND_BY_STORE_KIND.get(str(record.get("kind")))
            data = (record.get("body") or {}).get("data") or {}
            if kind is None or data.get("meshName") != mesh:
                continue
            if kind is KindName.MESH:
                mesh_spec = data.get("spec") or {}
                continue
            name = data[KINDS[kind].name_member]
            parent = KINDS[kind].parent
            spec = data.get("spec") or {}
            if parent is None or parent is KindName.MESH:
                specs[kind][name] = spec
            else:  # a route under its router, a gateway route under its gateway
                specs[kind].setdefault(data[KINDS[parent].name_member], {})[name] = spec
        return MeshView(
            mesh=mesh,
            mesh_spec=freeze(mesh_spec),
            virtual_nodes=_sorted(specs[KindName.VIRTUAL_NODE]),
            virtual_routers=_sorted(specs[KindName.VIRTUAL_ROUTER]),
            routes=_sorted({k: _sorted(v) for k, v in specs[KindName.ROUTE].items()}, frozen=True),
            virtual_services=_sorted(specs[KindName.VIRTUAL_SERVICE]),
            virtual_gateways=_sorted(specs[KindName.VIRTUAL_GATEWAY]),
            gateway_routes=_sorted(
                {k: _sorted(v) for k, v in specs[KindName.GATEWAY_ROUTE].items()}, frozen=True
            ),
            endpoints=MappingProxyType(
                {name: tuple(eps) for name, eps in sorted((endpoints or {}).items())}
            ),
        )

    def node(self, name: str) -> Spec | None:
        return self.virtual_nodes.get(name)

    def routes_of(self, router: str) -> Mapping[str, Spec]:
        return self.routes.get(router, _EMPTY)

    def gateway_routes_of(self, gateway: str) -> Mapping[str, Spec]:
        return self.gateway_routes.get(gateway, _EMPTY)


_KIND_BY_STORE_KIND = {kind.store_kind: name for name, kind in KINDS.items()}


def _sorted(specs: Mapping[str, Any], *, frozen: bool = False) -> Mapping[str, Any]:
    return MappingProxyType(
        {name: spec if frozen else freeze(spec) for name, spec in sorted(specs.items())}
    )
