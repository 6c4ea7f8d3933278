"""Which snapshot an Envoy gets: its node → the cache key.

DESIGN.md's contract: the node id is `mesh/<mesh>/virtualNode/<name>`,
`mesh/<mesh>/virtualGateway/<name>` or the full ARN. Both name one resource, so both map to its
ARN; the short form takes account and region from the node's metadata (the sidecar agent sets
`aws.appmesh.account` from the task, and `locality.region` from AWS_REGION). Anything else keys
by the node id as given (it gets the empty snapshot unless someone publishes under it).
"""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2

from meshway.core import arns

KINDS = ("virtualNode", "virtualGateway")
ACCOUNT_KEY = "aws.appmesh.account"


def _short(node_id: str) -> tuple[str, str, str] | None:
    bits = node_id.split("/")
    if len(bits) == 4 and bits[0] == "mesh" and bits[2] in KINDS and bits[1] and bits[3]:
        return bits[1], bits[2], bits[3]
    return None


def resource_arn(node: base_pb2.Node) -> str | None:
    """The virtual node or gateway the Envoy stands for, as an ARN; None when unknown."""
    parsed = arns.parse(node.id)
    if parsed is not None:
        short = _short(parsed.resource)
        return node.id if parsed.service == "appmesh" and short is not None else None
    short = _short(node.id)
    if short is None:
        return None
    fields = node.metadata.fields
    account = fields[ACCOUNT_KEY].string_value if ACCOUNT_KEY in fields else ""
    region = node.locality.region or arns.DEFAULT_REGION
    return arns.build("appmesh", region, account or arns.DEFAULT_ACCOUNT, node.id)


def node_key(node: base_pb2.Node) -> str:
    return resource_arn(node) or str(node.id)
