"""The `aws-appmesh-envoy` image's environment → Envoy's bootstrap, as its agent builds it.

Pure and standard-library only: the agent (`envoy.py`) imports it under the system interpreter
as uid 1337, where neither Meshway's venv nor PyYAML is reachable (runtime-spike.md §2). The
bootstrap is a plain dict, written as JSON (which Envoy reads by the `.json` suffix).

Follows aws/amazon-ecs-service-connect-agent `agent/envoy_bootstrap/envoy_bootstrap.go`
(reference/envoy.md §2) with Meshway's differences, each deliberate:
- the xDS endpoint defaults to this Meshway server (plain gRPC on the bridge address, no
  `envoy.grpc_credentials.aws_iam`, which Envoy 1.40 lacks) and reconnects within a second
  (retry back-off 0.1 to 0.5 s; Envoy's default takes ~9 s, envoy.md §1 gotcha 6);
- the ADS stream carries the proxy's credential (MESHWAY_XDS_CREDENTIAL, minted by the runtime
  or `meshway proxy-credential`) as gRPC initial metadata, which Meshway's xDS server requires
  (issue 9, xds/credentials.py; the two names are repeated here as this file imports nothing);
- admin listens on 127.0.0.1, not 0.0.0.0 (DESIGN.md: neighbours cannot reach /quitquitquit);
- the runtime keys that Envoy 1.40 removed are left out (envoy.md §1 gotcha 7).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOG_LEVELS = ("trace", "debug", "info", "warning", "warn", "error", "critical", "off")
DEFAULT_ADMIN_ACCESS_LOG = "/tmp/envoy_admin_access.log"  # noqa: S108 (the image's default)
XDS_CLUSTER = "xds_cluster"
TYPE = "type.googleapis.com/"
XRAY_SAMPLING_RULES = "/tmp/sampling-rules.json"  # noqa: S108 (the image's path)
DATADOG_CLUSTER = "datadog_agent"
CREDENTIAL_ENV = "MESHWAY_XDS_CREDENTIAL"  # = xds.credentials.ENVIRONMENT
CREDENTIAL_HEADER = "x-meshway-proxy-credential"  # = xds.credentials.HEADER


class BootstrapError(ValueError):
    """The environment cannot make a bootstrap; str() is what the agent logs before exiting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class XRay:
    daemon_host: str = "127.0.0.1"
    daemon_port: int = 2000
    segment_name: str = ""
    sampling_rate: float | None = None
    sampling_rule_manifest: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Jaeger:
    host: str = "127.0.0.1"
    port: int = 9411
    version: str = "PROTO"


@dataclass(frozen=True, slots=True, kw_only=True)
class Datadog:
    host: str = "127.0.0.1"
    port: int = 8126
    service: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DogStatsd:
    host: str = "127.0.0.1"
    port: int = 8125
    socket_path: str = ""  # STATSD_SOCKET_PATH: a unix socket instead of UDP


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    node_id: str
    node_cluster: str
    mesh: str
    resource_type: str  # virtualNode | virtualGateway
    resource_name: str
    region: str = ""
    account: str = ""  # the task's account (Meshway: keys short-form node ids to an ARN)
    log_level: str = "info"
    admin_port: int = 9901
    admin_access_log: str = DEFAULT_ADMIN_ACCESS_LOG
    initial_fetch_timeout: int = 0  # seconds; 0 waits for ever, as App Mesh
    concurrency: int | None = None
    xds_host: str = "198.18.0.1"
    xds_port: int = 15010
    delta: bool = False
    credential: str = field(default="", repr=False)  # the xDS token: never in a log line
    stats_tags: bool = False
    stats_flush_interval_ms: int | None = None
    outlier_event_log: str = "/dev/stdout"  # "" leaves outlier ejection events unlogged
    drain_seconds: int = 20
    restart_count: int = 3
    xray: XRay | None = None
    jaeger: Jaeger | None = None
    datadog: Datadog | None = None
    dog_statsd: DogStatsd | None = None


# -- environment --------------------------------------------------------------------------------


