"""Hostile input for every AWS API Meshway speaks (issue 9, part 5), on a server of its own.

App Mesh's operations are fuzzed through botocore by tests/api/test_appmesh_fuzz.py; this adds
ECS and Cloud Map (json-1.1) and X-Ray (rest-json) the same way — inputs drawn from the botocore
input shapes, mostly valid and aimed at resources that exist — and then makes them hostile on the
wire: one node replaced by a huge string, odd unicode, deep nesting, a number JSON cannot hold, a
wrong type. For every API, App Mesh included, the transport is abused too: bodies that are not
JSON or not an object, wrong content types, oversized bodies, unknown targets and paths, raw
bytes. Whatever arrives: no 5xx, no traceback or internal path in the answer, an error code the
operation declares (or AWS's generic ones), and no partial state — a request that fails leaves no
change in the store's change feed (read from the server's SQLite file), except the kinds the
service scheduler writes on its own in the background.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.model import OperationModel
from hypothesis import given
from hypothesis import strategies as st

from meshway.cli.server import bindings, services
from meshway.store.sql import open_store
from tests.conftest import ServerProcess, free_port, make_client
from tests.security.api_wire import (
    GENERIC,
    MARK,
    MODELS,
    VALIDATION,
    Answer,
    allowed_codes,
    assert_safe,
    auth,
    encode,
    send,
)
from tests.security.fuzzing import budget, outcome, tried
from tests.strategies import ShapeStrategies

EXAMPLES = 6  # per operation; ~130 operations
BACKGROUND = {"ecs.task", "ecs.service"}  # the service scheduler writes these unasked


class Changes:
    """The server's change feed, read from its SQLite file as another process would."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)

    def revision(self) -> int:
        return int(
            self.conn.execute("SELECT COALESCE(MAX(revision), 0) FROM changes").fetchone()[0]
        )

    def since(self, revision: int) -> list[tuple[str, str, str]]:
        rows = self.conn.execute(
            "SELECT kind, key, op FROM changes WHERE revision > ? ORDER BY id", (revision,)
        )
        return [(str(k), str(key), str(op)) for k, key, op in rows]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("hostile")
    proc = ServerProcess(root / "data", free_port(), ("--no-runtime",)).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def changes(own_server: ServerProcess) -> Iterator[Changes]:
    feed = Changes(own_server.data_dir / "meshway.db")
    yield feed
    feed.conn.close()


# -- a world to aim at -------------------------------------------------------------------------

ACCOUNT = "424242424242"


def _ecs_world(port: int) -> dict[str, st.SearchStrategy[Any]]:
    ecs = make_client(f"http://127.0.0.1:{port}", "ecs", aws_access_key_id=ACCOUNT)
    ecs.create_cluster(clusterName="fuzz")
    container = {"name": "app", "image": "app", "memory": 64, "essential": True}
    arn = ecs.register_task_definition(family="fuzz", containerDefinitions=[container])[
        "taskDefinition"
    ]["taskDefinitionArn"]
    return {
        "cluster": st.sampled_from(["fuzz", "default", "ghost"]),
        "taskDefinition": st.sampled_from(["fuzz", "fuzz:1", arn, "ghost:3"]),
        "family": st.sampled_from(["fuzz", "fuzz2"]),
        "familyPrefix": st.sampled_from(["fuzz", "f"]),
    }


def _cloudmap_world(port: int) -> dict[str, st.SearchStrategy[Any]]:
    sd = make_client(f"http://127.0.0.1:{port}", "servicediscovery", aws_access_key_id=ACCOUNT)
    op = sd.create_http_namespace(Name="fuzz")["OperationId"]
    namespace = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    service = sd.create_service(Name="svc", NamespaceId=namespace)["Service"]["Id"]
    sd.register_instance(
        ServiceId=service, InstanceId="i-1", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"}
    )
    return {
        "NamespaceId": st.sampled_from([namespace, "ns-ghost"]),
        "ServiceId": st.sampled_from([service, "srv-ghost"]),
        "Id": st.sampled_from([namespace, service, "ns-ghost"]),
        "InstanceId": st.sampled_from(["i-1", "i-2"]),
        "NamespaceName": st.sampled_from(["fuzz", "ghost"]),
        "ServiceName": st.sampled_from(["svc", "ghost"]),
        "OperationId": st.sampled_from([op, "ghost"]),
    }


