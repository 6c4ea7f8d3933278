"""Clusters: the local app behind each listener (`cds_ingress_*`), one per target listener a
caller can reach (`cds_egress_*`), and the passthrough clusters (`..._amazonaws`,
`..._mesh-allow-all`).

Field mapping: reference/translation.md rows 1.13-1.14, §2.10, §3, §4. The target node's listener
policies land on every caller's cluster (health checks, outlier detection); the connection pool
lands on the node's own local app cluster, so the destination protects its app (§4.3).
"""

from __future__ import annotations

from collections.abc import Iterator

from envoy.config.cluster.v3 import cluster_pb2

from meshway.xds import names
from meshway.xds.translate.backends import EgressPlan, Target
from meshway.xds.translate.messages import (
    Json,
    aggregate_stats,
    circuit_breakers,
    duration,
    http2_options,
    message,
    millis,
    socket_address,
)
from meshway.xds.translate.tls import client_policy_for, listener_tls_mode, upstream_socket
from meshway.xds.view import MeshView, Spec

INGRESS_CONNECT_TIMEOUT = "0.250s"  # rows 1.13, 6.3
EGRESS_CONNECT_TIMEOUT = "1s"  # row 3.5
HTTP2_PROTOCOLS = ("http2", "grpc")
# serviceDiscovery ipPreference → dns_lookup_family (row 8.2)
_LOOKUP_FAMILY = {
    "IPv6_PREFERRED": "AUTO",
    "IPv4_PREFERRED": "V4_PREFERRED",
    "IPv4_ONLY": "V4_ONLY",
    "IPv6_ONLY": "V6_ONLY",
}


def build_clusters(
    view: MeshView, node: str, node_spec: Spec, plan: EgressPlan
) -> list[cluster_pb2.Cluster]:
    clusters = local_app_clusters(view.mesh, node, node_spec)
    clusters.extend(egress_cluster(view, node_spec, target) for target in plan.targets.values())
    clusters.extend(passthrough_clusters(view))
    return clusters


def local_app_clusters(mesh: str, node: str, node_spec: Spec) -> list[cluster_pb2.Cluster]:
    return [_local_app(mesh, node, listener) for listener in _listeners(node_spec)]


def passthrough_clusters(view: MeshView) -> Iterator[cluster_pb2.Cluster]:
    """`amazonaws` always (AWS API calls pass even with DROP_ALL, row 2.7); `mesh-allow-all`
    under ALLOW_ALL (rows 2.8, 2.10)."""
    yield _original_dst(names.amazonaws_cluster(view.mesh))
    if egress_filter(view) == "ALLOW_ALL":
        yield _original_dst(names.allow_all_cluster(view.mesh))


def egress_filter(view: MeshView) -> str:
    return str((view.mesh_spec.get("egressFilter") or {}).get("type") or "DROP_ALL")


def _listeners(node_spec: Spec) -> list[Spec]:
    return list(node_spec.get("listeners") or ())


def _original_dst(name: str) -> cluster_pb2.Cluster:
    body = {
        "name": name,
        "type": "ORIGINAL_DST",
        "lb_policy": "CLUSTER_PROVIDED",
        "connect_timeout": EGRESS_CONNECT_TIMEOUT,
        "circuit_breakers": circuit_breakers(),
    }
    return message(cluster_pb2.Cluster, body)


# --- the local app --------------------------------------------------------------------------------


def _local_app(mesh: str, node: str, listener: Spec) -> cluster_pb2.Cluster:
    mapping = listener["portMapping"]
    port, protocol = int(mapping["port"]), str(mapping["protocol"])
    name = names.ingress_cluster(mesh, node, protocol, port)
    endpoint = {"endpoint": {"address": socket_address(names.LOCAL_APP_ADDRESS, port)}}
    body: Json = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": INGRESS_CONNECT_TIMEOUT,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [endpoint]}]},
        "circuit_breakers": circuit_breakers(connection_pool_limits(listener)),
    }
    if protocol in HTTP2_PROTOCOLS:
        body["typed_extension_protocol_options"] = http2_options()
    return message(cluster_pb2.Cluster, body)


def connection_pool_limits(listener: Spec) -> dict[str, int]:
    """connectionPool.<protocol> → thresholds on the local app cluster (rows 4.3.1-4.3.4)."""
    pool = listener.get("connectionPool") or {}
    limits: dict[str, int] = {}
    for settings in pool.values():
        for field, envoy_field in (
            ("maxConnections", "max_connections"),
            ("maxPendingRequests", "max_pending_requests"),
            ("maxRequests", "max_requests"),
        ):
            if (settings or {}).get(field) is not None:
                limits[envoy_field] = int(settings[field])
    return limits


# --- egress --------------------------------------------------------------------------------------