def _truthy(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "t", "yes", "y", "on"):
        return True
    if value in ("0", "false", "f", "no", "n", "off"):
        return False
    raise BootstrapError(f"{name}={env[name]!r} is not a boolean")


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BootstrapError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise BootstrapError(f"{name}={value} is outside {low}..{high}")
    return value


def node_id(env: Mapping[str, str]) -> str:
    """APPMESH_RESOURCE_ARN, then the deprecated APPMESH_RESOURCE_NAME and
    APPMESH_VIRTUAL_NODE_NAME (the agent's getNodeId)."""
    for name in ("APPMESH_RESOURCE_ARN", "APPMESH_RESOURCE_NAME", "APPMESH_VIRTUAL_NODE_NAME"):
        if env.get(name):
            return env[name]
    raise BootstrapError("APPMESH_RESOURCE_ARN environment variable must be set.")


def mesh_resource(node: str) -> tuple[str, str, str]:
    """`arn:...:mesh/M/virtualNode/N` or `mesh/M/virtualNode/N` → (M, virtualNode, N)."""
    bits = node.split("/")
    if len(bits) < 4:
        raise BootstrapError(f"Unrecognized resource name format: {node}")
    return bits[1], bits[2], bits[3]


def _endpoint(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise BootstrapError(f"{what}={value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _xray(env: Mapping[str, str], mesh: str, name: str) -> XRay | None:
    if not _truthy(env, "ENABLE_ENVOY_XRAY_TRACING"):
        return None
    host, port = "127.0.0.1", _integer(env, "XRAY_DAEMON_PORT", 2000, 1, 65535)
    address = env.get("AWS_XRAY_DAEMON_ADDRESS", "").strip()
    if address:
        host, _, given = address.partition(":")
        port = int(given) if given.isdigit() else port
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise BootstrapError("AWS_XRAY_DAEMON_ADDRESS must be a static IP address") from None
    rate = env.get("XRAY_SAMPLING_RATE", "").strip()
    try:
        sampling = float(rate) if rate else None
    except ValueError:
        raise BootstrapError(f"XRAY_SAMPLING_RATE={rate!r} is not a number") from None
    if sampling is not None and not 0 <= sampling <= 1:
        raise BootstrapError("XRAY_SAMPLING_RATE must be between 0 and 1")
    return XRay(
        daemon_host=host,
        daemon_port=port,
        segment_name=env.get("XRAY_SEGMENT_NAME") or f"{mesh}/{name}",
        sampling_rate=sampling,
        sampling_rule_manifest=env.get("XRAY_SAMPLING_RULE_MANIFEST", ""),
    )


def _jaeger(env: Mapping[str, str]) -> Jaeger | None:
    if not _truthy(env, "ENABLE_ENVOY_JAEGER_TRACING"):
        return None
    version = env.get("JAEGER_TRACER_VERSION", "PROTO").upper()
    if version not in ("PROTO", "JSON"):
        raise BootstrapError(f"JAEGER_TRACER_VERSION={version!r} must be PROTO or JSON")
    return Jaeger(
        host=env.get("JAEGER_TRACER_ADDRESS") or "127.0.0.1",
        port=_integer(env, "JAEGER_TRACER_PORT", 9411, 1, 65535),
        version=version,
    )


def _datadog(env: Mapping[str, str], mesh: str, name: str) -> Datadog | None:
    if not _truthy(env, "ENABLE_ENVOY_DATADOG_TRACING"):
        return None
    return Datadog(
        host=env.get("DATADOG_TRACER_ADDRESS") or "127.0.0.1",
        port=_integer(env, "DATADOG_TRACER_PORT", 8126, 1, 65535),
        service=env.get("DD_SERVICE") or f"envoy-{mesh}/{name}",
    )


def _dog_statsd(env: Mapping[str, str]) -> DogStatsd | None:
    if not _truthy(env, "ENABLE_ENVOY_DOG_STATSD"):
        return None
    return DogStatsd(
        host=env.get("STATSD_ADDRESS") or "127.0.0.1",
        port=_integer(env, "STATSD_PORT", 8125, 1, 65535),
        socket_path=env.get("STATSD_SOCKET_PATH", ""),
    )


Tracers = tuple[XRay | None, Jaeger | None, Datadog | None]


def _tracers(env: Mapping[str, str], mesh: str, name: str) -> Tracers:
    drivers = [
        v for v in ("ENABLE_ENVOY_XRAY_TRACING", "ENABLE_ENVOY_JAEGER_TRACING",
                    "ENABLE_ENVOY_DATADOG_TRACING") if _truthy(env, v)
    ]  # fmt: skip
    if len(drivers) > 1:
        raise BootstrapError(f"only one tracing driver may be enabled, found {', '.join(drivers)}")
    return _xray(env, mesh, name), _jaeger(env), _datadog(env, mesh, name)


def _log_level(env: Mapping[str, str]) -> str:
    level = (env.get("ENVOY_LOG_LEVEL") or "info").strip().lower()
    if level not in LOG_LEVELS:
        raise BootstrapError(f"ENVOY_LOG_LEVEL={level!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def settings_from_env(env: Mapping[str, str], *, default_xds: str, account: str = "") -> Settings:
    """Everything the agent reads; BootstrapError for what the real agent would reject."""
    node = node_id(env)
    mesh, kind, name = mesh_resource(node)
    xds_host, xds_port = _endpoint(env.get("APPMESH_XDS_ENDPOINT") or default_xds,
                                   "APPMESH_XDS_ENDPOINT")  # fmt: skip
    concurrency = _integer(env, "ENVOY_CONCURRENCY", -1, -1, 1024)
    flush = env.get("ENVOY_STATS_FLUSH_INTERVAL", "").strip().removesuffix("ms")
    xray, jaeger, datadog = _tracers(env, mesh, name)
    return Settings(
        node_id=node,
        node_cluster=env.get("APPMESH_RESOURCE_CLUSTER") or env.get("APPMESH_VIRTUAL_NODE_CLUSTER")
        or node,
        mesh=mesh,
        resource_type=kind,
        resource_name=name,
        region=env.get("AWS_REGION", ""),
        account=account,
        log_level=_log_level(env),
        admin_port=_integer(env, "ENVOY_ADMIN_ACCESS_PORT", 9901, 1, 65535),
        admin_access_log=env.get("ENVOY_ADMIN_ACCESS_LOG_FILE") or DEFAULT_ADMIN_ACCESS_LOG,
        initial_fetch_timeout=_integer(env, "ENVOY_INITIAL_FETCH_TIMEOUT", 0, 0, 86400),
        concurrency=None if concurrency <= 0 else concurrency,
        xds_host=xds_host,
        xds_port=xds_port,
        delta=_truthy(env, "MESHWAY_XDS_DELTA"),
        credential=env.get(CREDENTIAL_ENV, "").strip(),
        stats_tags=_truthy(env, "ENABLE_ENVOY_STATS_TAGS"),
        stats_flush_interval_ms=int(flush) if flush.isdigit() else None,
        outlier_event_log=env.get("ENVOY_OUTLIER_DETECTION_EVENT_LOG_PATH", "/dev/stdout"),
        drain_seconds=_integer(env, "LISTENER_DRAIN_WAIT_TIME_S", 20, 0, 110),
        restart_count=_integer(env, "APPNET_ENVOY_RESTART_COUNT", 3, 0, 10),
        xray=xray,
        jaeger=jaeger,
        datadog=datadog,
        dog_statsd=_dog_statsd(env),
    )  # fmt: skip


# -- bootstrap ----------------------------------------------------------------------------------


def _socket(host: str, port: int, protocol: str = "TCP") -> dict[str, Any]:
    address: dict[str, Any] = {"address": host, "port_value": port}
    if protocol != "TCP":
        address["protocol"] = protocol
    return {"socket_address": address}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _xds_cluster(s: Settings) -> dict[str, Any]:
    """HTTP/2 to the control plane, with keepalives as App Mesh sets them (10 s / 20 s)."""
    return {
        "name": XDS_CLUSTER,
        "type": "STATIC" if _is_ip(s.xds_host) else "LOGICAL_DNS",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": XDS_CLUSTER,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _socket(s.xds_host, s.xds_port)}}]}
            ],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": TYPE + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {
                    "http2_protocol_options": {
                        "connection_keepalive": {"interval": "10s", "timeout": "20s"}
                    }
                },
            }
        },
    }


