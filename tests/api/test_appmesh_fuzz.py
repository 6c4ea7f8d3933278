"""Property-based fuzzing of all 38 App Mesh operations, inputs drawn from the botocore shapes.

Each operation gets a fresh account holding one of every kind, and a bounded number of inputs
from `tests/strategies.py` (mostly valid, sometimes one constraint broken; names aimed at the
resources that exist), sent by botocore with its own validation off. Whatever the input: no 5xx,
no traceback in any body, and every rejection is an AWS error the operation's model lists (or a
generic one for a URI that names no operation), with its `x-amzn-ErrorType` header.
"""

from __future__ import annotations

import http.client
import json
import os
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.appmesh_kinds import (
    GATEWAY_ROUTE_SPECS,
    GATEWAY_SPECS,
    MODEL,
    NODE_SPECS,
    ROUTE_SPECS,
    ROUTER_SPECS,
)
from tests.strategies import NAME_ALPHABET, ShapeStrategies

EXAMPLES = int(os.environ.get("MESHWAY_FUZZ_EXAMPLES", "40"))
GENERIC = {"BadRequestException", "NotFoundException", "UnknownOperationException"}
TRIED: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()


def summary() -> str | None:
    """What the fuzzing tried (shown by `tests/api/conftest.py` in pytest's terminal summary)."""
    if not TRIED:
        return None
    raw = {op: n for op, n in TRIED.items() if op.startswith("raw ")}
    sdk = sum(TRIED.values()) - sum(raw.values())
    return (
        f"appmesh fuzz: {sdk} inputs through botocore over {len(TRIED) - len(raw)} operations "
        f"and {sum(raw.values())} raw JSON bodies over {len(raw)} operations "
        f"({EXAMPLES} per operation at most); outcomes {dict(sorted(OUTCOMES.items()))}"
    )


def _world(client: Any, mesh: str) -> None:
    ids = {"meshName": mesh}
    client.create_mesh(**ids)
    client.create_virtual_node(**ids, virtualNodeName="target", spec=NODE_SPECS[0])
    client.create_virtual_node(**ids, virtualNodeName="n2", spec=NODE_SPECS[1])
    client.create_virtual_router(**ids, virtualRouterName="vr", spec=ROUTER_SPECS[0])
    client.create_route(**ids, virtualRouterName="vr", routeName="r", spec=ROUTE_SPECS[0])
    client.create_virtual_service(
        **ids,
        virtualServiceName="svc.local",
        spec={"provider": {"virtualRouter": {"virtualRouterName": "vr"}}},
    )
    client.create_virtual_gateway(**ids, virtualGatewayName="vg", spec=GATEWAY_SPECS[0])
    client.create_gateway_route(
        **ids, virtualGatewayName="vg", gatewayRouteName="gr", spec=GATEWAY_ROUTE_SPECS[0]
    )


def _aimed(*names: str) -> st.SearchStrategy[str]:
    """Mostly a name that exists (or a plausible new one); one time in ten, any printable text."""
    anything = st.text(NAME_ALPHABET, min_size=1, max_size=20)
    return st.integers(0, 9).flatmap(lambda n: anything if n == 0 else st.sampled_from(names))


def _names(account: str, mesh: str) -> dict[str, st.SearchStrategy[Any]]:
    arn = f"arn:aws:appmesh:us-west-2:{account}:mesh/{mesh}"
    node = _aimed("target", "n2", "new-node", "ghost")
    service = _aimed("svc.local", "new.svc.local", "ghost.local")
    return {
        "meshName": _aimed(mesh, mesh, mesh, "absent-mesh", "new-mesh"),
        "virtualNodeName": node,
        "virtualNode": node,
        "virtualRouterName": _aimed("vr", "new-router", "ghost"),
        "routeName": _aimed("r", "new-route", "ghost"),
        "virtualServiceName": service,
        "virtualGatewayName": _aimed("vg", "new-gateway", "ghost"),
        "gatewayRouteName": _aimed("gr", "new-gateway-route", "ghost"),
        "meshOwner": st.sampled_from([account, account, "000000000000"]),
        "clientToken": st.sampled_from(["token-a", "token-b", "token-c"]),
        "resourceArn": st.sampled_from(
            [
                arn,
                f"{arn}/virtualNode/target",
                f"{arn}/virtualRouter/vr/route/r",
                f"{arn}/virtualGateway/vg/gatewayRoute/gr",
                f"{arn}/virtualService/svc.local",
                f"{arn}/virtualNode/ghost",
                "arn:aws:appmesh:us-west-2:1:mesh",
                "not-an-arn",
            ]
        ),
    }


