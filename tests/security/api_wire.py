"""Raw HTTP to the AWS endpoint for the fuzz tests: encode a member dict on the wire of its
service (json-1.1 or rest-json), send it with any headers and body, and read what came back —
the status, the AWS error code wherever the protocol puts it, and the body."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from botocore.model import OperationModel, ServiceModel

from meshway.api.awsproto.model import service_model

SERVICES = ("appmesh", "ecs", "servicediscovery", "xray")
MODELS: dict[str, ServiceModel] = {name: service_model(name) for name in SERVICES}
VALIDATION = {  # the error each service answers a shape violation with (cli/server.py bindings)
    "appmesh": "BadRequestException",
    "ecs": "InvalidParameterException",
    "xray": "InvalidRequestException",
    "servicediscovery": "InvalidInput",
}
# What AWS's front end may answer for any operation (and Meshway's authentication and routing).
GENERIC = {
    "SerializationException",
    "UnknownOperationException",
    "ValidationException",
    "MethodNotAllowedException",
    "BadRequestException",
    "NotFoundException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
}
SERVICE_ERRORS = {
    name: {shape for shape in model.shape_names if model.shape_for(shape).metadata.get("exception")}
    for name, model in MODELS.items()
}
LEAKS = (b"Traceback", b'File "', b"site-packages", b"/meshway/", b".py:", b"sqlalchemy")
PARSER_REFUSAL = b"Invalid HTTP request received."
MARK = "\u0000\u2603MARK\u2603"  # a string no strategy draws: where a raw fragment goes in


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    code: str
    body: bytes


def auth(account: str, service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-west-2/{service}/aws4_request, "
        f"SignedHeaders=host, Signature={'0' * 64}"
    )


def allowed_codes(service: str, op: OperationModel | None) -> set[str]:
    """The operation's declared errors, any error its service model declares (ECS answers
    UnsupportedFeatureException for features Meshway leaves out, on operations whose model
    does not list it), AWS's generic ones and the service's validation error."""
    declared = {shape.name for shape in op.error_shapes} if op is not None else set()
    return declared | SERVICE_ERRORS[service] | GENERIC | {VALIDATION[service]}


def encode(
    service: str, op: OperationModel, params: dict[str, Any], raw: str | None = None
) -> tuple[str, str, dict[str, str], bytes]:
    """(method, path, headers, body) of one call; `raw` replaces the MARK string in the body
    with a JSON fragment (deep nesting, huge numbers) that json.dumps cannot make."""
    model = MODELS[service]
    if "targetPrefix" in model.metadata:  # json-1.1 (Cloud Map's model prefers CBOR first)
        target = f"{model.metadata['targetPrefix']}.{op.name}"
        headers = {"x-amz-target": target, "content-type": "application/x-amz-json-1.1"}
        return "POST", "/", headers, _body(params, raw)
    path, query, body = op.http["requestUri"], [], {}
    for name, member in op.input_shape.members.items() if op.input_shape else ():
        if name not in params:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            path = path.replace("{" + wire + "}", quote(str(params[name]), safe=""))
            path = path.replace("{" + wire + "+}", quote(str(params[name]), safe="/"))
        elif location == "querystring":
            query.append((wire, str(params[name])))
        elif location == "header":
            continue  # free text in a header is the transport test's business
        else:
            body[name] = params[name]
    path = path.split("?")[0] + ("?" + urlencode(query) if query else "")
    headers = {"content-type": "application/json"}
    return op.http["method"], path, headers, _body(body, raw)


def _body(params: dict[str, Any], raw: str | None) -> bytes:
    text = json.dumps(params)
    if raw is not None:
        text = text.replace(json.dumps(MARK), raw)
    return text.encode("utf-8", "surrogatepass")


def send(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes, timeout: float = 30
) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.putheader("content-length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        code = response.getheader("x-amzn-ErrorType", "") or ""
    finally:
        conn.close()
    if response.status >= 400 and not code:
        try:
            code = str(json.loads(data).get("__type", ""))
        except (ValueError, AttributeError):
            code = ""
    return Answer(response.status, code.split(":")[0].split("#")[-1], data)


def assert_safe(answer: Answer, allowed: set[str], what: object) -> None:
    """Never a 5xx, never a traceback or an internal path; every error an AWS code the
    operation may answer, with a message."""
    assert answer.status < 500, (what, answer)
    for leak in LEAKS:
        assert leak not in answer.body, (leak, what, answer.body[:400])
    if answer.status == 400 and answer.body == PARSER_REFUSAL:
        return  # uvicorn's HTTP parser refused the request line or a header before any app code
    if answer.status >= 400:
        assert answer.code in allowed, (answer.code, what, answer.body[:400])
        assert json.loads(answer.body).get("message") is not None, answer.body[:400]
