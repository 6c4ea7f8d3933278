"""Hand-made Envoy resources (real protos) for the xDS server's tests: one HTTP listener whose
routes go to EDS clusters on loopback backends."""

from __future__ import annotations

from collections.abc import Mapping

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import address_pb2, config_source_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import any_pb2, duration_pb2, wrappers_pb2
from google.protobuf.message import Message

from meshway.xds.snapshot import Snapshot

ROUTE_NAME = "rds_test_http"


def _ads() -> config_source_pb2.ConfigSource:
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(),
        resource_api_version=config_source_pb2.V3,
    )


def _any(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _socket(host: str, port: int) -> address_pb2.Address:
    return address_pb2.Address(
        socket_address=address_pb2.SocketAddress(address=host, port_value=port)
    )


def listener(port: int, *, route_name: str = ROUTE_NAME, stat_prefix: str = "test") -> Message:
    hcm = hcm_pb2.HttpConnectionManager(
        stat_prefix=stat_prefix,
        rds=hcm_pb2.Rds(config_source=_ads(), route_config_name=route_name),
        http_filters=[
            hcm_pb2.HttpFilter(
                name="envoy.filters.http.router", typed_config=_any(router_pb2.Router())
            )
        ],
    )
    return listener_pb2.Listener(
        name=f"lds_test_127.0.0.1_{port}",
        address=_socket("127.0.0.1", port),
        filter_chains=[
            listener_components_pb2.FilterChain(
                filters=[
                    listener_components_pb2.Filter(
                        name="envoy.filters.network.http_connection_manager",
                        typed_config=_any(hcm),
                    )
                ]
            )
        ],
    )


def cluster(name: str) -> Message:
    return cluster_pb2.Cluster(
        name=name,
        type=cluster_pb2.Cluster.EDS,
        eds_cluster_config=cluster_pb2.Cluster.EdsClusterConfig(eds_config=_ads()),
        connect_timeout=duration_pb2.Duration(nanos=250_000_000),
    )


def endpoints(name: str, ports: list[int]) -> Message:
    return endpoint_pb2.ClusterLoadAssignment(
        cluster_name=name,
        endpoints=[
            endpoint_components_pb2.LocalityLbEndpoints(
                lb_endpoints=[
                    endpoint_components_pb2.LbEndpoint(
                        endpoint=endpoint_components_pb2.Endpoint(address=_socket("127.0.0.1", p))
                    )
                    for p in ports
                ]
            )
        ],
    )


def route(
    weights: Mapping[str, int], *, name: str = ROUTE_NAME, duplicate_wildcard: bool = False
) -> Message:
    """Everything → the weighted clusters. `duplicate_wildcard` makes a config Envoy rejects
    ("Only a single wildcard domain is permitted")."""
    action = route_components_pb2.RouteAction(
        weighted_clusters=route_components_pb2.WeightedCluster(
            clusters=[
                route_components_pb2.WeightedCluster.ClusterWeight(
                    name=cluster_name, weight=wrappers_pb2.UInt32Value(value=weight)
                )
                for cluster_name, weight in sorted(weights.items())
            ]
        )
    )
    host = route_components_pb2.VirtualHost(
        name="all",
        domains=["*"],
        routes=[
            route_components_pb2.Route(
                match=route_components_pb2.RouteMatch(prefix="/"), route=action
            )
        ],
    )
    hosts = [host]
    if duplicate_wildcard:
        twin = route_components_pb2.VirtualHost()
        twin.CopyFrom(host)
        twin.name = "twin"
        hosts.append(twin)
    return route_pb2.RouteConfiguration(name=name, virtual_hosts=hosts)


def snapshot(
    listen_port: int,
    backends: Mapping[str, list[int]],
    weights: Mapping[str, int] | None = None,
    *,
    duplicate_wildcard: bool = False,
) -> Snapshot:
    """A listener on `listen_port` routing by `weights` (default: all to the first backend) to
    EDS clusters named after `backends` (name → loopback ports)."""
    weights = weights or {next(iter(backends)): 100}
    messages: list[Message] = [
        listener(listen_port),
        route(weights, duplicate_wildcard=duplicate_wildcard),
    ]
    for name, ports in backends.items():
        messages += [cluster(name), endpoints(name, ports)]
    return Snapshot.of(messages)