class Observed:
    """The raw HTTP answer to the last call, seen through botocore's `after-call` event."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    def __call__(self, http_response: Any, **_: Any) -> None:
        self.status = http_response.status_code
        self.headers = {k.lower(): v for k, v in http_response.headers.items()}
        self.body = http_response.content


@pytest.mark.parametrize("operation", sorted(MODEL.operation_names))
def test_no_input_makes_the_operation_fail_with_a_5xx_or_a_non_aws_error(
    server: Any, account: str, operation: str
) -> None:
    client = server.client(
        "appmesh", aws_access_key_id=account, config_kwargs={"parameter_validation": False}
    )
    observed = Observed()
    client.meta.events.register("after-call", observed)
    mesh = "fuzz"
    _world(client, mesh)
    model = MODEL.operation_model(operation)
    allowed = {shape.name for shape in model.error_shapes} | GENERIC
    inputs = ShapeStrategies(_names(account, mesh)).of(model.input_shape)
    method = getattr(client, _snake(operation))

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(params=inputs)
    def call(params: dict[str, Any]) -> None:
        TRIED[operation] += 1
        try:
            method(**params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            OUTCOMES[code] += 1
            assert observed.status < 500, (params, observed.body)
            assert code in allowed, (code, params, observed.body)
            assert observed.headers.get("x-amzn-errortype", "").split(":")[0] == code
        else:
            OUTCOMES["ok"] += 1
            assert observed.status == 200, (params, observed.body)
        assert b"Traceback" not in observed.body and b'File "' not in observed.body

    call()
    assert client.list_meshes()["ResponseMetadata"]["HTTPStatusCode"] == 200


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


# -- below botocore: any JSON where the model expects a document --------------------------

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
BODY_OPERATIONS = sorted(
    name
    for name in MODEL.operation_names
    if any(
        m.serialization.get("location") is None
        for m in MODEL.operation_model(name).input_shape.members.values()
    )
)
BODY_MEMBERS = {
    name: sorted(
        member
        for member, shape in MODEL.operation_model(name).input_shape.members.items()
        if shape.serialization.get("location") is None
    )
    for name in BODY_OPERATIONS
}


def _mutate(data: st.DataObject, value: Any) -> Any:
    """`value` with one node, somewhere inside it, replaced by arbitrary JSON."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return {**value, key: _mutate(data, value[key])}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], _mutate(data, value[index]), *value[index + 1 :]]
    return data.draw(ANY_JSON)


def _wire(operation: str, params: dict[str, Any]) -> tuple[str, str, bytes]:
    model = MODEL.operation_model(operation)
    path, query, body = model.http["requestUri"], [], {}
    for name, member in model.input_shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if name not in params:
            continue
        if location == "uri":
            path = path.replace("{" + wire + "}", quote(str(params[name]), safe=""))
        elif location == "querystring":
            query.append((wire, str(params[name])))
        else:
            body[name] = params[name]
    path = path.split("?")[0] + ("?" + urlencode(query) if query else "")
    return model.http["method"], path, json.dumps(body).encode()


@pytest.mark.parametrize("operation", BODY_OPERATIONS)
def test_no_json_body_makes_the_operation_fail_with_a_5xx_or_a_traceback(
    server: Any, account: str, operation: str
) -> None:
    client = server.client("appmesh", aws_access_key_id=account)
    _world(client, "fuzz")
    valid = ShapeStrategies(_names(account, "fuzz"), violations=False)
    inputs = valid.of(MODEL.operation_model(operation).input_shape)
    url = urlparse(server.url)
    auth = (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-west-2/appmesh/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )

    @settings(
        max_examples=max(EXAMPLES // 2, 5),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(params=inputs, data=st.data())
    def call(params: dict[str, Any], data: st.DataObject) -> None:
        TRIED["raw " + operation] += 1
        method, path, body = _wire(operation, params)
        body_params = json.loads(body)
        key = data.draw(st.sampled_from(BODY_MEMBERS[operation]))  # the body stays an object
        mutated = {**body_params, key: _mutate(data, body_params.get(key))}
        body = json.dumps(mutated).encode()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            conn.request(
                method,
                path,
                body=body,
                headers={"authorization": auth, "content-type": "application/json"},
            )
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        assert response.status < 500, (mutated, raw)
        assert b"Traceback" not in raw and b'File "' not in raw
        if response.status >= 400:
            code = response.getheader("x-amzn-ErrorType", "")
            OUTCOMES["raw " + code] += 1
            assert code and json.loads(raw)["message"], raw
        else:
            OUTCOMES["raw ok"] += 1

    call()
