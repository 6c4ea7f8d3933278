"""The seven App Mesh kinds as the contract tests drive them through boto3, and shared checks.

`KindCase` says how to name, create, read and list one kind (operation names, wire members, ARN
path, valid specs, what must exist first); `Scene` is one kind in one fresh mesh of one fresh
account; `KindContract` holds the tests every kind must pass, and each `test_appmesh_<kind>.py`
subclasses it and adds the kind's own rules (defaults, delete constraints, quotas).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

MODEL = botocore.session.get_session().get_service_model("appmesh")

HTTP_8080 = {"portMapping": {"port": 8080, "protocol": "http"}}


# -- errors and shapes ---------------------------------------------------------------------


@contextmanager
def aws_error(code: str, status: int) -> Iterator[pytest.ExceptionInfo[ClientError]]:
    """Expect the block to fail with this AWS error code and HTTP status, and a message."""
    with pytest.raises(ClientError) as info:
        yield info
    response = info.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    assert response["Error"].get("Message"), response


def assert_members(shape_name: str, value: dict[str, Any]) -> None:
    """Every member the output shape requires is present, and nothing it does not declare."""
    shape = MODEL.shape_for(shape_name)
    missing = set(shape.required_members) - set(value)
    assert not missing, f"{shape_name} lacks {missing}: {value}"
    unknown = set(value) - set(shape.members)
    assert not unknown, f"{shape_name} has undeclared {unknown}"


def assert_subset(expected: Any, actual: Any, path: str = "spec") -> None:
    """`actual` holds everything in `expected` (defaults may add members, never change ours)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing from {actual!r}"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(want, got, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_metadata(metadata: dict[str, Any], *, arn: str, account: str, version: int) -> None:
    assert_members("ResourceMetadata", metadata)
    assert metadata["arn"] == arn
    assert str(uuid.UUID(metadata["uid"])) == metadata["uid"].lower()
    assert metadata["version"] == version
    for stamp in ("createdAt", "lastUpdatedAt"):
        assert isinstance(metadata[stamp], dt.datetime) and metadata[stamp].tzinfo is not None
    assert re.fullmatch(r"\d{12}", metadata["meshOwner"])
    assert metadata["meshOwner"] == metadata["resourceOwner"] == account


def paged_names(
    fetch: Callable[..., dict[str, Any]], member: str, name_member: str, limit: int
) -> list[str]:
    """Walk a listing page by page; every page but the last is full."""
    names: list[str] = []
    token: str | None = None
    while True:
        page = fetch(limit=limit, **({"nextToken": token} if token else {}))
        items = page[member]
        token = page.get("nextToken")
        names += [item[name_member] for item in items]
        if not token:
            return names
        assert len(items) == limit, page


# -- the kinds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KindCase:
    member: str  # "virtualNode": the output member and the ARN segment
    op: str  # "virtual_node": the boto3 method suffix
    list_member: str
    arn_path: str  # format string over mesh, parent, name
    specs: tuple[dict[str, Any], ...]  # [0] for create, the rest for updates
    parent_member: str | None = None  # "virtualRouterName" for a route
    prepare: Callable[[Any, str], None] = lambda client, mesh: None  # what must exist first

    @property
    def name_member(self) -> str:
        return f"{self.member}Name"

    @property
    def shape(self) -> str:
        return self.member[0].upper() + self.member[1:]

    @property
    def is_mesh(self) -> bool:
        return self.member == "mesh"


