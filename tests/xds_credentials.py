"""xDS proxy credentials for scripted ADS clients (xds/credentials.py): minted with the key a
server keeps in its data directory, for whatever node the client presents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from envoy.config.core.v3 import base_pb2

from meshway.xds.credentials import EXTERNAL, ProxyCredentials
from meshway.xds.nodes import node_key

Minter = Callable[[base_pb2.Node], str]


def minter(
    source: Path | ProxyCredentials,
    subject: str = EXTERNAL + "tests",
    key_of: Callable[[base_pb2.Node], str] = node_key,
) -> Minter:
    """Tokens for the node a client presents, from a data directory or a key in memory
    (`key_of`: the server's node → cache key mapping)."""
    credentials = ProxyCredentials.load(source) if isinstance(source, Path) else source
    return lambda node: credentials.mint(subject=subject, node=key_of(node))


def token(source: Path | ProxyCredentials, node_id: str, subject: str = EXTERNAL + "tests") -> str:
    """A token for a node presented with no metadata (default account and region)."""
    return minter(source, subject)(base_pb2.Node(id=node_id))