def _config_source(s: Settings) -> dict[str, Any]:
    return {
        "ads": {},
        "initial_fetch_timeout": f"{s.initial_fetch_timeout}s",
        "resource_api_version": "V3",
    }


def ads_grpc_service(credential: str) -> dict[str, Any]:
    """The ADS cluster as a gRPC service, sending the proxy's credential on every stream."""
    service: dict[str, Any] = {
        "envoy_grpc": {
            "cluster_name": XDS_CLUSTER,
            "retry_policy": {"retry_back_off": {"base_interval": "0.1s", "max_interval": "0.5s"}},
        }
    }
    if credential:
        service["initial_metadata"] = [{"key": CREDENTIAL_HEADER, "value": credential}]
    return service


def _dynamic_resources(s: Settings) -> dict[str, Any]:
    return {
        "ads_config": {
            "api_type": "DELTA_GRPC" if s.delta else "GRPC",
            "transport_api_version": "V3",
            "set_node_on_first_message_only": True,
            "grpc_services": [ads_grpc_service(s.credential)],
        },
        "cds_config": _config_source(s),
        "lds_config": _config_source(s),
    }


def _admin(s: Settings) -> dict[str, Any]:
    return {
        "address": _socket("127.0.0.1", s.admin_port),
        "access_log": [
            {
                "name": "envoy.access_loggers.file",
                "typed_config": {
                    "@type": TYPE + "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                    "path": s.admin_access_log,
                },
            }
        ],
    }