def _mesh_children(client: Any, mesh: str) -> None:
    client.create_virtual_node(meshName=mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    client.create_virtual_router(meshName=mesh, virtualRouterName="vr", spec=ROUTER_SPECS[0])


def _gateway_and_service(client: Any, mesh: str) -> None:
    client.create_virtual_node(meshName=mesh, virtualNodeName="target", spec=NODE_SPECS[0])
    client.create_virtual_service(
        meshName=mesh,
        virtualServiceName="svc.local",
        spec={"provider": {"virtualNode": {"virtualNodeName": "target"}}},
    )
    client.create_virtual_gateway(meshName=mesh, virtualGatewayName="vg", spec=GATEWAY_SPECS[0])


def _health(port: int) -> dict[str, Any]:
    return {
        "protocol": "http",
        "path": "/ping",
        "port": port,
        "healthyThreshold": 2,
        "unhealthyThreshold": 3,
        "timeoutMillis": 2000,
        "intervalMillis": 5000,
    }


MESH_SPECS = (
    {"egressFilter": {"type": "ALLOW_ALL"}},
    {"egressFilter": {"type": "DROP_ALL"}},
    {"egressFilter": {"type": "ALLOW_ALL"}},
)
NODE_SPECS = (
    {
        "listeners": [{**HTTP_8080, "healthCheck": _health(8080)}],
        "serviceDiscovery": {"dns": {"hostname": "colorteller.local"}},
    },
    {"listeners": [HTTP_8080], "serviceDiscovery": {"dns": {"hostname": "colorteller-2.local"}}},
    {
        "listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": "colorteller-3.local"}},
    },
)
ROUTER_SPECS = (
    {"listeners": [HTTP_8080]},
    {"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]},
    {"listeners": [{"portMapping": {"port": 8080, "protocol": "http2"}}]},
)
ROUTE_SPECS = tuple(
    {
        "httpRoute": {
            "match": {"prefix": prefix},
            "action": {"weightedTargets": [{"virtualNode": "target", "weight": 100}]},
        }
    }
    for prefix in ("/", "/v2", "/v3")
)
SERVICE_SPECS = (
    {"provider": {"virtualRouter": {"virtualRouterName": "vr"}}},
    {"provider": {"virtualNode": {"virtualNodeName": "target"}}},
    {"provider": {"virtualRouter": {"virtualRouterName": "vr"}}},
)
GATEWAY_SPECS = (
    {"listeners": [HTTP_8080]},
    {"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]},
    {"listeners": [{**HTTP_8080, "healthCheck": _health(8080)}]},
)
GATEWAY_ROUTE_SPECS = tuple(
    {
        "httpRoute": {
            "match": {"prefix": prefix},
            "action": {"target": {"virtualService": {"virtualServiceName": "svc.local"}}},
        }
    }
    for prefix in ("/", "/v2", "/v3")
)

MESH = KindCase("mesh", "mesh", "meshes", "mesh/{name}", MESH_SPECS)
VIRTUAL_NODE = KindCase(
    "virtualNode", "virtual_node", "virtualNodes", "mesh/{mesh}/virtualNode/{name}", NODE_SPECS
)
VIRTUAL_ROUTER = KindCase(
    "virtualRouter",
    "virtual_router",
    "virtualRouters",
    "mesh/{mesh}/virtualRouter/{name}",
    ROUTER_SPECS,
)
ROUTE = KindCase(
    "route",
    "route",
    "routes",
    "mesh/{mesh}/virtualRouter/{parent}/route/{name}",
    ROUTE_SPECS,
    parent_member="virtualRouterName",
    prepare=_mesh_children,
)
VIRTUAL_SERVICE = KindCase(
    "virtualService",
    "virtual_service",
    "virtualServices",
    "mesh/{mesh}/virtualService/{name}",
    SERVICE_SPECS,
    prepare=_mesh_children,
)
VIRTUAL_GATEWAY = KindCase(
    "virtualGateway",
    "virtual_gateway",
    "virtualGateways",
    "mesh/{mesh}/virtualGateway/{name}",
    GATEWAY_SPECS,
)
GATEWAY_ROUTE = KindCase(
    "gatewayRoute",
    "gateway_route",
    "gatewayRoutes",
    "mesh/{mesh}/virtualGateway/{parent}/gatewayRoute/{name}",
    GATEWAY_ROUTE_SPECS,
    parent_member="virtualGatewayName",
    prepare=_gateway_and_service,
)

ALL_KINDS = (
    MESH,
    VIRTUAL_NODE,
    VIRTUAL_ROUTER,
    ROUTE,
    VIRTUAL_SERVICE,
    VIRTUAL_GATEWAY,
    GATEWAY_ROUTE,
)
PARENT_NAMES = {"virtualRouterName": "vr", "virtualGatewayName": "vg"}

# One model constraint broken per kind (so the refusal never depends on the semantic rules).
INVALID_SPECS: dict[str, dict[str, Any]] = {
    "mesh": {"egressFilter": {"type": "BOGUS"}},
    "virtualNode": {
        "listeners": [{"portMapping": {"port": 0, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": "colorteller.local"}},
    },
    "virtualRouter": {"listeners": [{"portMapping": {"port": 70000, "protocol": "http"}}]},
    "route": {
        "httpRoute": {
            "match": {"prefix": "/"},
            "action": {"weightedTargets": [{"virtualNode": "target", "weight": 101}]},
        }
    },
    "virtualService": {
        "provider": {
            "virtualNode": {"virtualNodeName": "target"},
            "virtualRouter": {"virtualRouterName": "vr"},
        }
    },
    "virtualGateway": {"listeners": [{"portMapping": {"port": 8080, "protocol": "tcp"}}]},
    "gatewayRoute": {**GATEWAY_ROUTE_SPECS[0], "priority": 1001},
}


# -- one kind in one fresh mesh ----------------------------------------------------------


@dataclass
class Scene:
    client: Any
    kind: KindCase
    account: str
    region: str
    mesh: str  # the mesh the resources live in (for the mesh kind: a name prefix)
    extra: dict[str, str] = field(default_factory=dict)  # parent names, meshOwner

    @classmethod
    def build(cls, client: Any, kind: KindCase, account: str, unique: str) -> Scene:
        mesh = unique[:60]
        scene = cls(client, kind, account, client.meta.region_name, mesh)
        if not kind.is_mesh:
            client.create_mesh(meshName=mesh)
            kind.prepare(client, mesh)
        if kind.parent_member:
            scene.extra[kind.parent_member] = PARENT_NAMES[kind.parent_member]
        return scene

    def ids(self, name: str) -> dict[str, str]:
        if self.kind.is_mesh:
            return {"meshName": name}
        return {"meshName": self.mesh, **self.extra, self.kind.name_member: name}

    def parent_ids(self) -> dict[str, str]:
        return {} if self.kind.is_mesh else {"meshName": self.mesh, **self.extra}

    def arn(self, name: str) -> str:
        path = self.kind.arn_path.format(
            mesh=self.mesh, name=name, parent=self.extra.get(self.kind.parent_member or "", "")
        )
        return f"arn:aws:appmesh:{self.region}:{self.account}:{path}"

    def call(self, verb: str, **kwargs: Any) -> Any:
        return getattr(self.client, f"{verb}_{self.kind.op}")(**kwargs)

    def create(self, name: str, variant: int = 0, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("spec", self.kind.specs[variant])
        return self.call("create", **self.ids(name), **kwargs)[self.kind.member]

    def describe(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("describe", **self.ids(name), **kwargs)[self.kind.member]

    def update(self, name: str, variant: int = 1, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("spec", self.kind.specs[variant])
        return self.call("update", **self.ids(name), **kwargs)[self.kind.member]

    def delete(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("delete", **self.ids(name), **kwargs)[self.kind.member]

    def list(self, **kwargs: Any) -> dict[str, Any]:
        plural = self.kind.list_member
        method = getattr(self.client, xform_name("List" + plural[0].upper() + plural[1:]))
        return method(**self.parent_ids(), **kwargs)  # type: ignore[no-any-return]

    def listed_names(self) -> list[str]:
        return [ref[self.kind.name_member] for ref in self.list()[self.kind.list_member]]

    def name(self, suffix: str) -> str:
        return f"{self.mesh}-{suffix}" if self.kind.is_mesh else suffix


# -- what every kind must do -------------------------------------------------------------


class KindContract:
    """The tests every kind passes; subclasses set `kind`."""

    kind: ClassVar[KindCase]

    @pytest.fixture
    def scene(self, appmesh: Any, account: str, unique: str) -> Scene:
        return Scene.build(appmesh, self.kind, account, unique)

    def test_create_returns_every_documented_member_at_version_1(self, scene: Scene) -> None:
        name = scene.name("one")
        data = scene.create(name)
        assert_members(f"{scene.kind.shape}Data", data)
        assert data[scene.kind.name_member] == name
        if not scene.kind.is_mesh:
            assert data["meshName"] == scene.mesh
        for parent, value in scene.extra.items():
            assert data[parent] == value
        assert_metadata(data["metadata"], arn=scene.arn(name), account=scene.account, version=1)
        assert data["metadata"]["createdAt"] == data["metadata"]["lastUpdatedAt"]
        assert data["status"] == {"status": "ACTIVE"}
        assert_subset(scene.kind.specs[0], data["spec"])

    def test_describe_returns_what_create_returned(self, scene: Scene) -> None:
        created = scene.create(scene.name("one"))
        assert scene.describe(scene.name("one")) == created

    def test_each_resource_gets_its_own_uuid(self, scene: Scene) -> None:
        uids = {scene.create(scene.name(f"r{i}"))["metadata"]["uid"] for i in range(3)}
        assert len(uids) == 3

    def test_update_adds_one_to_the_version_and_moves_only_last_updated_at(
        self, scene: Scene
    ) -> None:
        name = scene.name("one")
        first = scene.create(name)["metadata"]
        previous = first
        for version, variant in ((2, 1), (3, 2), (4, 1)):
            data = scene.update(name, variant)
            meta = data["metadata"]
            assert_metadata(meta, arn=scene.arn(name), account=scene.account, version=version)
            assert meta["uid"] == first["uid"]
            assert meta["createdAt"] == first["createdAt"]
            assert meta["lastUpdatedAt"] > previous["lastUpdatedAt"]
            assert data["status"] == {"status": "ACTIVE"}
            assert_subset(scene.kind.specs[variant], data["spec"])
            assert scene.describe(name) == data
            previous = meta

    def test_delete_returns_the_resource_as_deleted_and_it_is_gone(self, scene: Scene) -> None:
        name = scene.name("one")
        created = scene.create(name)
        deleted = scene.delete(name)
        assert deleted["status"] == {"status": "DELETED"}
        assert deleted["metadata"]["uid"] == created["metadata"]["uid"]
        assert deleted["metadata"]["arn"] == scene.arn(name)
        assert deleted["spec"] == created["spec"]
        assert name not in scene.listed_names()
        with aws_error("NotFoundException", 404):
            scene.describe(name)
        with aws_error("NotFoundException", 404):
            scene.delete(name)

    def test_a_deleted_name_can_be_created_again_as_a_new_resource(self, scene: Scene) -> None:
        name = scene.name("one")
        first = scene.create(name, tags=[{"key": "k", "value": "v"}])
        scene.update(name)
        scene.delete(name)
        again = scene.create(name)
        assert again["metadata"]["version"] == 1
        assert again["metadata"]["uid"] != first["metadata"]["uid"]
        assert scene.client.list_tags_for_resource(resourceArn=scene.arn(name))["tags"] == []

    @pytest.fixture
    def unchecked(self, scene: Scene, server: Any) -> Scene:
        """The same scene through a client that leaves validation to the server."""
        client = server.client(
            "appmesh",
            aws_access_key_id=scene.account,
            config_kwargs={"parameter_validation": False},
        )
        return dataclasses.replace(scene, client=client)

    def test_a_refused_create_stores_nothing(self, unchecked: Scene) -> None:
        name = unchecked.name("bad")
        with aws_error("BadRequestException", 400):
            unchecked.create(name, spec=INVALID_SPECS[unchecked.kind.member])
        assert name not in unchecked.listed_names()
        with aws_error("NotFoundException", 404):
            unchecked.describe(name)

    def test_refused_writes_and_reads_change_nothing(self, unchecked: Scene) -> None:
        name = unchecked.name("one")
        created = unchecked.create(name, tags=[{"key": "k", "value": "v"}])
        with aws_error("BadRequestException", 400):
            unchecked.update(name, spec=INVALID_SPECS[unchecked.kind.member])
        with aws_error("ConflictException", 409):
            unchecked.create(name)
        unchecked.list()
        unchecked.client.list_tags_for_resource(resourceArn=unchecked.arn(name))
        assert unchecked.describe(name) == created

    def test_a_taken_name_is_a_conflict(self, scene: Scene) -> None:
        scene.create(scene.name("one"))
        with aws_error("ConflictException", 409):
            scene.create(scene.name("one"), variant=1)
        assert scene.describe(scene.name("one"))["metadata"]["version"] == 1

    def test_a_missing_resource_is_not_found(self, scene: Scene) -> None:
        name = scene.name("ghost")
        with aws_error("NotFoundException", 404):
            scene.describe(name)
        with aws_error("NotFoundException", 404):
            scene.update(name)
        with aws_error("NotFoundException", 404):
            scene.delete(name)
        with aws_error("NotFoundException", 404):
            scene.client.list_tags_for_resource(resourceArn=scene.arn(name))

    def test_a_missing_mesh_is_not_found_for_every_operation(self, scene: Scene) -> None:
        scene.mesh = scene.mesh + "-absent"
        with aws_error("NotFoundException", 404):
            scene.create("x")
        with aws_error("NotFoundException", 404):
            scene.describe("x")
        with aws_error("NotFoundException", 404):
            scene.update("x")
        with aws_error("NotFoundException", 404):
            scene.delete("x")
        with aws_error("NotFoundException", 404):
            scene.list()

    def test_a_client_token_replays_the_first_answer_for_the_same_create(
        self, scene: Scene
    ) -> None:
        name = scene.name("one")
        first = scene.create(name, clientToken="token-1")
        again = scene.create(name, clientToken="token-1")
        assert again == first
        assert scene.listed_names().count(name) == 1
        assert scene.describe(name)["metadata"]["version"] == 1

    def test_a_client_token_reused_with_another_spec_is_a_conflict(self, scene: Scene) -> None:
        name = scene.name("one")
        scene.create(name, clientToken="token-1")
        with aws_error("ConflictException", 409):
            scene.create(name, variant=1, clientToken="token-1")
        assert scene.describe(name)["metadata"]["version"] == 1

    def test_an_update_replayed_with_its_token_makes_no_new_version(self, scene: Scene) -> None:
        name = scene.name("one")
        scene.create(name)
        first = scene.update(name, 1, clientToken="update-1")
        again = scene.update(name, 1, clientToken="update-1")
        assert again == first
        assert scene.describe(name)["metadata"]["version"] == 2
        with aws_error("ConflictException", 409):
            scene.update(name, 2, clientToken="update-1")
        assert scene.describe(name)["metadata"]["version"] == 2

    def test_the_mesh_owner_parameter_is_accepted(self, scene: Scene) -> None:
        name = scene.name("one")
        if scene.kind.is_mesh:
            scene.create(name)
            assert scene.describe(name, meshOwner=scene.account)["meshName"] == name
            return
        owner = {"meshOwner": scene.account}
        created = scene.create(name, **owner)
        assert created["metadata"]["meshOwner"] == scene.account
        assert scene.describe(name, **owner) == created
        assert scene.update(name, **owner)["metadata"]["version"] == 2
        listed = scene.list(**owner)[scene.kind.list_member]
        assert name in [ref[scene.kind.name_member] for ref in listed]
        assert scene.delete(name, **owner)["status"]["status"] == "DELETED"

    def test_list_returns_references_with_every_documented_member(self, scene: Scene) -> None:
        name = scene.name("one")
        created = scene.create(name)
        page = scene.list()
        assert "nextToken" not in page
        refs = [r for r in page[scene.kind.list_member] if r[scene.kind.name_member] == name]
        assert len(refs) == 1
        ref = refs[0]
        assert_members(f"{scene.kind.shape}Ref", ref)
        meta = created["metadata"]
        for key in ("arn", "createdAt", "lastUpdatedAt", "meshOwner", "resourceOwner", "version"):
            assert ref[key] == meta[key]
        assert "uid" not in ref and "spec" not in ref

    def test_list_pages_cover_everything_once_in_a_stable_order(self, scene: Scene) -> None:
        names = [scene.name(f"p{i}") for i in range(7)]
        for name in names:
            scene.create(name)
        everything = scene.listed_names()
        assert [n for n in everything if n in names] == names  # creation order
        for limit in (1, 2, 3, 100):
            paged = paged_names(scene.list, scene.kind.list_member, scene.kind.name_member, limit)
            assert paged == everything

    def test_pages_stay_complete_while_resources_are_added(self, scene: Scene) -> None:
        names = [scene.name(f"p{i}") for i in range(6)]
        for name in names:
            scene.create(name)
        before = scene.listed_names()
        seen: list[str] = []
        token: str | None = None
        added = 0
        while True:
            page = scene.list(limit=2, **({"nextToken": token} if token else {}))
            seen += [r[scene.kind.name_member] for r in page[scene.kind.list_member]]
            token = page.get("nextToken")
            if not token:
                break
            if added < 3:
                scene.create(scene.name(f"late{added}"))
                added += 1
        assert len(seen) == len(set(seen)), seen
        assert seen[: len(before)] == before
        assert set(seen) <= set(before) | {scene.name(f"late{i}") for i in range(added)}

    def test_an_invalid_next_token_is_a_bad_request(self, scene: Scene) -> None:
        with aws_error("BadRequestException", 400):
            scene.list(nextToken="not-a-token")

    def test_tags_given_at_create_are_listed(self, scene: Scene) -> None:
        name = scene.name("one")
        tags = [{"key": "team", "value": "color"}, {"key": "env", "value": ""}]
        scene.create(name, tags=tags)
        listed = scene.client.list_tags_for_resource(resourceArn=scene.arn(name))["tags"]
        assert sorted(listed, key=lambda t: t["key"]) == sorted(tags, key=lambda t: t["key"])
