"""Validate decoded request parameters against a botocore input shape, as AWS's front end does.

Checks what the model states: required members, types, enums, string and list lengths, number
ranges, patterns and unions (exactly one member). Messages follow AWS's validation wording
("1 validation error detected: Value 'x' at 'spec.listeners.1.member.port' failed to satisfy
constraint: Member must ..."), with list positions counted from 1 as AWS counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from botocore.model import Shape

_MAX_SHOWN = 10

_INTEGER_TYPES = frozenset({"integer", "long"})
_FLOAT_TYPES = frozenset({"float", "double"})


@lru_cache(maxsize=512)
def _pattern(expr: str) -> re.Pattern[str] | None:
    try:
        return re.compile(expr)
    except re.error:
        return None  # a pattern Python cannot read (rare in the models) is not enforced


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 256 else "'" + value[:256] + "...'"
    if isinstance(value, bool):
        return "'true'" if value else "'false'"
    if isinstance(value, (int, float)):
        return f"'{value}'"
    if isinstance(value, (list, dict)) and not value:
        return "'[]'" if isinstance(value, list) else "'{}'"
    return "'" + type(value).__name__ + "'"


class ShapeValidator:
    """Walks one value against one shape and yields `(path, value, constraint)` violations."""

    def errors(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        method = getattr(self, "_" + shape.type_name, None)
        if method is not None:
            yield from method(shape, value, path)

    def _structure(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if not isinstance(value, dict):
            yield path, value, "Member must be a structure"
            return
        for name in shape.required_members:
            if value.get(name) is None:
                yield _join(path, name), None, "Member must not be null"
        members = shape.members
        present = [k for k, v in value.items() if k in members and v is not None]
        if shape.metadata.get("union") and len(present) != 1:
            yield path, value, "Member must have exactly one member set (union)"
        for key in present:
            yield from self.errors(members[key], value[key], _join(path, key))

    def _list(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if not isinstance(value, list):
            yield path, value, "Member must be a list"
            return
        yield from _length(shape, value, path)
        for index, item in enumerate(value, start=1):
            item_path = f"{path}.{index}.member"
            if item is None:
                yield item_path, None, "Member must not be null"
            else:
                yield from self.errors(shape.member, item, item_path)

    def _map(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if not isinstance(value, dict):
            yield path, value, "Member must be a map"
            return
        yield from _length(shape, value, path)
        for key, item in value.items():
            yield from self.errors(shape.key, key, f"{path}.key")
            yield from self.errors(shape.value, item, f"{path}.{key}")

    def _string(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if not isinstance(value, str):
            yield path, value, "Member must be a string"
            return
        enum = shape.enum
        if enum and value not in enum:
            yield path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]"
            return
        yield from _length(shape, value, path)
        expr = shape.metadata.get("pattern")
        if expr:
            compiled = _pattern(expr)
            if compiled is not None and compiled.search(value) is None:
                yield path, value, f"Member must satisfy regular expression pattern: {expr}"

    def _integer(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if isinstance(value, bool) or not isinstance(value, int):
            yield path, value, "Member must be an integer"
            return
        yield from _range(shape, value, path)

    _long = _integer

    def _float(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            yield path, value, "Member must be a number"
            return
        yield from _range(shape, value, path)

    _double = _float

    def _boolean(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if not isinstance(value, bool):
            yield path, value, "Member must be a boolean"

    def _timestamp(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            yield path, value, "Member must be a timestamp"

    def _blob(self, shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
        if not isinstance(value, (str, bytes)):
            yield path, value, "Member must be a blob"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _length(shape: Shape, value: Any, path: str) -> Iterator[tuple[str, Any, str]]:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and len(value) < low:
        yield path, value, f"Member must have length greater than or equal to {low}"
    if high is not None and len(value) > high:
        yield path, value, f"Member must have length less than or equal to {high}"


def _range(shape: Shape, value: float, path: str) -> Iterator[tuple[str, Any, str]]:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and value < low:
        yield path, value, f"Member must have value greater than or equal to {low}"
    if high is not None and value > high:
        yield path, value, f"Member must have value less than or equal to {high}"


_VALIDATOR = ShapeValidator()


def validation_message(shape: Shape | None, params: dict[str, Any]) -> str | None:
    """AWS's message for every violation in `params`, or None when they are valid."""
    if shape is None:
        return None
    found = list(_VALIDATOR.errors(shape, params, ""))
    if not found:
        return None
    count = len(found)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(
        f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}"
        for path, value, constraint in found[:_MAX_SHOWN]
    )
    return f"{count} validation {noun} detected: {details}"
