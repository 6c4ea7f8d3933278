"""The per-proxy xDS snapshot: a frozen value the ADS server publishes as is.

`resources[type_url][name]` holds the Envoy messages (not packed; pack with `packed()` or
`Any.Pack(msg, deterministic=True)`), sorted by type then name. Every resource has a content hash
of its deterministic serialization, so a rebuild that changes nothing yields identical hashes and
versions, and the server pushes nothing. `problems()` is the go-control-plane consistency check
(pkg/cache/v3/snapshot.go `Consistent`): every cluster a route or TCP proxy names exists, every
EDS cluster has a ClusterLoadAssignment, every route configuration a listener names exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message

_PREFIX = "type.googleapis.com/"
CLUSTER = _PREFIX + "envoy.config.cluster.v3.Cluster"
ENDPOINT = _PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = _PREFIX + "envoy.config.listener.v3.Listener"
ROUTE = _PREFIX + "envoy.config.route.v3.RouteConfiguration"
SECRET = _PREFIX + "envoy.extensions.transport_sockets.tls.v3.Secret"

# NOTE: make before break: clusters, then endpoints, then listeners, then routes
# (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#eventual-consistency-considerations).
PUSH_ORDER = (CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET)
MESSAGE_TYPES: Mapping[str, type[Message]] = MappingProxyType(
    {
        CLUSTER: cluster_pb2.Cluster,
        ENDPOINT: endpoint_pb2.ClusterLoadAssignment,
        LISTENER: listener_pb2.Listener,
        ROUTE: route_pb2.RouteConfiguration,
        SECRET: secret_pb2.Secret,
    }
)


def content_hash(message: Message) -> str:
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Envoy resources for one proxy, by type URL and name, each with its content hash."""

    resources: Mapping[str, Mapping[str, Message]]
    hashes: Mapping[str, Mapping[str, str]]

    @staticmethod
    def of(
        messages: Iterable[Message], hash_of: Callable[[Message], str] | None = None
    ) -> Snapshot:
        """Sort `messages` (Listener, Cluster, RouteConfiguration, ClusterLoadAssignment,
        Secret) into a snapshot; a second message of the same type and name is an error.
        `hash_of` gives a message's `content_hash` (a memo: `translate.Shared.hash_of`)."""
        digest = content_hash if hash_of is None else hash_of
        by_type: dict[str, dict[str, Message]] = {url: {} for url in PUSH_ORDER}
        for message in messages:
            url = _PREFIX + message.DESCRIPTOR.full_name
            name = _name_of(message)
            if url not in by_type:
                raise ValueError(f"not an xDS resource type: {url}")
            if name in by_type[url]:
                raise ValueError(f"two {url} resources named {name!r}")
            by_type[url][name] = message
        resources = {url: dict(sorted(named.items())) for url, named in by_type.items()}
        return Snapshot(
            resources=MappingProxyType(
                {url: MappingProxyType(named) for url, named in resources.items()}
            ),
            hashes=MappingProxyType(
                {
                    url: MappingProxyType({n: digest(m) for n, m in named.items()})
                    for url, named in resources.items()
                }
            ),
        )

    @staticmethod
    def empty() -> Snapshot:
        """What an Envoy Meshway knows nothing about gets: valid, and nothing in it."""
        return Snapshot.of(())

    def version(self, type_url: str) -> str:
        """One type's version: a hash over its names and content hashes (empty type: "")."""
        named = self.hashes.get(type_url, {})
        if not named:
            return ""
        digest = hashlib.sha256()
        for name, value in named.items():
            digest.update(f"{name}\0{value}\n".encode())
        return digest.hexdigest()[:32]

    def packed(self, type_url: str) -> dict[str, any_pb2.Any]:
        out: dict[str, any_pb2.Any] = {}
        for name, message in self.resources.get(type_url, {}).items():
            packed = any_pb2.Any()
            packed.Pack(message, deterministic=True)
            out[name] = packed
        return out

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Proto3 JSON (proto field names) of every resource, by short type name then name: what
        golden files and `meshway proxy-config` show."""
        return {
            url.rsplit(".", 1)[-1]: {
                name: json.loads(
                    json_format.MessageToJson(message, preserving_proto_field_name=True)
                )
                for name, message in named.items()
            }
            for url, named in self.resources.items()
            if named
        }

    def problems(self) -> tuple[str, ...]:
        """Dangling references, as sentences; empty when the snapshot is consistent."""
        return tuple(_problems(self))

    def consistent(self) -> bool:
        return not self.problems()


def _name_of(message: Message) -> str:
    if isinstance(message, endpoint_pb2.ClusterLoadAssignment):
        return str(message.cluster_name)
    return str(message.name)


def _problems(snapshot: Snapshot) -> Iterator[str]:
    clusters = snapshot.resources[CLUSTER]
    routes = snapshot.resources[ROUTE]
    for name, cluster in clusters.items():
        is_eds = cluster.type == cluster_pb2.Cluster.EDS
        if is_eds and name not in snapshot.resources[ENDPOINT]:
            yield f"EDS cluster {name} has no ClusterLoadAssignment"
    for listener_name, listener in snapshot.resources[LISTENER].items():
        for kind, target in _listener_references(listener):
            known = routes if kind == "route configuration" else clusters
            if target not in known:
                yield f"listener {listener_name} names {kind} {target}, which does not exist"
    for route_name, route_config in routes.items():
        for cluster in _route_clusters(route_config):
            if cluster not in clusters:
                yield (
                    f"route configuration {route_name} names cluster {cluster}, "
                    "which does not exist"
                )


def _listener_references(listener: Message) -> Iterator[tuple[str, str]]:
    chains = list(listener.filter_chains)
    if listener.HasField("default_filter_chain"):
        chains.append(listener.default_filter_chain)
    for chain in chains:
        for network_filter in chain.filters:
            config = network_filter.typed_config
            if config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
                hcm = hcm_pb2.HttpConnectionManager()
                config.Unpack(hcm)
                if hcm.HasField("rds"):
                    yield "route configuration", hcm.rds.route_config_name
                if hcm.HasField("route_config"):
                    for cluster in _route_clusters(hcm.route_config):
                        yield "cluster", cluster
            elif config.Is(tcp_proxy_pb2.TcpProxy.DESCRIPTOR):
                proxy = tcp_proxy_pb2.TcpProxy()
                config.Unpack(proxy)
                if proxy.cluster:
                    yield "cluster", proxy.cluster
                for weighted in proxy.weighted_clusters.clusters:
                    yield "cluster", weighted.name


def _route_clusters(route_config: Message) -> Iterator[str]:
    for host in route_config.virtual_hosts:
        for route in host.routes:
            if not route.HasField("route"):
                continue
            if route.route.cluster:
                yield route.route.cluster
            for weighted in route.route.weighted_clusters.clusters:
                yield weighted.name
