"""Building Envoy messages from proto3-JSON dicts, and the App Mesh value conversions they share.

The translators write each resource as the dict `json_format` reads (proto field names, `@type`
for `Any`), because that is the form the golden files and Envoy's own docs use. `message()` parses
it strictly (an unknown field is an error, as Envoy's would be a NACK) and re-packs every nested
`Any` deterministically, so equal input always serializes to equal bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar, cast

# Imported for their descriptors: `@type` names in the dicts resolve against these.
from envoy.extensions.access_loggers.file.v3 import file_pb2  # noqa: F401
from envoy.extensions.filters.http.router.v3 import router_pb2  # noqa: F401
from envoy.extensions.filters.listener.original_dst.v3 import original_dst_pb2  # noqa: F401
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2  # noqa: F401
from envoy.extensions.filters.network.http_connection_manager.v3 import (  # noqa: F401
    http_connection_manager_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2  # noqa: F401
from envoy.extensions.retry.host.previous_hosts.v3 import previous_hosts_pb2  # noqa: F401
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2  # noqa: F401
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2  # noqa: F401
from google.protobuf import any_pb2, json_format, symbol_database
from google.protobuf.message import Message

from meshway.xds.names import AGGREGATE_STATS

M = TypeVar("M", bound=Message)
Json = dict[str, Any]

HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
ROUTER = "envoy.extensions.filters.http.router.v3.Router"
ORIGINAL_DST = "envoy.extensions.filters.listener.original_dst.v3.OriginalDst"
TLS_INSPECTOR = "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
DOWNSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
UPSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
FILE_ACCESS_LOG = "envoy.extensions.access_loggers.file.v3.FileAccessLog"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
PREVIOUS_HOSTS = "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"

# App Mesh sets every circuit-breaker threshold to this on meshes created after 2020-07-29
# (translation.md row 3.8; UG envoy-defaults.md).
UNLIMITED = 2147483647


def typed(type_name: str, body: Json | None = None) -> Json:
    return {"@type": f"type.googleapis.com/{type_name}", **(body or {})}


def message(cls: type[M], body: Json) -> M:
    out = cls()
    json_format.ParseDict(body, out)
    repack(out)
    return cast(M, out)


def repack(msg: Message) -> None:
    """Re-pack every nested Any with deterministic serialization (json_format packs maps in
    whatever order the runtime iterates them)."""
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = [value[key] for key in value] if _map_holds_messages(field) else []
        else:
            values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, any_pb2.Any):
                _repack_any(item)
            else:
                repack(item)


def _map_holds_messages(field: Any) -> bool:
    return field.message_type.fields_by_name["value"].message_type is not None


def _repack_any(packed: any_pb2.Any) -> None:
    name = packed.TypeName()
    inner = symbol_database.Default().GetSymbol(name)()
    packed.Unpack(inner)
    repack(inner)
    packed.Pack(inner, deterministic=True)


def duration(value: Mapping[str, Any] | None, default: str | None = None) -> str | None:
    """An App Mesh Duration (`{"unit": "s"|"ms", "value": n}`) as a proto3-JSON duration."""
    if not value:
        return default
    millis = int(value["value"]) * (1000 if value["unit"] == "s" else 1)
    seconds, rest = divmod(millis, 1000)
    return f"{seconds}.{rest:03d}s" if rest else f"{seconds}s"


def millis(value: int) -> str:
    return duration({"unit": "ms", "value": value}) or "0s"


def file_access_logs(logging: Mapping[str, Any] | None) -> list[Json]:
    """`logging.accessLog.file` → the access_log list of every HCM and TCP proxy (rows 7.1-7.4):
    no format keeps Envoy's default line; `text` is used verbatim (no newline added); `json`
    pairs become a JSON format struct."""
    file = ((logging or {}).get("accessLog") or {}).get("file")
    if not file:
        return []
    config: Json = {"path": file["path"]}
    log_format = file.get("format") or {}
    if log_format.get("text") is not None:
        config["log_format"] = {"text_format_source": {"inline_string": log_format["text"]}}
    elif log_format.get("json") is not None:
        pairs = {pair["key"]: pair["value"] for pair in log_format["json"]}
        config["log_format"] = {"json_format": pairs}
    return [{"name": "envoy.access_loggers.file", "typed_config": typed(FILE_ACCESS_LOG, config)}]


def circuit_breakers(limits: Mapping[str, int] | None = None) -> Json:
    """Default-priority thresholds: unlimited unless a connection pool lowers one (row 3.8)."""
    threshold = {
        "max_connections": UNLIMITED,
        "max_pending_requests": UNLIMITED,
        "max_requests": UNLIMITED,
        "max_retries": UNLIMITED,
    }
    threshold.update(limits or {})
    return {"thresholds": [threshold]}


def http2_options() -> Json:
    """Upstream HTTP/2 cleartext, for http2 and grpc targets (rows 1.14, 4.5.1)."""
    return {
        HTTP_PROTOCOL_OPTIONS: typed(
            HTTP_PROTOCOL_OPTIONS, {"explicit_http_config": {"http2_protocol_options": {}}}
        )
    }


def aggregate_stats(tags: list[Json]) -> Json:
    """The metadata the App Mesh metrics extension reads (rows 1.7, 3.9, 5.1.3)."""
    config = json.dumps({"tags": tags}, separators=(",", ":"))
    return {"filter_metadata": {AGGREGATE_STATS: {"config": config}}}


def socket_address(address: str, port: int) -> Json:
    return {"socket_address": {"address": address, "port_value": port}}
