"""Node → cache key: both id forms of DESIGN.md's contract name one virtual node."""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2
from google.protobuf import struct_pb2

from meshway.xds.nodes import node_key

ARN = "arn:aws:appmesh:us-west-2:111122223333:mesh/shop/virtualNode/front"


def node(node_id: str, *, account: str = "", region: str = "") -> base_pb2.Node:
    metadata = struct_pb2.Struct()
    if account:
        metadata.update({"aws.appmesh.account": account})
    return base_pb2.Node(id=node_id, metadata=metadata, locality=base_pb2.Locality(region=region))


def test_an_arn_node_id_is_its_own_key() -> None:
    assert node_key(node(ARN)) == ARN


def test_the_short_form_becomes_the_arn_with_the_tasks_account_and_region() -> None:
    short = node("mesh/shop/virtualNode/front", account="111122223333", region="us-west-2")
    assert node_key(short) == ARN


def test_the_short_form_without_metadata_uses_the_default_account_and_region() -> None:
    key = node_key(node("mesh/shop/virtualGateway/gw"))
    assert key == "arn:aws:appmesh:us-east-1:000000000000:mesh/shop/virtualGateway/gw"


def test_any_other_id_is_keyed_as_given() -> None:
    assert node_key(node("front")) == "front"
    assert node_key(node("arn:aws:ecs:us-west-2:1:task/x")) == "arn:aws:ecs:us-west-2:1:task/x"
