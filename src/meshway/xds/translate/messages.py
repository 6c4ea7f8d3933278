"""Building Envoy messages from proto3-JSON dicts, and the App Mesh value conversions they share.

The translators write each resource as the dict `json_format` reads (proto field names, `@type`
for `Any`), because that is the form the golden files and Envoy's own docs use. `message()` builds
the message from it directly, field by field through the descriptors (json_format.ParseDict costs
about ten times as much and was most of a translation): strictly (an unknown field is an error, as
Envoy's would be a NACK), well-known types set through their own methods (Duration strings,
wrapper values, Struct, Empty), and every nested `Any` packed with deterministic serialization,
so equal input always serializes to equal bytes — the bytes ParseDict plus a deterministic repack
gave (the determinism tests compare the two).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

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
from google.protobuf import symbol_database
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
    out: M = cls()
    _fill(out, body)
    return out


class MessageBuildError(ValueError):
    """A dict names a field its message does not have (or an unknown enum value or type)."""


# field kinds, decided once per field descriptor
_SCALAR, _SCALARS, _ENUM, _ENUMS, _MESSAGE, _MESSAGES, _MAP_SCALAR, _MAP_MESSAGE = range(8)
_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Bool", "Bytes", "Double", "Float", "Int32", "Int64", "String", "UInt32", "UInt64")
)
_ANY = "google.protobuf.Any"
_Plan = dict[str, tuple[int, Any]]
_plans: dict[str, _Plan] = {}


def _plan(descriptor: Any) -> _Plan:
    """Field name → (kind, extra) for one message type (extra: enum values by name)."""
    plan = _plans.get(descriptor.full_name)
    if plan is not None:
        return plan
    plan = {}
    for field in descriptor.fields:
        kind: int
        extra: Any = None
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            holds_messages = field.message_type.fields_by_name["value"].message_type is not None
            kind = _MAP_MESSAGE if holds_messages else _MAP_SCALAR
        elif field.message_type is not None:
            kind = _MESSAGES if field.is_repeated else _MESSAGE
        elif field.enum_type is not None:
            kind = _ENUMS if field.is_repeated else _ENUM
            extra = {value.name: value.number for value in field.enum_type.values}
        else:
            kind = _SCALARS if field.is_repeated else _SCALAR
        plan[field.name] = (kind, extra)
    _plans[descriptor.full_name] = plan
    return plan


def _fill(out: Message, body: Mapping[str, Any]) -> None:
    plan = _plan(out.DESCRIPTOR)
    for key, value in body.items():
        if value is None:  # as json_format: a None leaves the field unset
            continue
        found = plan.get(key)
        if found is None:
            raise MessageBuildError(f"{out.DESCRIPTOR.full_name} has no field {key!r}")
        _assign(out, key, *found, value)


def _assign(out: Message, key: str, kind: int, extra: Any, value: Any) -> None:
    if kind == _SCALAR:
        setattr(out, key, value)
    elif kind == _MESSAGE:
        _set(getattr(out, key), value)
    elif kind == _MESSAGES:
        items = getattr(out, key)
        for item in value:
            _set(items.add(), item)
    elif kind == _ENUM:
        setattr(out, key, _enum(extra, value, key))
    elif kind == _SCALARS:
        getattr(out, key).extend(value)
    elif kind == _ENUMS:
        getattr(out, key).extend(_enum(extra, item, key) for item in value)
    elif kind == _MAP_SCALAR:
        getattr(out, key).update(value)
    else:  # _MAP_MESSAGE
        entries = getattr(out, key)
        for map_key, item in value.items():
            _set(entries[map_key], item)


def _enum(values: Mapping[str, int], value: Any, key: str) -> int:
    if not isinstance(value, str):
        return int(value)
    if value not in values:
        raise MessageBuildError(f"{value!r} is not a value of {key}")
    return values[value]


def _set(target: Message, value: Any) -> None:
    """One message-typed value, well-known types in their JSON forms."""
    name = target.DESCRIPTOR.full_name
    if name == "google.protobuf.Duration":
        target.FromJsonString(value)
    elif name in _WRAPPERS:
        target.value = value
    elif name == "google.protobuf.Struct":
        target.Clear()
        target.update(value)
    elif name == _ANY:
        _pack(target, value)
    else:
        target.SetInParent()
        _fill(target, value)


def _pack(target: Message, value: Mapping[str, Any]) -> None:
    type_name = str(value["@type"]).rsplit("/", 1)[-1]
    try:
        inner = symbol_database.Default().GetSymbol(type_name)()
    except KeyError as error:
        raise MessageBuildError(f"unknown message type {type_name!r}") from error
    _fill(inner, {key: item for key, item in value.items() if key != "@type"})
    target.Pack(inner, deterministic=True)


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