def _xray_world(port: int) -> dict[str, st.SearchStrategy[Any]]:
    xray = make_client(f"http://127.0.0.1:{port}", "xray", aws_access_key_id=ACCOUNT)
    xray.create_group(GroupName="fuzz")
    return {
        "GroupName": st.sampled_from(["fuzz", "Default", "ghost"]),
        "RuleName": st.sampled_from(["Default", "ghost"]),
    }


WORLDS = {"ecs": _ecs_world, "servicediscovery": _cloudmap_world, "xray": _xray_world}


@pytest.fixture(scope="module")
def aims(own_server: ServerProcess) -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    return {service: build(own_server.port) for service, build in WORLDS.items()}


@pytest.fixture(scope="module")
def implemented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """The operations each service object answers (the rest answer UnsupportedOperation)."""
    store = open_store(None, tmp_path_factory.mktemp("introspect"))
    try:
        found = {}
        for binding in bindings(services(store)):
            model = binding.protocol.model
            found[binding.name] = {
                name
                for name in model.operation_names
                if binding.handler(model.operation_model(name)) is not None
            }
        yield found
    finally:
        store.close()


# -- hostile values ----------------------------------------------------------------------------

HOSTILE_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.just("x" * 200_000),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(["\u0000", "\u202e\u200b", "\U0001f4a9" * 50, "../../etc/passwd", "%00%ff"]),
    st.sampled_from([-1, 0, 2**63, -(2**63) - 1, 1.5, True, None, [], {}]),
    st.lists(st.text(max_size=3), min_size=50, max_size=200),
    st.dictionaries(st.text(max_size=4), st.integers(), min_size=30, max_size=60),
)
RAW_FRAGMENTS = st.sampled_from(
    [
        "[" * 3000 + "]" * 3000,
        '{"a":' * 2000 + "1" + "}" * 2000,
        "1e999",
        "123456789012345678901234567890",
        '"\\ud800"',
        "-0",
    ]
)


