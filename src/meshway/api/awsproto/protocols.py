"""Request decoding and response encoding for the two wire protocols Meshway speaks.

* rest-json (App Mesh, X-Ray): the operation is found from method + URI template; members come from
  URI labels, the query string, headers and the JSON body; outputs may name a `payload` member that
  is the whole body; errors carry `x-amzn-ErrorType` and `{"message": ...}`.
* json 1.1 (ECS, Cloud Map): `POST /` with `X-Amz-Target: <prefix>.<Operation>`; the body is the
  input; errors are `{"__type": code, "message": ...}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from meshway.api.awsproto.serialize import serialize
from meshway.core.errors import AwsError, SerializationException, UnknownOperationException

JSON_11 = "application/x-amz-json-1.1"
REST_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Encoded:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class RestRoute:
    method: str
    pattern: re.Pattern[str]
    labels: dict[str, str]  # URI label → member name
    literal_length: int
    operation: OperationModel


def _compile(op: OperationModel) -> RestRoute:
    uri = op.http["requestUri"].split("?", 1)[0]
    label_members = (
        {
            member.serialization.get("name", name): name
            for name, member in op.input_shape.members.items()
            if member.serialization.get("location") == "uri"
        }
        if op.input_shape is not None
        else {}
    )
    regex = ""
    for part in re.split(r"(\{[^}]+\})", uri):
        if part.startswith("{"):
            label = part[1:-1].rstrip("+")
            group = ".+" if part.endswith("+}") else "[^/]+"
            regex += f"(?P<{_group(label)}>{group})"
        else:
            regex += re.escape(part)
    literal = len(re.sub(r"\{[^}]+\}", "", uri))
    return RestRoute(
        method=op.http["method"],
        pattern=re.compile(f"^{regex}/?$"),
        labels=label_members,
        literal_length=literal,
        operation=op,
    )


def _group(label: str) -> str:
    return re.sub(r"\W", "_", label)


class RestJsonProtocol:
    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        routes = [_compile(model.operation_model(name)) for name in model.operation_names]
        self._routes = sorted(routes, key=lambda r: -r.literal_length)

    def claims(self, path: str) -> bool:
        return any(route.pattern.match(path) for route in self._routes)

    def route(self, method: str, path: str) -> tuple[OperationModel, dict[str, str]]:
        allowed = False
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            allowed = True
            if route.method == method:
                labels = {
                    member: unquote(match.group(_group(label)))
                    for label, member in route.labels.items()
                }
                return route.operation, labels
        if allowed:
            raise AwsError("Method not allowed", code="MethodNotAllowedException", status=405)
        raise UnknownOperationException(f"No operation matches {method} {path}")

    def decode(
        self,
        op: OperationModel,
        labels: dict[str, str],
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        params: dict[str, Any] = {}
        payload = shape.serialization.get("payload")
        if payload is not None:
            if body:
                params[payload] = _json_body(body)
        elif body and body.strip():
            decoded = _json_body(body)
            if not isinstance(decoded, dict):
                raise SerializationException("Request body must be a JSON object")
            params.update(decoded)
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri" and name in labels:
                params[name] = _scalar(member, labels[name])
            elif location == "querystring":
                _from_query(params, name, wire, member, query)
            elif location == "header" and wire.lower() in headers:
                params[name] = _scalar(member, headers[wire.lower()])
        return params

    def encode(self, op: OperationModel, output: dict[str, Any] | None) -> Encoded:
        status = int(op.http.get("responseCode", 200))
        headers = {"content-type": REST_JSON}
        shape = op.output_shape
        if shape is None or output is None:
            return Encoded(status, headers, b"{}")
        payload = shape.serialization.get("payload")
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            if location == "header" and output.get(name) is not None:
                headers[member.serialization.get("name", name).lower()] = str(output[name])
            elif location == "statusCode" and output.get(name) is not None:
                status = int(output[name])
        if payload is not None:
            body = serialize(shape.members[payload], output.get(payload)) or {}
        else:
            body = serialize(shape, output) or {}
        return Encoded(status, headers, orjson.dumps(body))

    def encode_error(self, error: AwsError, status: int) -> Encoded:
        headers = {"content-type": REST_JSON, "x-amzn-errortype": error.code}
        return Encoded(status, headers, orjson.dumps({"message": error.message}))


class Json11Protocol:
    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.prefix = model.metadata["targetPrefix"]

    def route(self, target: str) -> OperationModel:
        prefix, _, name = target.partition(".")
        if prefix != self.prefix or name not in self.model.operation_names:
            raise UnknownOperationException(f"Unknown operation {target}")
        return self.model.operation_model(name)

    def decode(self, op: OperationModel, body: bytes) -> dict[str, Any]:
        if not body or not body.strip():
            return {}
        decoded = _json_body(body)
        if not isinstance(decoded, dict):
            raise SerializationException("Start of structure or map found where not expected.")
        return decoded

    def encode(self, op: OperationModel, output: dict[str, Any] | None) -> Encoded:
        body = serialize(op.output_shape, output or {}) or {}
        return Encoded(200, {"content-type": JSON_11}, orjson.dumps(body))

    def encode_error(self, error: AwsError, status: int) -> Encoded:
        body = {**error.fields, "__type": error.code, "message": error.message}
        return Encoded(status, {"content-type": JSON_11}, orjson.dumps(body))


def _json_body(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationException("Request body is not valid JSON") from exc


def _from_query(
    params: dict[str, Any], name: str, wire: str, member: Shape, query: list[tuple[str, str]]
) -> None:
    values = [value for key, value in query if key == wire]
    if not values:
        return
    if member.type_name == "list":
        params[name] = [_scalar(member.member, value) for value in values]
    else:
        params[name] = _scalar(member, values[-1])


def _scalar(shape: Shape, text: str) -> Any:
    """A URI label, query or header value in the type its shape declares (bad text stays text,
    so validation reports it)."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        lowered = text.lower()
        return True if lowered == "true" else False if lowered == "false" else text
    return text