def _node(s: Settings) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": s.node_id,
        "cluster": s.node_cluster,
        "metadata": {
            "aws.appmesh.mesh": s.mesh,
            "aws.appmesh.resource_type": s.resource_type,
            "aws.appmesh.resource_name": s.resource_name,
        },
    }
    if s.account:
        node["metadata"]["aws.appmesh.account"] = s.account
    if s.region:
        node["locality"] = {"region": s.region}
    return node


def _stats_tags(s: Settings) -> list[dict[str, Any]]:
    """The image's regex tags over `ingress.<protocol>.<port>` stat prefixes, plus fixed mesh and
    resource tags with ENABLE_ENVOY_STATS_TAGS."""
    tags: list[dict[str, Any]] = [
        {"tag_name": "appmesh.listener_protocol",
         "regex": r".*?\.ingress\.((\w+?)\.)[0-9]+?\.(.+?)$"},
        {"tag_name": "appmesh.listener_port", "regex": r".*?\.ingress\.\w+?\.(([0-9]+?)\.)(.+?)$"},
        {"tag_name": "envoy_rds_route_config",
         "regex": r".*?\.ingress\.\w+?\.[0-9]+?\.rds\.((.*?)\.)(.+?)$"},
    ]  # fmt: skip
    if s.stats_tags:
        kind = "appmesh.virtual_gateway" if s.resource_type == "virtualGateway" else (
            "appmesh.virtual_node"
        )  # fmt: skip
        tags += [
            {"tag_name": "appmesh.mesh", "fixed_value": s.mesh},
            {"tag_name": kind, "fixed_value": s.resource_name},
        ]
    return tags


