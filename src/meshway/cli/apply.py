"""`meshway apply FILE`, the pure part: a document → the resources it wants → ordered actions.

A document (YAML or JSON) holds App Mesh resources, ECS clusters, task definitions and services:

    meshes:                       # or `mesh: {name, spec}` with the children at the top level,
      - name: demo                # as src/meshway/demo/mesh.yaml has them
        spec: {egressFilter: {type: DROP_ALL}}
        virtualNodes: [{name, spec}]
        virtualRouters: [{name, spec, routes: [{name, spec}]}]
        virtualServices: [{name, spec}]
        virtualGateways: [{name, spec, gatewayRoutes: [{name, spec}]}]
    cloudMap:                     # Cloud Map, in the API's own (Pascal) case
      namespaces:
        - {Name: demo.local, Type: DNS_PRIVATE, Vpc: vpc-1,   # or HTTP, DNS_PUBLIC
           Services: [CreateService input without NamespaceId, ...]}
    clusters: [name, ...]
    taskDefinitions: [RegisterTaskDefinition input, ...]
    services: [CreateService input, ...]  # taskDefinition: a family (its latest revision) or ARN

The demo's file is applied as it stands: its `services` (`{name, image, environment}`) become
the demo's task definitions and services in its `cluster` (cli/demo.py's shape).

`plan(resources, current)` compares each wanted resource with what the server has (`Current`,
read by cli/apply_command.py) and gives one `Action` per resource in dependency order (Cloud Map
namespaces → their services → mesh → nodes → routers → routes → services → gateways → gateway
routes → clusters → task definitions → ECS services): create what is missing, update what
differs, leave the rest. A namespace is only ever created (its type and VPC cannot change); a
Cloud Map service is updated when its description or DNS records differ. App Mesh specs are
compared whole (empty values dropped, as the API drops them); a task definition is re-registered
only when a field the file gives differs from the family's latest revision (the API fills in
defaults the file need not repeat); a service is updated when its task definition or desired
count differs. Nothing is ever deleted. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from meshway.model.appmesh.kinds import KindName


class ApplyError(ValueError):
    """The document is not something `apply` can apply; the message names where."""


class Verb(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


# The order resources are applied in: what a resource refers to exists before it.
NAMESPACE = "cloudMapNamespace"
DISCOVERY_SERVICE = "cloudMapService"
ORDER: tuple[str, ...] = (
    NAMESPACE,
    DISCOVERY_SERVICE,
    KindName.MESH,
    KindName.VIRTUAL_NODE,
    KindName.VIRTUAL_ROUTER,
    KindName.ROUTE,
    KindName.VIRTUAL_SERVICE,
    KindName.VIRTUAL_GATEWAY,
    KindName.GATEWAY_ROUTE,
    "cluster",
    "taskDefinition",
    "service",
)
APPMESH_KINDS = frozenset(k.value for k in KindName)
CLOUD_MAP_KINDS = frozenset({NAMESPACE, DISCOVERY_SERVICE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """One wanted resource. `scope` is the mesh (App Mesh) or cluster (services), `parent` the
    router of a route or the gateway of a gateway route; `body` the spec (App Mesh), the
    RegisterTaskDefinition input, or the CreateService input."""

    kind: str
    name: str
    scope: str = ""
    parent: str = ""
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.scope, self.parent, self.name)

    @property
    def label(self) -> str:
        return "/".join(part for part in (self.scope, self.parent, self.name) if part)


@dataclass(frozen=True, slots=True, kw_only=True)
class Current:
    """What the server has for the resources a document names.

    `specs`: App Mesh specs by `Resource.key`; `clusters`: active cluster names; `definitions`:
    each family's latest ACTIVE revision as DescribeTaskDefinition gives it; `services`: by
    (cluster, name), the active service's `taskDefinition` ARN and `desiredCount`;
    `namespaces`: Cloud Map namespaces by name (the `Namespace` shape); `discovery`: Cloud Map
    services by (namespace name, service name) (the `Service` shape)."""

    specs: Mapping[tuple[str, str, str, str], Mapping[str, Any]] = field(default_factory=dict)
    clusters: frozenset[str] = frozenset()
    definitions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    services: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    namespaces: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    discovery: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    verb: Verb
    resource: Resource
    changed: tuple[str, ...] = ()  # the fields that differ (dotted paths), for an update

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.verb.value,
            "kind": self.resource.kind,
            "name": self.resource.label,
            "changed": list(self.changed),
        }


# -- the document ----------------------------------------------------------------------------


def _named(item: Any, where: str) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise ApplyError(f"{where}: expected a mapping with a string `name`")
    spec = item.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise ApplyError(f"{where}.spec: expected a mapping")
    return item["name"], spec


def _items(doc: Mapping[str, Any], member: str, where: str) -> list[Any]:
    found = doc.get(member) or []
    if not isinstance(found, list):
        raise ApplyError(f"{where}{member}: expected a list")
    return found


def _children(mesh: str, doc: Mapping[str, Any], where: str) -> Iterator[Resource]:
    simple = (KindName.VIRTUAL_NODE, KindName.VIRTUAL_SERVICE)
    for kind in simple:
        for i, item in enumerate(_items(doc, f"{kind}s", where)):
            name, spec = _named(item, f"{where}{kind}s[{i}]")
            yield Resource(kind=kind, scope=mesh, name=name, body=spec)
    nested = (
        (KindName.VIRTUAL_ROUTER, KindName.ROUTE),
        (KindName.VIRTUAL_GATEWAY, KindName.GATEWAY_ROUTE),
    )
    for parent_kind, kind in nested:
        for i, item in enumerate(_items(doc, f"{parent_kind}s", where)):
            at = f"{where}{parent_kind}s[{i}]"
            parent, spec = _named(item, at)
            yield Resource(kind=parent_kind, scope=mesh, name=parent, body=spec)
            for j, child in enumerate(_items(item, f"{kind}s", f"{at}.")):
                name, child_spec = _named(child, f"{at}.{kind}s[{j}]")
                yield Resource(kind=kind, scope=mesh, parent=parent, name=name, body=child_spec)


def _meshes(doc: Mapping[str, Any]) -> Iterator[Resource]:
    if isinstance(doc.get("mesh"), Mapping):
        name, spec = _named(doc["mesh"], "mesh")
        yield Resource(kind=KindName.MESH, name=name, body=spec)
        yield from _children(name, doc, "")
    for i, item in enumerate(_items(doc, "meshes", "")):
        name, spec = _named(item, f"meshes[{i}]")
        yield Resource(kind=KindName.MESH, name=name, body=spec)
        yield from _children(name, item, f"meshes[{i}].")


def _definitions(doc: Mapping[str, Any]) -> Iterator[Resource]:
    if _is_demo_shorthand(doc):
        yield from (r for r in _demo_shorthand(doc) if r.kind == "taskDefinition")
    for i, item in enumerate(_items(doc, "taskDefinitions", "")):
        if not isinstance(item, Mapping) or not isinstance(item.get("family"), str):
            raise ApplyError(f"taskDefinitions[{i}]: expected a mapping with a string `family`")
        yield Resource(kind="taskDefinition", name=item["family"], body=item)


def _cloud_map(doc: Mapping[str, Any]) -> Iterator[Resource]:
    found = doc.get("cloudMap") or {}
    if not isinstance(found, Mapping):
        raise ApplyError("cloudMap: expected a mapping with `namespaces`")
    for i, item in enumerate(_items(found, "namespaces", "cloudMap.")):
        at = f"cloudMap.namespaces[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("Name"), str):
            raise ApplyError(f"{at}: expected a mapping with a string `Name`")
        if item.get("Type", "HTTP") not in NAMESPACE_TYPES:
            raise ApplyError(f"{at}.Type: one of {', '.join(NAMESPACE_TYPES)}")
        body = {k: v for k, v in item.items() if k != "Services"}
        yield Resource(kind=NAMESPACE, name=item["Name"], body=body)
        for j, service in enumerate(_items(item, "Services", f"{at}.")):
            if not isinstance(service, Mapping) or not isinstance(service.get("Name"), str):
                raise ApplyError(f"{at}.Services[{j}]: expected a mapping with a string `Name`")
            yield Resource(
                kind=DISCOVERY_SERVICE, scope=item["Name"], name=service["Name"], body=service
            )


NAMESPACE_TYPES = ("HTTP", "DNS_PRIVATE", "DNS_PUBLIC")


def _demo_shorthand(doc: Mapping[str, Any]) -> Iterator[Resource]:
    """src/meshway/demo/mesh.yaml's services (`{name, image, environment}`, one per node) →
    the demo's task definitions and ECS services, exactly as `meshway server --demo` makes them."""
    from meshway.cli import demo  # the demo's task definition shape is the one to keep

    mesh = str((doc.get("mesh") or {}).get("name", ""))
    cluster = str(doc.get("cluster") or "default")
    for item in doc["services"]:
        definition = demo.task_definition(mesh, item)
        yield Resource(kind="taskDefinition", name=definition["family"], body=definition)
        service = {
            "cluster": cluster,
            "serviceName": item["name"],
            "taskDefinition": definition["family"],
            "desiredCount": int(item.get("desiredCount", 1)),
            "networkConfiguration": demo.AWSVPC,
        }
        yield Resource(kind="service", scope=cluster, name=item["name"], body=service)


