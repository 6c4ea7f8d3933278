"""A small Envoy routing simulator over a snapshot, for behaviour tests.

Follows Envoy's order for one request: the listener's filter chain by destination port (then the
more specific destination prefix), the HTTP connection manager's route configuration, the virtual
host by Host (exact, then `*suffix`, then `*`), the first route whose path, headers and query
parameters all match. The outcome says where the request goes and with which retries and timeout.
Only what Meshway's translation emits is modelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from meshway.xds.snapshot import Snapshot

HCM = "HttpConnectionManager"
TCP = "TcpProxy"


@dataclass(frozen=True)
class Request:
    host: str
    path: str = "/"
    method: str = "GET"
    port: int = 9080
    headers: dict[str, str] = field(default_factory=dict)
    scheme: str = "http"
    server_name: str = ""


@dataclass(frozen=True)
class Outcome:
    kind: str  # "route", "direct", "no-route", "no-virtual-host", "no-filter-chain", "tcp"
    clusters: dict[str, int] = field(default_factory=dict)
    status: int | None = None
    timeout: str | None = None
    idle_timeout: str | None = None
    retry: dict[str, Any] | None = None
    route_name: str | None = None
    prefix_rewrite: str | None = None
    host_rewrite: str | None = None
    headers_added: dict[str, str] = field(default_factory=dict)

    @property
    def receiving(self) -> set[str]:
        """Clusters that get traffic (weight above 0)."""
        return {name for name, weight in self.clusters.items() if weight > 0}


def send(snapshot: Snapshot, listener: str, request: Request) -> Outcome:
    resources = snapshot.as_dict()
    chain = _chain(resources["Listener"][listener], request)
    if chain is None:
        return Outcome(kind="no-filter-chain")
    config = chain["filters"][0]["typed_config"]
    if config["@type"].endswith(TCP):
        return _tcp(config)
    routes = resources["RouteConfiguration"][config["rds"]["route_config_name"]]
    host = _virtual_host(routes["virtual_hosts"], request.host)
    if host is None:
        return Outcome(kind="no-virtual-host", status=404)
    for route in host.get("routes", []):
        if _matches(route["match"], request):
            return _outcome(route)
    return Outcome(kind="no-route", status=404)


def _chain(listener: dict[str, Any], request: Request) -> dict[str, Any] | None:
    def rank(chain: dict[str, Any]) -> tuple[int, int, int] | None:
        match = chain.get("filter_chain_match", {})
        port = match.get("destination_port")
        if port is not None and port != request.port:
            return None
        names = match.get("server_names")
        if names and not any(_domain_matches(n, request.server_name) for n in names):
            return None
        if match.get("transport_protocol") == "tls" and not request.server_name:
            return None
        return (port is not None, bool(match.get("prefix_ranges")), bool(names))

    ranked = [(rank(chain), chain) for chain in listener.get("filter_chains", [])]
    candidates = [(r, c) for r, c in ranked if r is not None]
    return max(candidates, key=lambda item: item[0])[1] if candidates else None


def _tcp(config: dict[str, Any]) -> Outcome:
    if "cluster" in config:
        clusters = {config["cluster"]: 1}
    else:
        clusters = {c["name"]: c["weight"] for c in config["weighted_clusters"]["clusters"]}
    return Outcome(kind="tcp", clusters=clusters, idle_timeout=config.get("idle_timeout"))


def _virtual_host(hosts: list[dict[str, Any]], host: str) -> dict[str, Any] | None:
    """Exact domains first, then the longest wildcard (`*suffix` or `prefix*`), `*` last."""
    best: tuple[int, dict[str, Any]] | None = None
    for candidate in hosts:
        for domain in candidate["domains"]:
            if domain == host:
                return candidate
            if _domain_matches(domain, host) and (best is None or len(domain) > best[0]):
                best = (len(domain), candidate)
    return best[1] if best else None


def _domain_matches(pattern: str, host: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])
    if pattern.endswith("*"):
        return host.startswith(pattern[:-1])
    return pattern == host


def _matches(match: dict[str, Any], request: Request) -> bool:
    path = request.path.split("?", 1)[0]
    if "prefix" in match and not path.startswith(match["prefix"]):
        return False
    if "path" in match and path != match["path"]:
        return False
    if "safe_regex" in match and not re.fullmatch(match["safe_regex"]["regex"], path):
        return False
    headers = {
        **{k.lower(): v for k, v in request.headers.items()},
        ":method": request.method,
        ":scheme": request.scheme,
    }
    if not all(_header_matches(h, headers) for h in match.get("headers", [])):
        return False
    query = dict(
        pair.split("=", 1) for pair in request.path.partition("?")[2].split("&") if "=" in pair
    )
    return all(_query_matches(q, query) for q in match.get("query_parameters", []))


def _header_matches(matcher: dict[str, Any], headers: dict[str, str]) -> bool:
    value = headers.get(matcher["name"].lower())
    if "present_match" in matcher:
        result = value is not None
    elif value is None:
        result = False
    elif "range_match" in matcher:
        bounds = matcher["range_match"]
        result = value.lstrip("-").isdigit() and int(bounds["start"]) <= int(value) < int(
            bounds["end"]
        )
    else:
        result = _string_matches(matcher["string_match"], value)
    return result != bool(matcher.get("invert_match"))


def _string_matches(matcher: dict[str, Any], value: str) -> bool:
    if "exact" in matcher:
        return bool(value == matcher["exact"])
    if "prefix" in matcher:
        return value.startswith(matcher["prefix"])
    if "suffix" in matcher:
        return value.endswith(matcher["suffix"])
    return re.fullmatch(matcher["safe_regex"]["regex"], value) is not None


def _query_matches(matcher: dict[str, Any], query: dict[str, str]) -> bool:
    if "present_match" in matcher:
        return matcher["name"] in query
    return query.get(matcher["name"]) == matcher["string_match"]["exact"]


def _outcome(route: dict[str, Any]) -> Outcome:
    if "direct_response" in route:
        return Outcome(
            kind="direct", status=route["direct_response"]["status"], route_name=route.get("name")
        )
    action = route["route"]
    if "cluster" in action:
        clusters = {action["cluster"]: 100}
    else:
        clusters = {c["name"]: c.get("weight", 0) for c in action["weighted_clusters"]["clusters"]}
    return Outcome(
        kind="route",
        clusters=clusters,
        timeout=action.get("timeout"),
        idle_timeout=action.get("idle_timeout"),
        retry=action.get("retry_policy"),
        route_name=route.get("name"),
        prefix_rewrite=action.get("prefix_rewrite"),
        host_rewrite=action.get("host_rewrite_literal"),
        headers_added={
            h["header"]["key"]: h["header"]["value"]
            for h in route.get("request_headers_to_add", [])
        },
    )
