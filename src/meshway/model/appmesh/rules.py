"""App Mesh's semantic rules beyond the model's constraints (filled in by the rules work)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshway.model.appmesh.kinds import KindName


def check_spec(
    kind: KindName,
    spec: Mapping[str, Any],
    *,
    router_spec: Mapping[str, Any] | None = None,
    gateway_spec: Mapping[str, Any] | None = None,
) -> None:
    """Raise BadRequestException for the first documented rule `spec` breaks."""


def with_defaults(kind: KindName, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec as AWS stores and returns it: documented defaults filled in."""
    result = dict(spec or {})
    if kind is KindName.MESH:
        result.setdefault("egressFilter", {"type": "DROP_ALL"})
    elif kind is KindName.VIRTUAL_NODE:
        result.setdefault("backends", [])
        result.setdefault("listeners", [])
    return result