def egress_cluster(view: MeshView, caller_spec: Spec, target: Target) -> cluster_pb2.Cluster:
    """A caller's (node or gateway) cluster for one target listener."""
    target_spec = view.node(target.node) or {}
    listener = _listener_on(target_spec, target.port)
    body: Json = {
        "name": target.cluster,
        "connect_timeout": EGRESS_CONNECT_TIMEOUT,
        "circuit_breakers": circuit_breakers(),
        "metadata": aggregate_stats([{"key": "TargetVirtualNode", "value": target.node}]),
    }
    body.update(_discovery(view, target, target_spec))
    if target.protocol in HTTP2_PROTOCOLS:
        body["typed_extension_protocol_options"] = http2_options()
    health_check = translate_health_check(listener, discovery_name(target_spec), target.port)
    if health_check is not None:
        body["health_checks"] = [health_check]
    outlier = translate_outlier_detection(listener.get("outlierDetection"))
    if outlier is not None:
        body["outlier_detection"] = outlier
    policy = client_policy_for(caller_spec, target.service, target.port)
    if policy is not None or listener_tls_mode(listener) in ("STRICT", "PERMISSIVE"):
        body["transport_socket"] = upstream_socket(policy, discovery_name(target_spec))
    return message(cluster_pb2.Cluster, body)


def _listener_on(spec: Spec, port: int) -> Spec:
    for listener in spec.get("listeners") or ():
        if (listener.get("portMapping") or {}).get("port") == port:
            return listener  # type: ignore[no-any-return]
    return {}


def discovery_name(node_spec: Spec) -> str:
    """The name a target is known by: `dns.hostname`, or `serviceName.namespaceName` (4.1.3)."""
    discovery = node_spec.get("serviceDiscovery") or {}
    if discovery.get("dns"):
        return str(discovery["dns"]["hostname"])
    cloud_map = discovery.get("awsCloudMap") or {}
    return f"{cloud_map.get('serviceName', '')}.{cloud_map.get('namespaceName', '')}"


def uses_eds(view: MeshView, node: str) -> bool:
    """Cloud Map nodes always; DNS nodes when the runtime supplies their endpoints (MeshView)."""
    discovery = (view.node(node) or {}).get("serviceDiscovery") or {}
    return not discovery.get("dns") or node in view.endpoints


def _discovery(view: MeshView, target: Target, target_spec: Spec) -> Json:
    if uses_eds(view, target.node):
        return {
            "type": "EDS",
            "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"}},
            "ignore_health_on_host_removal": True,  # row 3.7
        }
    dns = (target_spec.get("serviceDiscovery") or {}).get("dns") or {}
    endpoint = {"endpoint": {"address": socket_address(str(dns["hostname"]), target.port)}}
    body: Json = {
        "type": "STRICT_DNS" if dns.get("responseType") == "ENDPOINTS" else "LOGICAL_DNS",
        "load_assignment": {
            "cluster_name": target.cluster,
            "endpoints": [{"lb_endpoints": [endpoint]}],
        },
    }
    preference = dns.get("ipPreference") or (view.mesh_spec.get("serviceDiscovery") or {}).get(
        "ipPreference"
    )
    if preference in _LOOKUP_FAMILY:
        body["dns_lookup_family"] = _LOOKUP_FAMILY[preference]
    return body


def translate_health_check(listener: Spec, host: str, port: int) -> Json | None:
    """The target listener's healthCheck, run by every caller (rows 4.1.1-4.1.6)."""
    check = listener.get("healthCheck")
    if not check:
        return None
    out: Json = {
        "timeout": millis(int(check["timeoutMillis"])),
        "interval": millis(int(check["intervalMillis"])),
        "healthy_threshold": int(check["healthyThreshold"]),
        "unhealthy_threshold": int(check["unhealthyThreshold"]),
    }
    protocol = check.get("protocol")
    if protocol in ("http", "http2"):
        http: Json = {"host": f"{host}:{port}", "path": check.get("path") or "/"}
        if protocol == "http2":
            http["codec_client_type"] = "HTTP2"
        out["http_health_check"] = http
    elif protocol == "grpc":
        out["grpc_health_check"] = {}
    else:
        out["tcp_health_check"] = {}
    return out


def translate_outlier_detection(detection: Spec | None) -> Json | None:
    """Rows 4.2.1-4.2.3; the fields App Mesh does not expose keep Envoy's defaults."""
    if not detection:
        return None
    return {
        "consecutive_5xx": int(detection["maxServerErrors"]),
        "interval": duration(detection["interval"]),
        "base_ejection_time": duration(detection["baseEjectionDuration"]),
        "max_ejection_percent": int(detection["maxEjectionPercent"]),
    }