def _is_demo_shorthand(doc: Mapping[str, Any]) -> bool:
    found = doc.get("services")
    return isinstance(found, list) and all(
        isinstance(s, Mapping) and "image" in s and "serviceName" not in s for s in found
    )


def _services(doc: Mapping[str, Any]) -> Iterator[Resource]:
    if _is_demo_shorthand(doc):
        yield from (r for r in _demo_shorthand(doc) if r.kind == "service")
        return
    for i, item in enumerate(_items(doc, "services", "")):
        if not isinstance(item, Mapping) or not isinstance(item.get("serviceName"), str):
            raise ApplyError(f"services[{i}]: expected a mapping with a string `serviceName`")
        if not isinstance(item.get("taskDefinition"), str):
            raise ApplyError(f"services[{i}]: expected a string `taskDefinition`")
        cluster = str(item.get("cluster") or "default")
        body = {**item, "cluster": cluster}
        yield Resource(kind="service", scope=cluster, name=item["serviceName"], body=body)


def _clusters(doc: Mapping[str, Any], services: Sequence[Resource]) -> Iterator[Resource]:
    names = [str(c) for c in _items(doc, "clusters", "")]
    for name in dict.fromkeys([*names, *(s.scope for s in services)]):
        yield Resource(kind="cluster", name=name)


