"""Meshes through boto3: the contract every kind keeps, plus defaults, delete rules and quota."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.appmesh_kinds import (
    GATEWAY_SPECS,
    MESH,
    NODE_SPECS,
    ROUTER_SPECS,
    KindContract,
    aws_error,
)


class TestMesh(KindContract):
    kind = MESH
    test_a_missing_mesh_is_not_found_for_every_operation = None  # a mesh has no mesh above it


def test_a_mesh_created_without_a_spec_gets_the_documented_drop_all_egress(
    appmesh: Any, unique: str
) -> None:
    data = appmesh.create_mesh(meshName=unique)["mesh"]
    assert data["spec"]["egressFilter"] == {"type": "DROP_ALL"}
    assert appmesh.describe_mesh(meshName=unique)["mesh"]["spec"] == data["spec"]


def test_a_mesh_service_discovery_preference_round_trips(appmesh: Any, unique: str) -> None:
    spec = {
        "egressFilter": {"type": "ALLOW_ALL"},
        "serviceDiscovery": {"ipPreference": "IPv4_ONLY"},
    }
    assert appmesh.create_mesh(meshName=unique, spec=spec)["mesh"]["spec"] == spec
    assert appmesh.describe_mesh(meshName=unique)["mesh"]["spec"] == spec


CHILDREN = {
    "virtualNode": lambda c, m: c.create_virtual_node(
        meshName=m, virtualNodeName="child", spec=NODE_SPECS[0]
    ),
    "virtualRouter": lambda c, m: c.create_virtual_router(
        meshName=m, virtualRouterName="child", spec=ROUTER_SPECS[0]
    ),
    "virtualService": lambda c, m: c.create_virtual_service(
        meshName=m, virtualServiceName="child", spec={}
    ),
    "virtualGateway": lambda c, m: c.create_virtual_gateway(
        meshName=m, virtualGatewayName="child", spec=GATEWAY_SPECS[0]
    ),
}
DELETE_CHILD = {
    "virtualNode": lambda c, m: c.delete_virtual_node(meshName=m, virtualNodeName="child"),
    "virtualRouter": lambda c, m: c.delete_virtual_router(meshName=m, virtualRouterName="child"),
    "virtualService": lambda c, m: c.delete_virtual_service(meshName=m, virtualServiceName="child"),
    "virtualGateway": lambda c, m: c.delete_virtual_gateway(meshName=m, virtualGatewayName="child"),
}


@pytest.mark.parametrize("child", sorted(CHILDREN))
def test_a_mesh_with_a_child_cannot_be_deleted_until_the_child_is_gone(
    appmesh: Any, unique: str, child: str
) -> None:
    appmesh.create_mesh(meshName=unique)
    CHILDREN[child](appmesh, unique)
    with aws_error("ResourceInUseException", 409):
        appmesh.delete_mesh(meshName=unique)
    assert appmesh.describe_mesh(meshName=unique)["mesh"]["status"]["status"] == "ACTIVE"
    DELETE_CHILD[child](appmesh, unique)
    assert appmesh.delete_mesh(meshName=unique)["mesh"]["status"]["status"] == "DELETED"


def test_the_sixteenth_mesh_of_an_account_exceeds_the_quota(appmesh: Any, unique: str) -> None:
    for index in range(15):
        appmesh.create_mesh(meshName=f"{unique}-{index}")
    with aws_error("LimitExceededException", 400):
        appmesh.create_mesh(meshName=f"{unique}-15")
    with aws_error("NotFoundException", 404):
        appmesh.describe_mesh(meshName=f"{unique}-15")
    assert len(appmesh.list_meshes()["meshes"]) == 15
    appmesh.delete_mesh(meshName=f"{unique}-0")
    assert appmesh.create_mesh(meshName=f"{unique}-15")["mesh"]["metadata"]["version"] == 1


def test_meshes_belong_to_their_account(appmesh: Any, server: Any, unique: str) -> None:
    other = server.client("appmesh", aws_access_key_id="999999999999")
    appmesh.create_mesh(meshName=unique)
    assert unique not in [m["meshName"] for m in other.list_meshes()["meshes"]]
    with aws_error("NotFoundException", 404):
        other.describe_mesh(meshName=unique)
    assert appmesh.describe_mesh(meshName=unique)["mesh"]["meshName"] == unique