def _hostile(data: st.DataObject, value: Any) -> tuple[Any, str | None]:
    """`value` with one node inside it replaced: by a hostile value, or by the MARK string that
    `encode` swaps for a raw JSON fragment."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value, key=str)))  # keys may be mis-typed too
        inner, raw = _hostile(data, value[key])
        return {**value, key: inner}, raw
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        inner, raw = _hostile(data, value[index])
        return [*value[:index], inner, *value[index + 1 :]], raw
    if data.draw(st.integers(0, 3)) == 0:
        return MARK, data.draw(RAW_FRAGMENTS)
    return data.draw(HOSTILE_VALUES), None


def _operations(service: str) -> list[tuple[str, str]]:
    return [(service, name) for name in sorted(MODELS[service].operation_names)]


OPERATIONS = [*_operations("ecs"), *_operations("servicediscovery"), *_operations("xray")]


def _check_call(
    server: ServerProcess,
    changes: Changes,
    service: str,
    op: OperationModel,
    request: tuple[str, str, dict[str, str], bytes],
    target: str,
) -> Answer:
    method, path, headers, body = request
    headers = {**headers, "authorization": auth(ACCOUNT, service)}
    before = changes.revision()
    answer = send(server.port, method, path, headers, body)
    tried(target)
    outcome(target, answer.code or str(answer.status))
    assert_safe(answer, allowed_codes(service, op), (op.name, body[:300]))
    declared = {shape.name for shape in op.error_shapes} | GENERIC | {VALIDATION[service]}
    if answer.status >= 400 and answer.code not in declared:  # allowed, but worth a look
        outcome("codes the operation's model does not list", f"{op.name}: {answer.code}")
    if answer.status >= 400 and len(answer.body) > 64 * 1024:  # the input echoed back
        outcome("errors echoing a huge input", f"{service}.{op.name}")
    if answer.status >= 400:
        written = [c for c in changes.since(before) if c[0] not in BACKGROUND]
        assert not written, ("a failed call changed the store", op.name, written, body[:300])
    return answer


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_no_hostile_input_gets_a_5xx_a_traceback_an_undeclared_error_or_partial_state(
    own_server: ServerProcess,
    changes: Changes,
    aims: dict[str, dict[str, st.SearchStrategy[Any]]],
    implemented: dict[str, set[str]],
    service: str,
    operation: str,
) -> None:
    op = MODELS[service].operation_model(operation)
    if operation not in implemented[service]:
        # Not implemented: one well-formed call must still be a plain 4xx, counted apart.
        method, path, headers, body = encode(service, op, {})
        headers = {**headers, "authorization": auth(ACCOUNT, service)}
        answer = send(own_server.port, method, path, headers, body)
        tried("unimplemented operations", service)
        allowed = allowed_codes(service, op) | {"UnsupportedOperation"}
        assert_safe(answer, allowed, operation)
        return
    if op.input_shape is None:
        inputs: st.SearchStrategy[Any] = st.just({})
    else:
        inputs = ShapeStrategies(aims[service]).of(op.input_shape)

    @budget(EXAMPLES, deadline_ms=None)
    @given(params=inputs, data=st.data())
    def call(params: dict[str, Any], data: st.DataObject) -> None:
        _check_call(own_server, changes, service, op, encode(service, op, params), service)
        hostile, raw = _hostile(data, params)
        if not isinstance(hostile, dict):
            hostile = {"x": hostile}
        request = encode(service, op, hostile, raw)
        _check_call(own_server, changes, service, op, request, f"{service} hostile")

    call()


# -- the transport -------------------------------------------------------------------------------

JSON_TARGETS = {
    "ecs": "AmazonEC2ContainerServiceV20141113",
    "servicediscovery": "Route53AutoNaming_v20170314",
}
REST_PATHS = {"appmesh": "/v20190125/meshes", "xray": "/Groups"}
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/x-amz-json-1.1", "text/plain", "application/xml",
     "multipart/form-data; boundary=x", "application/cbor", "", "\u00ff/\u00fe"]
)  # fmt: skip
BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"{", b"[]", b"null", b"1", b'"s"', b"{}" * 3, b"\xef\xbb\xbf{}", b'{"a":1,"a":2}',
         b"[" * 5000 + b"]" * 5000, b'{"x":"' + b"\\u" * 10 + b'"}', b"\x00" * 64]
    ),
)  # fmt: skip


def _target(service: str, data: st.DataObject) -> tuple[str, str, dict[str, str]]:
    """A request line and headers aimed at `service`, sometimes at nothing that exists."""
    if service in JSON_TARGETS:
        prefix = JSON_TARGETS[service]
        operation = data.draw(
            st.sampled_from(sorted(MODELS[service].operation_names))
            | st.sampled_from(["", "Nope", "../../x", "ListClusters\u0000", "a" * 5000])
        )
        target = data.draw(st.sampled_from([f"{prefix}.{operation}", operation, f"X.{operation}"]))
        return "POST", "/", {"x-amz-target": target}
    method = data.draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    path = data.draw(
        st.sampled_from(
            [REST_PATHS[service], REST_PATHS[service] + "/", REST_PATHS[service] + "/%ff%fe/x",
             REST_PATHS[service] + "/" + "a" * 9000, "/v20190125/meshes/%2e%2e/%2f", "/nope",
             "/v20190125/meshes/m/virtualNodes?limit=-1&nextToken=%00", "/TraceGraph?x=%zz"]
        )
    )  # fmt: skip
    return method, path, {}


@pytest.mark.parametrize("service", ["appmesh", "ecs", "servicediscovery", "xray"])
def test_no_malformed_request_gets_a_5xx_or_a_traceback_or_changes_the_store(
    own_server: ServerProcess, changes: Changes, service: str
) -> None:
    target = f"{service} transport"

    @budget(60, deadline_ms=None)
    @given(data=st.data(), content_type=CONTENT_TYPES, body=BODIES)
    def call(data: st.DataObject, content_type: str, body: bytes) -> None:
        method, path, headers = _target(service, data)
        headers = {**headers, "content-type": content_type}
        if data.draw(st.integers(0, 4)):
            headers["authorization"] = auth(ACCOUNT, service)
        elif data.draw(st.booleans()):
            headers["authorization"] = (
                data.draw(st.text(st.characters(exclude_characters="\r\n"), max_size=80))
                .encode("utf-8", "replace")
                .decode("latin-1")
            )
        before = changes.revision()
        answer = send(own_server.port, method, path, headers, body)
        tried(target)
        outcome(target, answer.code or str(answer.status))
        allowed = allowed_codes(service, None) | {"UnsupportedOperation"}  # see above
        assert_safe(answer, allowed, (method, path, headers, body[:200]))
        if answer.status >= 400:
            assert not [c for c in changes.since(before) if c[0] not in BACKGROUND]

    call()


@pytest.mark.parametrize("service", ["appmesh", "ecs", "servicediscovery", "xray"])
def test_an_oversized_body_is_refused_with_413_and_the_server_stays_up(
    own_server: ServerProcess, service: str
) -> None:
    """32 MiB of JSON string in the member that names the new resource: refused before any
    service sees it (api/app.py MAX_BODY), not echoed, nothing stored, and the server still
    serves."""
    member, method, path, headers = {
        "appmesh": ("meshName", "PUT", "/v20190125/meshes", {}),
        "ecs": (
            "clusterName",
            "POST",
            "/",
            {"x-amz-target": f"{JSON_TARGETS['ecs']}.CreateCluster"},
        ),
        "servicediscovery": (
            "Name",
            "POST",
            "/",
            {"x-amz-target": f"{JSON_TARGETS['servicediscovery']}.CreateHttpNamespace"},
        ),
        "xray": ("GroupName", "POST", "/CreateGroup", {}),
    }[service]
    huge = b'{"' + member.encode() + b'":"' + b"a" * (32 * 1024 * 1024) + b'"}'
    headers = {
        **headers,
        "content-type": "application/json",
        "authorization": auth(ACCOUNT, service),
    }
    answer = send(own_server.port, method, path, headers, huge, timeout=120)
    tried(f"{service} transport")
    assert_safe(answer, {"RequestEntityTooLargeException"}, "32 MiB body")
    assert answer.status == 413
    assert len(answer.body) < 4096  # the input is not echoed back
    health = send(own_server.port, "GET", "/health", {}, b"")
    assert health.status == 200


NULLS = [
    ("ecs", "CreateCluster", {"clusterName": None}),
    ("ecs", "ListClusters", {"nextToken": None, "maxResults": None}),
    ("ecs", "DescribeClusters", {"clusters": None, "include": None}),
    ("servicediscovery", "CreateHttpNamespace", {"Name": "nulls", "Description": None}),
    ("servicediscovery", "ListNamespaces", {"Filters": None, "NextToken": None}),
    ("xray", "CreateGroup", {"GroupName": "nulls", "FilterExpression": None}),
    ("xray", "GetGroups", {"NextToken": None}),
    ("appmesh", "CreateMesh", {"meshName": "nulls", "spec": None, "tags": None}),
]


@pytest.mark.parametrize(("service", "operation", "params"), NULLS, ids=lambda v: str(v)[:20])
def test_a_member_sent_as_json_null_is_taken_as_absent_not_a_500(
    own_server: ServerProcess, changes: Changes, service: str, operation: str, params: Any
) -> None:
    """Regression: `{"clusterName": null}` reached ECS's CreateCluster as None (500)."""
    op = MODELS[service].operation_model(operation)
    answer = _check_call(own_server, changes, service, op, encode(service, op, params), "nulls")
    assert answer.status == 200, answer
