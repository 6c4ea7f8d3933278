"""Hypothesis strategies from botocore shapes: mostly valid inputs, now and then a violation.

`ShapeStrategies(overrides).of(shape)` walks a botocore `Shape` the way the server's validator
does (structures with required members and unions, lists, strings with enums, lengths and
patterns, bounded numbers) and draws values that satisfy it; at each node, with a small chance,
it draws a value that breaks exactly one constraint instead (a missing required member, a union
with two members, an out-of-range number, an unknown enum value, a string or list of the wrong
length, a scalar of the wrong JSON type), so that fuzzing reaches deep into valid specs and
still exercises every rejection.
`overrides` maps the names of string members (at any depth) to strategies, to aim names at
resources that exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botocore.model import Shape
from hypothesis import strategies as st

VIOLATION_PERCENT = 3  # per node: a spec of ~30 nodes is wrong somewhere about 6 times in 10
MAX_LIST = 3
MAX_TEXT = 24
NAME_ALPHABET = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
_BIG = 2**31 - 1

Strategy = st.SearchStrategy[Any]


def _sometimes(valid: Strategy, invalid: Strategy | None) -> Strategy:
    if invalid is None:
        return valid
    return st.integers(0, 99).flatmap(lambda n: invalid if n < VIOLATION_PERCENT else valid)


class ShapeStrategies:
    """Builds (and caches) one strategy per shape; shapes are walked lazily for recursion."""

    def __init__(
        self, overrides: Mapping[str, Strategy] | None = None, *, violations: bool = True
    ) -> None:
        self.overrides = dict(overrides or {})
        self.violations = violations
        self._cache: dict[str, Strategy] = {}

    def of(self, shape: Shape) -> Strategy:
        key = shape.name
        if key not in self._cache:
            self._cache[key] = st.deferred(lambda: self._build(shape))
        return self._cache[key]

    def _build(self, shape: Shape) -> Strategy:
        builder = getattr(self, "_" + shape.type_name, None)
        if builder is None:
            return st.none()
        valid, invalid = builder(shape)
        return _sometimes(valid, invalid if self.violations else None)

    def _member(self, name: str, shape: Shape) -> Strategy:
        override = self.overrides.get(name) if shape.type_name == "string" else None
        return override if override is not None else self.of(shape)

    # -- structures --------------------------------------------------------------------

    def _structure(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        members = {name: self._member(name, member) for name, member in shape.members.items()}
        if shape.metadata.get("union"):
            one = [st.fixed_dictionaries({name: s}) for name, s in members.items()]
            two = st.fixed_dictionaries(dict(list(members.items())[:2]))
            return st.one_of(one), two if len(members) > 1 else None
        required = {name: members[name] for name in shape.required_members}
        optional = {name: s for name, s in members.items() if name not in required}
        valid = st.fixed_dictionaries(required, optional=optional)
        if not required:
            return valid, None
        droppable = [
            n for n in required if shape.members[n].serialization.get("location") != "uri"
        ]  # a missing URI label is a malformed path, not a bad input
        if not droppable:
            return valid, None
        invalid = st.sampled_from(droppable).flatmap(
            lambda gone: st.fixed_dictionaries(
                {n: s for n, s in required.items() if n != gone}, optional=optional
            )
        )
        return valid, invalid

    # -- lists and maps ----------------------------------------------------------------

    def _list(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        low = shape.metadata.get("min", 0)
        high = shape.metadata.get("max")
        cap = min(high if high is not None else low + MAX_LIST, low + MAX_LIST)
        item = self.of(shape.member)
        valid = st.lists(item, min_size=low, max_size=cap)
        wrong: list[Strategy] = []
        if low > 0:
            wrong.append(st.lists(item, max_size=low - 1))
        if high is not None and high <= 60:
            wrong.append(st.lists(item, min_size=high + 1, max_size=high + 1))
        return valid, st.one_of(wrong) if wrong else None

    def _map(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        return st.dictionaries(self.of(shape.key), self.of(shape.value), max_size=MAX_LIST), None

    # -- scalars -----------------------------------------------------------------------

    def _string(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        if shape.enum:
            return st.sampled_from(list(shape.enum)), st.sampled_from(["BOGUS", "", "http ", 7])
        low = shape.metadata.get("min", 0)
        high = shape.metadata.get("max")
        top = max(low, min(high if high is not None else MAX_TEXT, MAX_TEXT))
        pattern = shape.metadata.get("pattern")
        valid: Strategy
        if pattern and _compiles(pattern):
            valid = st.from_regex(pattern, fullmatch=True).filter(
                lambda s: low <= len(s) <= (high or 10**6)
            )
        else:
            valid = st.text(NAME_ALPHABET, min_size=low, max_size=top)
        wrong: list[Strategy] = [st.integers(-1, 1)]  # the wrong JSON type
        if low > 0:
            wrong.append(st.just(""))
        if high is not None and high <= 4096:
            wrong.append(st.just("x" * (high + 1)))
        return valid, st.one_of(wrong) if wrong else None

    def _integer(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        low = shape.metadata.get("min", -_BIG)
        high = shape.metadata.get("max", _BIG)
        valid = st.integers(low, high)
        wrong: list[Strategy] = [st.sampled_from(["1", 1.5, True])]  # the wrong JSON type
        if "min" in shape.metadata:
            wrong.append(st.just(low - 1))
        if "max" in shape.metadata:
            wrong.append(st.just(high + 1))
        return valid, st.one_of(wrong) if wrong else None

    _long = _integer

    def _double(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        return st.floats(allow_nan=False, allow_infinity=False, width=32), None

    _float = _double

    def _boolean(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        return st.booleans(), st.sampled_from(["true", 0])

    def _timestamp(self, shape: Shape) -> tuple[Strategy, Strategy | None]:
        return st.integers(0, 2**31), None


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
