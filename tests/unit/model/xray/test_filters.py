"""Filter expressions: the parser's AST and errors, and which traces an expression matches."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    parse,
)
from meshway.model.xray.matching import Matcher
from meshway.model.xray.traces import Trace
from tests.unit.model.xray.docs import seg, sub, trace


def test_and_binds_tighter_than_or_and_parentheses_regroup() -> None:
    assert parse("ok OR fault AND error") == Or(Flag("ok"), And(Flag("fault"), Flag("error")))
    assert parse("(ok or fault) and error") == And(Or(Flag("ok"), Flag("fault")), Flag("error"))


def test_keywords_parse_into_typed_nodes() -> None:
    assert parse("responsetime >= 1.5") == Compare("responsetime", Op.GE, 1.5)
    assert parse('http.url CONTAINS "/color"') == Compare("http.url", Op.CONTAINS, "/color")
    assert parse('name beginswith "mesh/"') == Compare("name", Op.BEGINSWITH, "mesh/")
    assert parse("fault = false") == Flag("fault", expected=False)
    assert parse("error != true") == Flag("error", expected=False)
    assert parse("!partial") == Not(Flag("partial"))
    assert parse("annotation.direction") == Annotation("direction")
    assert parse('annotation.direction = "ingress"') == Annotation("direction", Op.EQ, "ingress")
    assert parse("annotation.retries > 2") == Annotation("retries", Op.GT, 2.0)
    assert parse('group.name = "prod"') == Group("name", "prod")
    assert parse('http.url = "a \\"quoted\\" b"') == Compare("http.url", Op.EQ, 'a "quoted" b')


def test_service_and_edge_take_names_or_ids_and_an_optional_filter() -> None:
    assert parse('service("mesh/front")') == Service(ServiceId(name="mesh/front"))
    assert parse("service() { fault }") == Service(ServiceId(), Flag("fault"))
    assert parse('service(id(name: "a", type: "AWS::AppMesh::Proxy")) { error }') == Service(
        ServiceId(name="a", type="AWS::AppMesh::Proxy"), Flag("error")
    )
    assert parse('edge("a", id(account.id: "123")) { responsetime > 1 }') == Edge(
        ServiceId(name="a"),
        ServiceId(account_id="123"),
        Compare("responsetime", Op.GT, 1.0),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "fault AND",
        "responsetime > fast",
        'responsetime CONTAINS "1"',
        "http.url > 3",
        "nosuchkeyword",
        'service("a"',
        'service("a") { fault',
        "ok ok",
        "fault = maybe",
        'edge("a")',
        'id(name: "a")',
        "annotation.bad-key",
        "responsetime > 1 $",
        'service(id(colour: "red"))',
    ],
)
def test_malformed_expressions_are_refused_with_a_position(text: str) -> None:
    with pytest.raises(FilterError):
        parse(text)


@given(st.text(max_size=60))
def test_arbitrary_text_either_parses_or_raises_filter_error(text: str) -> None:
    with contextlib.suppress(FilterError):
        parse(text)


def flights() -> list[Trace]:
    ok = trace(
        seg(
            1,
            "m/front",
            http={
                "request": {"url": "http://f/color", "method": "GET"},
                "response": {"status": 200},
            },
        ),
        seg(2, "m/backend", parent=1, annotations={"direction": "ingress", "retries": 0}),
    )
    slow_fault = trace(
        seg(1, "m/front", end=103.0, fault=True, http={"response": {"status": 503}}, user="ann"),
        seg(
            2, "m/backend", parent=1, fault=True, annotations={"direction": "ingress", "retries": 3}
        ),
    )
    remote = trace(
        seg(
            1,
            "app",
            origin="AWS::ECS::Container",
            subsegments=[sub(9, "x", namespace="remote", error=True)],
        ),
    )
    return [ok, slow_fault, remote]


def matching(text: str, groups: dict[str, str] | None = None) -> list[int]:
    def lookup(by: str, value: str) -> Expr:
        if groups is None or value not in groups:
            raise FilterError("no such group")
        return parse(groups[value])

    matcher = Matcher(account="123456789012", groups=lookup)
    expr = parse(text)
    return [i for i, t in enumerate(flights()) if matcher.matches(expr, t)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok", [0, 2]),
        ("fault", [1]),
        ("!fault", [0, 2]),
        ("responsetime > 1", [1]),
        ("duration < 1", [0, 2]),
        ("http.status = 503", [1]),
        ('http.url CONTAINS "color"', [0]),
        ('http.url CONTAINS ""', [0]),
        ('user = "ann"', [1]),
        ('name = "m/backend"', [0, 1]),
        ('type = "AWS::ECS::Container"', [2]),
        ("annotation.direction", [0, 1]),
        ("!annotation.direction", [2]),
        ("annotation.retries >= 1", [1]),
        ('annotation.direction = "egress"', []),
        ('service("m/backend")', [0, 1]),
        ('service("m/backend") { fault }', [1]),
        ('service("m/backend") { root }', []),
        ('service("m/front") { root AND ok }', [0]),
        ('service(id(type: "remote")) { error AND inferred }', [2]),
        ("inferred", [2]),
        ('edge("m/front", "m/backend") { fault }', [1]),
        ('edge("m/front", "m/backend")', [0, 1]),
        ('edge("app", "x")', [2]),
        ('service(id(name: "m/front", account.id: "999999999999"))', []),
        ('service(id(name: "m/front", account.id: "123456789012"))', [0, 1]),
        ("fault OR inferred", [1, 2]),
        ('group.name = "faulty"', [1]),
    ],
)
def test_expressions_match_the_traces_the_console_would_show(
    text: str, expected: list[int]
) -> None:
    assert matching(text, {"faulty": "fault"}) == expected


def test_an_unknown_group_is_an_error_at_evaluation() -> None:
    with pytest.raises(FilterError):
        matching('group.name = "nope"')


def test_partial_matches_traces_with_a_document_in_progress() -> None:
    matcher = Matcher(account="1", groups=lambda by, value: parse("ok"))
    partial: Any = trace(seg(1, "a"), seg(2, "b", parent=1, end=None))
    assert matcher.matches(parse("partial"), partial)
    assert not matcher.matches(parse("partial"), flights()[0])