def parse_document(doc: Any) -> tuple[Resource, ...]:
    """The resources a loaded document wants, in dependency order; ApplyError if malformed or
    if it names one resource twice."""
    if not isinstance(doc, Mapping):
        raise ApplyError("the file must hold a mapping (meshes, taskDefinitions, services, ...)")
    services = list(_services(doc))
    found = [
        *_cloud_map(doc),
        *_meshes(doc),
        *_clusters(doc, services),
        *_definitions(doc),
        *services,
    ]
    seen: set[tuple[str, str, str, str]] = set()
    for resource in found:
        if resource.key in seen:
            raise ApplyError(f"{resource.kind} {resource.label} is given twice")
        seen.add(resource.key)
    return tuple(sorted(found, key=lambda r: ORDER.index(r.kind)))


# -- comparing --------------------------------------------------------------------------------


def prune(value: Any) -> Any:
    """Drop None, empty mappings and empty lists, all the way down (the API omits them)."""
    if isinstance(value, Mapping):
        kept = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list | tuple):
        return [prune(v) for v in value]
    return value


def differences(want: Any, have: Any, *, subset: bool = False, path: str = "") -> list[str]:
    """Dotted paths where `want` and `have` differ. With `subset`, keys only `have` holds are
    not differences (the server's defaults); lists must match item for item either way."""
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        keys = sorted(set(want) if subset else {*want, *have})
        return [
            d
            for k in keys
            for d in differences(want.get(k), have.get(k), subset=subset, path=f"{path}.{k}")
        ]
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        return [
            d
            for i, (w, h) in enumerate(zip(want, have, strict=True))
            for d in differences(w, h, subset=subset, path=f"{path}[{i}]")
        ]
    return [] if want == have else [path.lstrip(".") or "(all)"]


