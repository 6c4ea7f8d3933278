"""Checks shared by App Mesh's rule modules: listeners, health checks, TLS, durations and matches.

`rules_listeners` (nodes, routers, gateways) and `rules_routes` (routes, gateway routes) build on
these; `rules` dispatches by kind. Every check raises `BadRequestException` with a sentence that
names the offending path. Where AWS's own message is known (quoted in a public issue) it is used
verbatim; the source of each rule is cited at the line that keeps it.

Sources are abbreviated: UG = App Mesh user guide (awsdocs/aws-app-mesh-user-guide@HEAD~1,
doc_source/*.md), API = the documentation strings of botocore's appmesh service-2.json,
REF = /work/shared/reference/appmesh-api.md, CTL = aws/aws-app-mesh-controller-for-k8s
webhooks/appmesh/*_validator.go (AWS's own admission checks, which mirror the API).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from meshway.core.errors import BadRequestException

Spec = Mapping[str, Any]


def fail(message: str) -> NoReturn:
    raise BadRequestException(message)


def join(path: str, *names: str | int) -> str:
    return ".".join([path, *(str(n) for n in names)])


def obj(value: Any) -> Spec:
    """A nested structure, or an empty one when absent (shape validation ran: types are right)."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Spec]:
    return [obj(item) for item in value] if isinstance(value, list) else []


def only_key(union: Spec) -> str | None:
    """The member a one-member union carries (shape validation already enforced 'exactly one')."""
    keys = [key for key, value in union.items() if value is not None]
    return keys[0] if len(keys) == 1 else None


def port_mapping(listener: Spec) -> tuple[int | None, str | None]:
    mapping = obj(listener.get("portMapping"))
    return mapping.get("port"), mapping.get("protocol")


# --- listeners ------------------------------------------------------------------------------------


def check_unique_ports(listeners: list[Spec], path: str, owner: str) -> None:
    """A port carries one listener: routes and targets name listeners by port (roadmap #120)."""
    seen: set[int] = set()
    for listener in listeners:
        port, _ = port_mapping(listener)
        if port is None:
            continue
        if port in seen:
            fail(
                f"{owner} listeners must have unique ports: port {port} appears more than once "
                f"in {path}"
            )
        seen.add(port)


def check_health_check(listener: Spec, path: str) -> None:
    check = listener.get("healthCheck")
    if check is None:
        return
    check = obj(check)
    port, protocol = port_mapping(listener)
    # API HealthCheckPolicy.port: "This port must match the port defined in the PortMapping for
    # the listener." (same text for VirtualGatewayHealthCheckPolicy.)
    if check.get("port") is not None and port is not None and check["port"] != port:
        fail(
            f"Health check port {check['port']} at '{join(path, 'healthCheck.port')}' must match "
            f"the port defined in the PortMapping for the listener ({port})"
        )
    # AWS's message, quoted in hashicorp/terraform-provider-aws#21359 (a gRPC health check on an
    # http listener of a virtual gateway was rejected with exactly this text).
    if check.get("protocol") == "grpc" and protocol not in (None, "http2", "grpc"):
        fail("GRPC HealthCheck requires listener type of HTTP2 or GRPC.")
    # NOTE: `path` on a tcp/grpc health check is not an error: "This value is only used if the
    # specified protocol is HTTP or HTTP/2. For any other protocol, this value is ignored." (API)


def check_connection_pool(listener: Spec, path: str) -> None:
    # UG virtual_nodes.md / virtual_gateways.md: "The connectionPool and portMapping protocols must
    # be the same." (the union member names the protocol)
    pool = listener.get("connectionPool")
    if pool is None:
        return
    kind = only_key(obj(pool))
    _, protocol = port_mapping(listener)
    if kind is not None and protocol is not None and kind != protocol:
        fail(
            f"The connectionPool protocol ({kind}) at '{join(path, 'connectionPool')}' must be the "
            f"same as the portMapping protocol ({protocol})"
        )


