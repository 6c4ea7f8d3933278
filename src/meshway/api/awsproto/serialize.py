"""Shape-driven output: only members the model declares leave the server, in their wire types.

Services return wire-form dictionaries (camelCase, epoch-second floats); this walk drops anything
the output shape does not declare (so internal fields can never leak) and converts the few types
that need it (datetime → epoch seconds, bytes → base64).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from botocore.model import Shape


def serialize(shape: Shape | None, value: Any) -> Any:
    if shape is None or value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, value)
    if kind == "list":
        return [serialize(shape.member, item) for item in value]
    if kind == "map":
        return {key: serialize(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return _timestamp(value)
    if kind == "blob":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return value


def _structure(shape: Shape, value: dict[str, Any]) -> dict[str, Any]:
    members = shape.members
    out: dict[str, Any] = {}
    for key, item in value.items():
        member = members.get(key)
        if member is None or item is None:
            continue
        out[member.serialization.get("name", key)] = serialize(member, item)
    return out


def _timestamp(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value