def _tracing(s: Settings) -> dict[str, Any] | None:
    """Bootstrap-level tracing as the image writes it (HCMs opt in with `tracing: {}`)."""
    if s.xray is not None:
        config: dict[str, Any] = {
            "@type": TYPE + "envoy.config.trace.v3.XRayConfig",
            "daemon_endpoint": _socket(s.xray.daemon_host, s.xray.daemon_port, "UDP")[
                "socket_address"
            ],
            "segment_name": s.xray.segment_name,
            "segment_fields": {
                "origin": "AWS::AppMesh::Proxy",
                "aws": {"app_mesh": {"mesh_name": s.mesh, "virtual_node_name": s.resource_name}},
            },
        }
        manifest = s.xray.sampling_rule_manifest or (
            XRAY_SAMPLING_RULES if s.xray.sampling_rate not in (None, 0.05) else ""
        )
        if manifest:
            config["sampling_rule_manifest"] = {"filename": manifest}
        return {"http": {"name": "envoy.tracers.xray", "typed_config": config}}
    if s.datadog is not None:
        return {
            "http": {
                "name": "envoy.tracers.datadog",
                "typed_config": {
                    "@type": TYPE + "envoy.config.trace.v3.DatadogConfig",
                    "collector_cluster": DATADOG_CLUSTER,
                    "service_name": s.datadog.service,
                },
            }
        }
    if s.jaeger is not None:
        return {
            "http": {
                "name": "envoy.tracers.zipkin",
                "typed_config": {
                    "@type": TYPE + "envoy.config.trace.v3.ZipkinConfig",
                    "collector_cluster": "jaeger",
                    "collector_endpoint": "/api/v2/spans",
                    "collector_endpoint_version": "HTTP_PROTO"
                    if s.jaeger.version == "PROTO"
                    else "HTTP_JSON",
                    "shared_span_context": False,
                },
            }
        }
    return None


def _jaeger_cluster(j: Jaeger) -> dict[str, Any]:
    return _collector_cluster("jaeger", j.host, j.port)


def _collector_cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC" if _is_ip(host) else "LOGICAL_DNS",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
        },
    }


def _stats_sinks(s: Settings) -> list[dict[str, Any]]:
    """ENABLE_ENVOY_DOG_STATSD: Envoy's DogStatsD sink over UDP, or the unix socket given."""
    if s.dog_statsd is None:
        return []
    d = s.dog_statsd
    address = {"pipe": {"path": d.socket_path}} if d.socket_path else _socket(d.host, d.port, "UDP")
    return [
        {
            "name": "envoy.stat_sinks.dog_statsd",
            "typed_config": {
                "@type": TYPE + "envoy.config.metrics.v3.DogStatsdSink",
                "address": address,
            },
        }
    ]


def xray_sampling_rules(rate: float) -> dict[str, Any]:
    """The v2 manifest the image writes for XRAY_SAMPLING_RATE."""
    return {"version": 2, "default": {"fixed_target": 1, "rate": rate}, "rules": []}


def bootstrap(s: Settings) -> dict[str, Any]:
    clusters = [_xds_cluster(s)]
    if s.jaeger is not None:
        clusters.append(_jaeger_cluster(s.jaeger))
    if s.datadog is not None:
        clusters.append(_collector_cluster(DATADOG_CLUSTER, s.datadog.host, s.datadog.port))
    config: dict[str, Any] = {
        "node": _node(s),
        "admin": _admin(s),
        "layered_runtime": {
            "layers": [
                {
                    "name": "static_layer_0",
                    "static_layer": {
                        "envoy.features.enable_all_deprecated_features": True,
                        "re2.max_program_size.error_level": 1000,
                    },
                },
                {"name": "admin_layer", "admin_layer": {}},
            ]
        },
        "dynamic_resources": _dynamic_resources(s),
        "static_resources": {"clusters": clusters},
        "stats_config": {"stats_tags": _stats_tags(s)},
    }
    if s.outlier_event_log:
        config["cluster_manager"] = {"outlier_detection": {"event_log_path": s.outlier_event_log}}
    if s.stats_flush_interval_ms:
        config["stats_flush_interval"] = f"{s.stats_flush_interval_ms / 1000:g}s"
    tracing = _tracing(s)
    if tracing is not None:
        config["tracing"] = tracing
    sinks = _stats_sinks(s)
    if sinks:
        config["stats_sinks"] = sinks
    return config


def envoy_argv(envoy: str, config_path: str, s: Settings) -> list[str]:
    """The agent's command line (agent.go), always with --disable-hot-restart."""
    argv = [envoy, "-c", config_path, "-l", s.log_level]
    if s.concurrency is not None:
        argv += ["--concurrency", str(s.concurrency)]
    return [*argv, "--drain-time-s", str(s.drain_seconds), "--disable-hot-restart",
            "--skip-deprecated-logs"]  # fmt: skip
