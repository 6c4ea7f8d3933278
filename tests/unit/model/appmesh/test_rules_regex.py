"""Regexes in route matches must be RE2, which Envoy compiles them with: what RE2 rejects
(lookaround, backreferences, possessive quantifiers, broken syntax) is a BadRequestException at
the API instead of a NACK at every caller's Envoy; what RE2 accepts passes, including its own
syntax Python's `re` does not know."""

from __future__ import annotations

from typing import Any

import pytest

from meshway.core.errors import BadRequestException
from meshway.model.appmesh.kinds import KindName
from meshway.model.appmesh.rules import check_spec
from meshway.model.appmesh.rules_common import regex_problem
from tests.unit.model.appmesh.specs import gateway_route, grpc_route, http_route

RE2_ACCEPTS = [
    "/items/[0-9]+",
    "^/api/v[12]/.*$",
    "(?i)admin",
    "a(?i)b",
    "(?P<id>[a-f0-9]{8})",
    "(?<id>[a-f0-9]{8})",
    "\\pL+",
    "\\p{Greek}+",
    "\\PN",
    "end\\z",
    "[[:alpha:]]+",
    "\\Q(literal)\\E",
    "a*?b+?c??",
    "[]a]",
    "x{2,5}",
    "(?U)a+",
]

RE2_REJECTS = {
    "(?=admin).*": "lookahead",
    "(?!admin).*": "negative lookahead",
    "(?<=a)b": "lookbehind",
    "(?<!a)b": "negative lookbehind",
    "(a)\\1": "backreference",
    "(?P<x>a)(?P=x)": "named backreference",
    "(?>a+)b": "atomic group",
    "a++": "possessive",
    "a{2}+": "possessive",
    "end\\Z": "\\Z",
    "(unclosed": "missing ), unterminated subpattern",
    "[a-": "unterminated character set",
    "*a": "nothing to repeat",
    "[z-a]": "bad character range",
}


@pytest.mark.parametrize("pattern", RE2_ACCEPTS)
def test_patterns_re2_accepts_have_no_problem(pattern: str) -> None:
    assert regex_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "reason"), RE2_REJECTS.items())
def test_patterns_re2_rejects_are_named_with_the_reason(pattern: str, reason: str) -> None:
    problem = regex_problem(pattern)
    assert problem is not None and reason in problem


def _with_header_regex(spec: dict[str, Any], route_type: str, key: str, regex: str) -> None:
    spec[route_type]["match"][key] = [{"name": "x-user", "match": {"regex": regex}}]


@pytest.mark.parametrize(
    ("kind", "spec", "where"),
    [
        (KindName.ROUTE, http_route(), "spec.httpRoute.match.headers.1.member.match.regex"),
        (KindName.ROUTE, http_route("http2Route"), "spec.http2Route.match.headers.1.member"),
        (KindName.ROUTE, grpc_route(), "spec.grpcRoute.match.metadata.1.member.match.regex"),
        (KindName.GATEWAY_ROUTE, gateway_route(), "spec.httpRoute.match.headers.1.member"),
    ],
    ids=["http-header", "http2-header", "grpc-metadata", "gateway-header"],
)
def test_a_header_regex_re2_rejects_is_a_bad_request_naming_its_path(
    kind: KindName, spec: dict[str, Any], where: str
) -> None:
    route_type = next(iter(spec))
    key = "metadata" if route_type == "grpcRoute" else "headers"
    _with_header_regex(spec, route_type, key, "(?=admin)")
    with pytest.raises(BadRequestException) as raised:
        check_spec(kind, spec)
    assert where in raised.value.message and "RE2" in raised.value.message


@pytest.mark.parametrize("kind", [KindName.ROUTE, KindName.GATEWAY_ROUTE])
def test_a_path_regex_re2_rejects_is_a_bad_request(kind: KindName) -> None:
    spec = http_route() if kind is KindName.ROUTE else gateway_route()
    spec["httpRoute"]["match"] = {"path": {"regex": "/items/(\\d+)/\\1"}}
    with pytest.raises(BadRequestException) as raised:
        check_spec(kind, spec)
    assert "spec.httpRoute.match.path.regex" in raised.value.message
    assert "backreference \\1 is not supported" in raised.value.message


def test_a_valid_regex_passes_in_every_place() -> None:
    route = http_route()
    route["httpRoute"]["match"] = {
        "path": {"regex": "/items/[0-9]+"},
        "headers": [{"name": "x-user", "match": {"regex": "(?i)admin|ops"}}],
    }
    check_spec(KindName.ROUTE, route)
