"""What the server has, for `meshway apply`: read through its own APIs as any client would.

App Mesh: every resource of each mesh the file names (a dry run translates whole meshes); ECS:
the clusters, task definition families and services the file names, and the running tasks whose
sidecars make the endpoints a dry run translates with; Cloud Map: the namespaces and their
services. `config_diffs` puts the current and the would-be meshes through cli/configdiff.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import botocore
from botocore.exceptions import ClientError

from meshway.cli import apply as planning
from meshway.cli.apply import Current, Resource
from meshway.cli.configdiff import ProxyDiff, proxy_diffs, view_of
from meshway.model.appmesh.kinds import KINDS, KindName
from meshway.xds.sync import task_endpoints
from meshway.xds.view import Endpoint

Key = tuple[str, str, str, str]

_CHILD_KINDS = (
    KindName.VIRTUAL_NODE,
    KindName.VIRTUAL_ROUTER,
    KindName.VIRTUAL_SERVICE,
    KindName.VIRTUAL_GATEWAY,
)
_NESTED = {
    KindName.VIRTUAL_ROUTER: KindName.ROUTE,
    KindName.VIRTUAL_GATEWAY: KindName.GATEWAY_ROUTE,
}


def code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# -- App Mesh: what the server has ------------------------------------------------------------


def op(verb: str, kind: KindName) -> str:
    plural = "es" if kind is KindName.MESH else "s"
    title = KINDS[kind].title
    return str(botocore.xform_name(f"{verb}{title}{plural if verb == 'List' else ''}"))


def _names(appmesh: Any, kind: KindName, **where: str) -> Iterator[str]:
    for page in appmesh.get_paginator(op("List", kind)).paginate(**where):
        for item in page[KINDS[kind].list_member]:
            yield str(item[KINDS[kind].name_member])


def _spec(appmesh: Any, kind: KindName, **where: str) -> Mapping[str, Any] | None:
    try:
        found = getattr(appmesh, op("Describe", kind))(**where)[kind.value]
    except ClientError as error:
        if code(error) == "NotFoundException":
            return None
        raise
    return found.get("spec") or {}


def mesh_specs(appmesh: Any, mesh: str) -> dict[Key, Mapping[str, Any]]:
    """Every resource of `mesh` as (kind, mesh, parent, name) → spec; empty if no such mesh."""
    spec = _spec(appmesh, KindName.MESH, meshName=mesh)
    if spec is None:
        return {}
    found: dict[Key, Mapping[str, Any]] = {(KindName.MESH, "", "", mesh): spec}
    for kind in _CHILD_KINDS:
        member = KINDS[kind].name_member
        for name in _names(appmesh, kind, meshName=mesh):
            child = _spec(appmesh, kind, meshName=mesh, **{member: name})
            if child is not None:
                found[(kind, mesh, "", name)] = child
            nested = _NESTED.get(kind)
            if nested is None:
                continue
            for sub in _names(appmesh, nested, meshName=mesh, **{member: name}):
                where = {member: name, KINDS[nested].name_member: sub}
                sub_spec = _spec(appmesh, nested, meshName=mesh, **where)
                if sub_spec is not None:
                    found[(nested, mesh, name, sub)] = sub_spec
    return found


# -- ECS: what the server has ------------------------------------------------------------------


def _clusters(ecs: Any, names: Sequence[str]) -> frozenset[str]:
    if not names:
        return frozenset()
    found = ecs.describe_clusters(clusters=list(names))["clusters"]
    return frozenset(c["clusterName"] for c in found if c.get("status") == "ACTIVE")


def _definition(ecs: Any, family: str) -> Mapping[str, Any] | None:
    try:
        return ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]  # type: ignore[no-any-return]
    except ClientError as error:
        if code(error) in ("ClientException", "InvalidParameterException"):
            return None
        raise


def _services(ecs: Any, wanted: Sequence[Resource]) -> dict[tuple[str, str], Mapping[str, Any]]:
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for cluster in dict.fromkeys(r.scope for r in wanted):
        names = [r.name for r in wanted if r.scope == cluster]
        try:
            described = ecs.describe_services(cluster=cluster, services=names)["services"]
        except ClientError as error:
            if code(error) == "ClusterNotFoundException":
                continue
            raise
        for service in described:
            if service.get("status") == "ACTIVE":
                found[(cluster, service["serviceName"])] = service
    return found


# -- Cloud Map: what the server has --------------------------------------------------------------


def _namespaces(discovery: Any) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for page in discovery.get_paginator("list_namespaces").paginate():
        for namespace in page["Namespaces"]:
            found[str(namespace["Name"])] = namespace
    return found


def _discovery_services(
    discovery: Any, namespaces: Mapping[str, Mapping[str, Any]], wanted: Sequence[str]
) -> dict[tuple[str, str], Mapping[str, Any]]:
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for name in wanted:
        if name not in namespaces:
            continue
        where = [{"Name": "NAMESPACE_ID", "Values": [namespaces[name]["Id"]], "Condition": "EQ"}]
        for page in discovery.get_paginator("list_services").paginate(Filters=where):
            for service in page["Services"]:
                full = discovery.get_service(Id=service["Id"])["Service"]
                found[(name, str(service["Name"]))] = full
    return found


def meshes_of(resources: Sequence[Resource]) -> list[str]:
    return list(
        dict.fromkeys(r.scope or r.name for r in resources if r.kind in planning.APPMESH_KINDS)
    )


def read_current(appmesh: Any, ecs: Any, discovery: Any, resources: Sequence[Resource]) -> Current:
    wanted_namespaces = [r.name for r in resources if r.kind == planning.NAMESPACE]
    namespaces = _namespaces(discovery) if wanted_namespaces else {}
    specs: dict[Key, Mapping[str, Any]] = {}
    for mesh in meshes_of(resources):
        specs.update(mesh_specs(appmesh, mesh))
    families = [r.name for r in resources if r.kind == "taskDefinition"]
    definitions = {f: d for f in families if (d := _definition(ecs, f)) is not None}
    return Current(
        specs=specs,
        clusters=_clusters(ecs, [r.name for r in resources if r.kind == "cluster"]),
        definitions=definitions,
        services=_services(ecs, [r for r in resources if r.kind == "service"]),
        namespaces=namespaces,
        discovery=_discovery_services(discovery, namespaces, wanted_namespaces),
    )


def endpoints(ecs: Any) -> dict[tuple[str, str], list[Endpoint]]:
    """(mesh, virtual node) → the running tasks that are its instances, as the server sees them."""
    pairs: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    definitions: dict[str, Mapping[str, Any]] = {}
    for cluster in ecs.list_clusters().get("clusterArns", []):
        arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING").get("taskArns", [])
        for start in range(0, len(arns), 100):
            for task in ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])[
                "tasks"
            ]:
                arn = str(task["taskDefinitionArn"])
                if arn not in definitions:
                    definitions[arn] = ecs.describe_task_definition(taskDefinition=arn)[
                        "taskDefinition"
                    ]
                pairs.append((task, definitions[arn]))
    return {(ref.mesh, node): eps for (ref, node), eps in task_endpoints(pairs).items()}


def config_diffs(
    resources: Sequence[Resource], current: Current, live: Mapping[tuple[str, str], list[Endpoint]]
) -> list[ProxyDiff]:
    """Per mesh the file names: the proxies whose Envoy configuration the apply would change."""
    desired: dict[Key, Mapping[str, Any]] = dict(current.specs)
    for resource in resources:
        if resource.kind in planning.APPMESH_KINDS:
            desired[resource.key] = resource.body
    diffs: list[ProxyDiff] = []
    for mesh in meshes_of(resources):
        mine = {node: eps for (m, node), eps in live.items() if m == mesh}
        diffs += proxy_diffs(view_of(mesh, current.specs, mine), view_of(mesh, desired, mine))
    return diffs