def check_listener_timeout(listener: Spec, path: str) -> None:
    # The ListenerTimeout union is keyed by protocol like the connection pool, whose protocol
    # "must be the same" as the listener's (UG virtual_nodes.md); UG's timeout section offers a
    # request timeout only "if you selected grpc, http, or http2 for the listener's Protocol".
    # Decision: a timeout for another protocol than the listener's is rejected the same way.
    timeout = listener.get("timeout")
    if timeout is None:
        return
    kind = only_key(obj(timeout))
    _, protocol = port_mapping(listener)
    if kind is not None and protocol is not None and kind != protocol:
        fail(
            f"The timeout protocol ({kind}) at '{join(path, 'timeout')}' must be the same as the "
            f"portMapping protocol ({protocol})"
        )
    for name, duration in obj(obj(timeout).get(kind or "")).items():
        check_duration(duration, join(path, "timeout", kind or "", name))


def check_outlier_detection(listener: Spec, path: str) -> None:
    detection = listener.get("outlierDetection")
    if detection is None:
        return
    for name in ("interval", "baseEjectionDuration"):
        check_duration(obj(detection).get(name), join(path, "outlierDetection", name))


# --- durations ------------------------------------------------------------------------------------


def check_duration(duration: Any, path: str) -> None:
    """A Duration needs both halves. UG routes.md requires a retry timeout value and unit ("A value
    is required"); a Duration missing either has no meaning anywhere else either (decision)."""
    if duration is None:
        return
    value = obj(duration)
    if value.get("unit") is None or value.get("value") is None:
        fail(f"The duration at '{path}' must specify both a unit and a value")


# --- TLS ------------------------------------------------------------------------------------------

# UG virtual_nodes.md, virtual_gateways.md: "SANs must be FQDN or URI formatted".
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S+$")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?"
_FQDN = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*\.?$")


def is_san(value: str) -> bool:
    return bool(_URI.match(value)) or (len(value) <= 253 and bool(_FQDN.match(value)))


def check_sans(validation: Any, path: str) -> None:
    sans = obj(obj(obj(validation).get("subjectAlternativeNames")).get("match")).get("exact")
    for index, san in enumerate(sans or [], start=1):
        if isinstance(san, str) and not is_san(san):
            fail(
                f"Subject Alternative Name '{san}' at "
                f"'{join(path, 'subjectAlternativeNames.match.exact', index, 'member')}' must be "
                f"FQDN or URI formatted"
            )


def check_listener_tls(listener: Spec, path: str) -> None:
    tls = listener.get("tls")
    if tls is not None:
        check_sans(obj(tls).get("validation"), join(path, "tls.validation"))


def check_client_policy(policy: Any, path: str) -> None:
    tls = obj(policy).get("tls")
    if tls is not None:
        check_sans(obj(tls).get("validation"), join(path, "tls.validation"))


# --- request matches ------------------------------------------------------------------------------


def check_header_matches(headers: Any, path: str) -> None:
    """Header and gRPC metadata matchers: a range must be non-empty (CTL: "Invalid Match Range
    specified, end has to be greater than start"; Envoy's range end is exclusive); a regex must be
    one Envoy accepts."""
    for index, header in enumerate(items(headers), start=1):
        check_regex(obj(header.get("match")).get("regex"), join(path, index, "member.match.regex"))
        match_range = obj(obj(header.get("match")).get("range"))
        start, end = match_range.get("start"), match_range.get("end")
        if start is not None and end is not None and end <= start:
            fail(
                f"Invalid match range at '{join(path, index, 'member.match.range')}': end "
                f"({end}) has to be greater than start ({start})"
            )


def check_path_match(match: Spec, path: str) -> None:
    """`prefix` or `path`, not both; a path match is `exact` or `regex`, not both (CTL route and
    gateway-route validators; HttpPathMatch is not a union in the model)."""
    if match.get("prefix") is not None and match.get("path") is not None:
        fail(f"Both prefix and path cannot be specified in '{path}'. Only 1 allowed")
    if match.get("path") is None:
        return
    path_match = obj(match["path"])
    chosen = [key for key in ("exact", "regex") if path_match.get(key) is not None]
    if len(chosen) != 1:
        fail(f"Exactly one of exact or regex must be specified for '{join(path, 'path')}'")
    # aws-cdk aws-appmesh http-route-path-match.ts: "Exact Path for the match must start with
    # '/'" (the same rule the API documents for a prefix).
    check_path(path_match.get("exact"), join(path, "path.exact"), "exact path")
    check_regex(path_match.get("regex"), join(path, "path.regex"))


