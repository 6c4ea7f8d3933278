"""Whether a trace matches a parsed filter expression (`filters.py` makes the AST).

Scopes follow the console's reading (docs/xray-console-filters.md): at the top level, outcome,
number and `http.*` keywords test the trace's root segment, while identity keywords (`name`,
`user`, `type`, ...) and annotations match if any document of the trace does. Inside
`service(...){...}` they test each of that service's own segments (or an inferred node's
subsegment), inside `edge(a, b){...}` each call from a to b, as the service graph counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from meshway.model.xray.filters import (
    And,
    Annotation,
    Compare,
    Edge,
    Expr,
    FilterError,
    Flag,
    Group,
    Not,
    Op,
    Or,
    Service,
    ServiceId,
    Value,
)
from meshway.model.xray.graph import Hops, ServiceKey, hops
from meshway.model.xray.traces import Trace, child, end_of, walk

GroupLookup = Callable[[str, str], Expr]  # ("name" | "arn", value) → the group's expression


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    doc: dict[str, Any]  # outcome, number and http keywords test this document
    identities: tuple[dict[str, Any], ...]  # name, user, type... match if any of these does
    annotated: tuple[dict[str, Any], ...]  # where annotations are looked up
    trace: Trace
    hops: Hops
    root: bool
    inferred: bool
    partial: bool


@dataclass(frozen=True, slots=True)
class Matcher:
    """Evaluates expressions for one account (`id(account.id: ...)` compares with it)."""

    account: str
    groups: GroupLookup

    def matches(self, expr: Expr, trace: Trace) -> bool:
        found = hops(trace)
        root = trace.root
        if root is None:
            return False
        everything = tuple(d for s in trace.segments for d in walk(s))
        scope = Scope(
            doc=root,
            identities=trace.segments,
            annotated=everything,
            trace=trace,
            hops=found,
            root=True,
            inferred=bool(found.inferred),
            partial=trace.partial,
        )
        return self._eval(expr, scope)

    def _eval(self, expr: Expr, scope: Scope) -> bool:
        match expr:
            case And(left, right):
                return self._eval(left, scope) and self._eval(right, scope)
            case Or(left, right):
                return self._eval(left, scope) or self._eval(right, scope)
            case Not(operand):
                return not self._eval(operand, scope)
            case Flag(keyword, expected):
                return flag(keyword, scope) is expected
            case Compare(keyword, op, value):
                return any(compare(op, found, value) for found in keyword_values(keyword, scope))
            case Annotation():
                return annotation(expr, scope)
            case Service(ident, inner):
                return any(
                    inner is None or self._eval(inner, sub) for sub in self._services(ident, scope)
                )
            case Edge(source, target, inner):
                return any(
                    inner is None or self._eval(inner, sub)
                    for sub in self._edges(source, target, scope)
                )
            case Group(by, value):
                return self._eval(self.groups(by, value), scope)
        raise FilterError(f"cannot evaluate {expr!r}")  # pragma: no cover - exhaustive above

    def _matches_id(self, ident: ServiceId, key: ServiceKey) -> bool:
        return id_matches(ident, key, self.account)

    def _services(self, ident: ServiceId, scope: Scope) -> Iterator[Scope]:
        found = scope.hops
        for key, segment in found.entries:
            if self._matches_id(ident, key):
                yield _narrow(scope, segment, root=key in found.roots, inferred=False)
        for key, sub in found.inferred:
            if self._matches_id(ident, key):
                yield _narrow(scope, sub, root=False, inferred=True)

    def _edges(self, source: ServiceId, target: ServiceId, scope: Scope) -> Iterator[Scope]:
        inferred = {key for key, _ in scope.hops.inferred}
        for link in scope.hops.links:
            if self._matches_id(source, link.source) and self._matches_id(target, link.target):
                yield _narrow(scope, link.doc, root=False, inferred=link.target in inferred)


def id_matches(ident: ServiceId, key: ServiceKey, account: str) -> bool:
    """Whether a `service(...)`/`edge(...)` argument names this service (unset parts match)."""
    return (
        (ident.name is None or ident.name == key.name)
        and (ident.type is None or ident.type == key.type)
        and (ident.account_id is None or ident.account_id == account)
    )


def _narrow(scope: Scope, doc: dict[str, Any], *, root: bool, inferred: bool) -> Scope:
    tree = tuple(walk(doc))
    return Scope(
        doc=doc,
        identities=(doc,),
        annotated=tree,
        trace=scope.trace,
        hops=scope.hops,
        root=root,
        inferred=inferred,
        partial=any(d.get("in_progress") is True for d in tree),
    )


def flag(keyword: str, scope: Scope) -> bool:
    doc = scope.doc
    if keyword == "partial":
        return scope.partial
    if keyword == "root":
        return scope.root
    if keyword == "inferred":
        return scope.inferred
    if keyword == "ok":
        ended = doc.get("end_time") is not None
        return ended and not any(doc.get(f) for f in ("error", "throttle", "fault"))
    return doc.get(keyword) is True


def keyword_values(keyword: str, scope: Scope) -> list[Value]:
    """The values a keyword has in this scope (several when it matches any of many documents)."""
    doc = scope.doc
    request, response = child(doc, "http", "request"), child(doc, "http", "response")
    single: dict[str, Any] = {
        "responsetime": end_of(doc) - float(doc["start_time"]) if doc.get("end_time") else None,
        "duration": scope.trace.duration,
        "http.status": response.get("status"),
        "http.url": request.get("url"),
        "http.method": request.get("method"),
        "http.useragent": request.get("user_agent"),
        "http.clientip": request.get("client_ip"),
    }
    if keyword in single:
        value = single[keyword]
        return [] if value is None else [value]
    found = [identity(keyword, d) for d in scope.identities]
    return [v for values in found for v in values]


def identity(keyword: str, doc: dict[str, Any]) -> list[Value]:
    ec2 = child(doc, "aws", "ec2")
    if keyword == "message":
        return [
            str(e["message"])
            for d in walk(doc)
            for e in (child(d, "cause").get("exceptions") or [])
            if isinstance(e, dict) and "message" in e
        ]
    value = {
        "user": doc.get("user"),
        "name": doc.get("name"),
        "type": doc.get("origin"),
        "availabilityzone": ec2.get("availability_zone"),
        "instance.id": ec2.get("instance_id"),
        "resource.arn": doc.get("resource_arn"),
    }.get(keyword)
    return [] if value is None else [value]


def annotation(expr: Annotation, scope: Scope) -> bool:
    values = [
        d["annotations"][expr.key]
        for d in scope.annotated
        if isinstance(d.get("annotations"), dict) and expr.key in d["annotations"]
    ]
    if expr.op is None or expr.value is None:
        return bool(values)
    return any(compare(expr.op, value, expr.value) for value in values)


def compare(op: Op, found: Any, wanted: Value) -> bool:
    """`found <op> wanted`, false when their types differ (a number is never a string)."""
    if isinstance(wanted, bool) or isinstance(found, bool):
        if not (isinstance(found, bool) and isinstance(wanted, bool)):
            return False
        return (found == wanted) if op is Op.EQ else (found != wanted) if op is Op.NE else False
    if isinstance(wanted, float):
        if not isinstance(found, int | float):
            return False
        return _numbers(op, float(found), wanted)
    if not isinstance(found, str):
        return False
    match op:
        case Op.EQ:
            return found == wanted
        case Op.NE:
            return found != wanted
        case Op.CONTAINS:
            return wanted in found
        case Op.BEGINSWITH:
            return found.startswith(wanted)
        case Op.ENDSWITH:
            return found.endswith(wanted)
    return False


def _numbers(op: Op, found: float, wanted: float) -> bool:
    return {
        Op.EQ: found == wanted,
        Op.NE: found != wanted,
        Op.LT: found < wanted,
        Op.LE: found <= wanted,
        Op.GT: found > wanted,
        Op.GE: found >= wanted,
    }.get(op, False)