def _family_of(task_definition: str) -> str:
    """`family`, `family:3` or a task definition ARN → the family."""
    return task_definition.rsplit("/", 1)[-1].split(":", 1)[0]


def _compare(resource: Resource, current: Current, registering: set[str]) -> Action:
    def verdict(diff: Sequence[str]) -> Action:
        verb = Verb.UPDATE if diff else Verb.UNCHANGED
        return Action(verb=verb, resource=resource, changed=tuple(diff))

    if resource.kind in APPMESH_KINDS:
        have = current.specs.get(resource.key)
        if have is None:
            return Action(verb=Verb.CREATE, resource=resource)
        return verdict(differences(prune(resource.body), prune(have)))
    if resource.kind == "cluster":
        verb = Verb.UNCHANGED if resource.name in current.clusters else Verb.CREATE
        return Action(verb=verb, resource=resource)
    if resource.kind == NAMESPACE:
        verb = Verb.UNCHANGED if resource.name in current.namespaces else Verb.CREATE
        return Action(verb=verb, resource=resource)
    if resource.kind == DISCOVERY_SERVICE:
        have = current.discovery.get((resource.scope, resource.name))
        if have is None:
            return Action(verb=Verb.CREATE, resource=resource)
        wanted = {k: resource.body.get(k) for k in DISCOVERY_UPDATABLE}
        return verdict(differences(prune(wanted), prune(have), subset=True))
    if resource.kind == "taskDefinition":
        latest = current.definitions.get(resource.name)
        if latest is None:
            return Action(verb=Verb.CREATE, resource=resource)
        diff = differences(prune(resource.body), prune(latest), subset=True)
        if diff:
            registering.add(resource.name)
        return Action(
            verb=Verb.UPDATE if diff else Verb.UNCHANGED, resource=resource, changed=tuple(diff)
        )
    return _compare_service(resource, current, registering)


DISCOVERY_UPDATABLE = ("Description", "DnsConfig")  # what UpdateService can change


def _compare_service(resource: Resource, current: Current, registering: set[str]) -> Action:
    have = current.services.get((resource.scope, resource.name))
    if have is None:
        return Action(verb=Verb.CREATE, resource=resource)
    wanted = str(resource.body["taskDefinition"])
    family = _family_of(wanted)
    changed = []
    if family in registering:
        changed.append("taskDefinition")  # a new revision is registered: move to it
    elif ":" in wanted.rsplit("/", 1)[-1] or wanted.startswith("arn:"):
        if _revision(wanted) != _revision(str(have.get("taskDefinition", ""))):
            changed.append("taskDefinition")
    else:
        latest = current.definitions.get(family) or {}
        if latest.get("taskDefinitionArn") not in (None, have.get("taskDefinition")):
            changed.append("taskDefinition")
    if "desiredCount" in resource.body and resource.body["desiredCount"] != have.get(
        "desiredCount"
    ):
        changed.append("desiredCount")
    verb = Verb.UPDATE if changed else Verb.UNCHANGED
    return Action(verb=verb, resource=resource, changed=tuple(changed))


def _revision(task_definition: str) -> str:
    """`family:3` or an ARN → `family:3`."""
    return task_definition.rsplit("/", 1)[-1]


def plan(resources: Sequence[Resource], current: Current) -> list[Action]:
    """One action per resource, in the order given (parse_document's dependency order)."""
    registering: set[str] = {
        r.name
        for r in resources
        if r.kind == "taskDefinition" and r.name not in current.definitions
    }
    return [_compare(resource, current, registering) for resource in resources]


def pending(actions: Sequence[Action]) -> list[Action]:
    return [a for a in actions if a.verb is not Verb.UNCHANGED]