def check_prefix(prefix: Any, path: str) -> None:
    # API HttpRouteMatch.prefix / HttpGatewayRouteMatch.prefix: "This parameter must always start
    # with /".
    check_path(prefix, path, "prefix")


def check_path(value: Any, path: str, what: str) -> None:
    if isinstance(value, str) and not value.startswith("/"):
        fail(f"The {what} '{value}' at '{path}' must start with /")


def listener_ports(listeners: Iterable[Spec]) -> dict[int, str | None]:
    return {port: protocol for port, protocol in map(port_mapping, listeners) if port is not None}


# --- regular expressions ------------------------------------------------------------------------
#
# Envoy compiles every `safe_regex` with RE2 and NACKs the whole route configuration when one does
# not compile, so the caller keeps its old routes and the new one never applies (App Mesh accepted
# such routes and the Envoys silently kept stale config). RE2 has no lookaround, backreferences,
# atomic groups, possessive quantifiers or conditionals (github.com/google/re2/wiki/Syntax, "NOT
# SUPPORTED"); the rest of the grammar is checked by Python's parser, which agrees with RE2 on it
# once RE2's own escapes (\pN, \p{Greek}, \z, \C, \Q...\E) and mid-pattern flags are masked.

_GROUP_NOT_IN_RE2 = (
    ("(?=", "lookahead"),
    ("(?!", "negative lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "negative lookbehind"),
    ("(?P=", "named backreference"),
    ("(?>", "atomic group"),
    ("(?(", "conditional"),
)
_RE2_ESCAPES = re.compile(r"\\(?:[pP](?:\{[^}]*\}|[A-Za-z])|[zC])|\\Q.*?(?:\\E|$)")
_RE2_FLAGS = re.compile(r"\(\?[imsU]*(?:-[imsU]*)?\)")
_RE2_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def regex_problem(pattern: str) -> str | None:
    """Why RE2 (Envoy's regex engine) would reject `pattern`, or None when it compiles."""
    return _construct_problem(pattern) or _grammar_problem(pattern)


def _escape_problem(escaped: str) -> str | None:
    if escaped and escaped in "123456789":
        return f"backreference \\{escaped} is not supported"
    if escaped == "Z":
        return "\\Z is not supported (use \\z)"
    return None


def _construct_problem(pattern: str) -> str | None:
    """The constructs RE2 does not support, found outside character classes."""
    index, in_class = 0, False
    while index < len(pattern):
        char, rest = pattern[index], pattern[index:]
        if char == "\\":
            problem = _escape_problem(pattern[index + 1 : index + 2])
            if problem is not None:
                return problem
            if rest[1:3] in ("p{", "P{"):
                index = pattern.find("}", index) % (len(pattern) + 1)  # past \p{Name}
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 2 if rest[1:2] in ("]", "^") else 1
            continue
        elif char == "(":
            for opener, what in _GROUP_NOT_IN_RE2:
                if rest.startswith(opener):
                    return f"{what} '{opener}' is not supported"
        elif char in "*+?}" and rest[1:2] == "+" and not pattern[:index].endswith("("):
            return f"possessive quantifier '{char}+' is not supported"
        index += 1
    return None


def _grammar_problem(pattern: str) -> str | None:
    masked = _RE2_NAMED_GROUP.sub("(?P<", _RE2_FLAGS.sub("", _RE2_ESCAPES.sub(".", pattern)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning on `[[`, valid in RE2
            re.compile(masked)
    except re.error as error:
        return str(error)
    return None


def check_regex(value: Any, path: str) -> None:
    if not isinstance(value, str):
        return
    problem = regex_problem(value)
    if problem is not None:
        fail(
            f"The regex '{value}' at '{path}' is not valid RE2 syntax, which Envoy requires: "
            f"{problem}"
        )
