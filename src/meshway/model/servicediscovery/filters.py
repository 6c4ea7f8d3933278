"""The `Filters` of ListNamespaces, ListServices and ListOperations, checked and applied.

Which conditions each filter name supports comes from the NamespaceFilter, ServiceFilter and
OperationFilter documentation (servicediscovery 2017-03-14): EQ (the default, one value), IN
(one or more values), BEGINS_WITH (one value) and BETWEEN (two epoch-second dates, start first).
A filter that asks for an unsupported condition, or the wrong number of values, is InvalidInput.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

EQ, IN, BEGINS_WITH, BETWEEN = "EQ", "IN", "BEGINS_WITH", "BETWEEN"

NAMESPACE_CONDITIONS: Mapping[str, frozenset[str]] = {
    "TYPE": frozenset({EQ, IN, BEGINS_WITH}),
    "NAME": frozenset({EQ, BEGINS_WITH}),
    "HTTP_NAME": frozenset({EQ, BEGINS_WITH}),
    "RESOURCE_OWNER": frozenset({EQ}),
}
SERVICE_CONDITIONS: Mapping[str, frozenset[str]] = {
    "NAMESPACE_ID": frozenset({EQ}),
    "RESOURCE_OWNER": frozenset({EQ}),
}
OPERATION_CONDITIONS: Mapping[str, frozenset[str]] = {
    "NAMESPACE_ID": frozenset({EQ}),
    "SERVICE_ID": frozenset({EQ}),
    "STATUS": frozenset({EQ, IN}),
    "TYPE": frozenset({EQ, IN}),
    "UPDATE_DATE": frozenset({BETWEEN}),
}
_COUNTS = {EQ: (1, 1), BEGINS_WITH: (1, 1), BETWEEN: (2, 2), IN: (1, 1_000)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    name: str
    condition: str
    values: tuple[str, ...]

    def accepts(self, value: str | float | None) -> bool:
        if value is None:
            return False
        if self.condition == BETWEEN:
            start, end = (float(v) for v in self.values)
            return start <= float(value) <= end
        text = str(value)
        if self.condition == BEGINS_WITH:
            return text.startswith(self.values[0])
        return text in self.values


def parse_filters(
    given: Sequence[Mapping[str, Any]] | None, conditions: Mapping[str, frozenset[str]]
) -> list[Filter] | str:
    """The filters, or the message of the InvalidInput error they deserve."""
    parsed = []
    for raw in given or ():
        one = _parse(raw, conditions)
        if isinstance(one, str):
            return one
        parsed.append(one)
    return parsed


def _parse(raw: Mapping[str, Any], conditions: Mapping[str, frozenset[str]]) -> Filter | str:
    name, condition = str(raw["Name"]), str(raw.get("Condition") or EQ)
    values = tuple(str(v) for v in raw["Values"])
    if condition not in conditions.get(name, frozenset()):
        return f"Condition {condition} is not supported for filter {name}."
    low, high = _COUNTS[condition]
    if not low <= len(values) <= high:
        return f"Filter {name} with condition {condition} takes {_count(low, high)}."
    if condition == BETWEEN and not all(_is_number(v) for v in values):
        return f"Filter {name} takes dates in Unix time."
    return Filter(name=name, condition=condition, values=values)


def _count(low: int, high: int) -> str:
    if low == high:
        return f"{low} value" + ("s" if low > 1 else "")
    return "one or more values"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def matching(
    items: Sequence[T], filters: Sequence[Filter], field: Callable[[T, str], str | float | None]
) -> list[T]:
    """The items every filter accepts; `field(item, filter name)` reads the filtered value."""
    return [item for item in items if all(f.accepts(field(item, f.name)) for f in filters)]
