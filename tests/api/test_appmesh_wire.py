"""The App Mesh wire seen without an SDK (http.client): headers, bodies, unknown paths, bounds."""

from __future__ import annotations

import http.client
import json
import sqlite3
from typing import Any
from urllib.parse import quote, urlparse

import pytest

from tests.api.appmesh_kinds import aws_error


def _request(
    server: Any, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        headers = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def _assert_aws_error(
    status: int, headers: dict[str, str], body: bytes, *, code: str, expected: int
) -> None:
    assert status == expected, body
    assert headers["x-amzn-errortype"].split(":")[0] == code
    assert headers["content-type"].startswith("application/json")
    document = json.loads(body)
    assert isinstance(document["message"], str) and document["message"]
    assert b"Traceback" not in body


def test_an_error_carries_its_type_header_and_a_message_body(server: Any, unique: str) -> None:
    status, headers, body = _request(server, "GET", f"/v20190125/meshes/{unique}")
    _assert_aws_error(status, headers, body, code="NotFoundException", expected=404)
    assert headers.get("x-amzn-requestid")


def test_a_success_is_json_with_epoch_second_timestamps(server: Any, unique: str) -> None:
    body = json.dumps({"meshName": unique, "clientToken": "t1"}).encode()
    status, headers, raw = _request(server, "PUT", "/v20190125/meshes", body)
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    document = json.loads(raw)
    assert document["meshName"] == unique  # the payload member is the whole body
    assert isinstance(document["metadata"]["createdAt"], (int, float))
    assert document["metadata"]["version"] == 1
    status, headers, raw = _request(server, "DELETE", f"/v20190125/meshes/{unique}")
    assert status == 200 and json.loads(raw)["status"] == {"status": "DELETED"}


@pytest.mark.parametrize(
    "path", ["/nope", "/v20190125/nope", "/v20190125/meshes/a/b/c/d/e/f/g", "/favicon.ico"]
)
def test_an_unknown_path_is_a_json_404(server: Any, path: str) -> None:
    status, headers, body = _request(server, "GET", path)
    assert status == 404, body
    assert headers["content-type"].startswith("application/json")
    assert "x-amzn-errortype" in headers
    assert isinstance(json.loads(body)["message"], str)


def test_an_unsupported_method_is_a_json_error(server: Any) -> None:
    status, headers, body = _request(server, "POST", "/v20190125/meshes", b"{}")
    assert 400 <= status < 500
    assert "x-amzn-errortype" in headers and json.loads(body)["message"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_malformed_body_is_a_400_json_error(server: Any, body: bytes) -> None:
    status, headers, raw = _request(server, "PUT", "/v20190125/meshes", body)
    assert status == 400, raw
    assert "x-amzn-errortype" in headers and json.loads(raw)["message"]
    assert b"Traceback" not in raw


def test_an_encoded_slash_stays_inside_its_uri_label(server: Any, unique: str) -> None:
    # The label keeps its `/` (it does not route to another operation), and a name with `/` is
    # refused: it would make ARNs ambiguous.
    status, headers, body = _request(server, "GET", f"/v20190125/meshes/{unique}%2Fx")
    _assert_aws_error(status, headers, body, code="BadRequestException", expected=400)
    assert b"must not contain '/'" in body
    _request(server, "PUT", "/v20190125/meshes", json.dumps({"meshName": unique}).encode())
    status, _, body = _request(server, "GET", f"/v20190125/meshes/{quote(unique, safe='')}")
    assert status == 200, body


@pytest.mark.parametrize(
    ("operation", "limit"),
    [
        ("list_meshes", 0),
        ("list_meshes", 101),
        ("list_virtual_nodes", 0),
        ("list_tags_for_resource", 51),
    ],
)
def test_a_list_limit_outside_the_model_range_is_a_bad_request(
    server: Any, account: str, operation: str, limit: int
) -> None:
    raw = server.client(
        "appmesh", aws_access_key_id=account, config_kwargs={"parameter_validation": False}
    )
    arn = f"arn:aws:appmesh:us-west-2:{account}:mesh/m"
    args = {
        "list_meshes": {},
        "list_virtual_nodes": {"meshName": "m"},
        "list_tags_for_resource": {"resourceArn": arn},
    }[operation]
    with aws_error("BadRequestException", 400):
        getattr(raw, operation)(limit=limit, **args)


def test_a_list_of_a_hundred_fits_one_page_by_default(appmesh: Any, unique: str) -> None:
    appmesh.create_mesh(meshName=unique)
    for index in range(101):
        appmesh.create_virtual_service(meshName=unique, virtualServiceName=f"s{index}", spec={})
    page = appmesh.list_virtual_services(meshName=unique)
    assert len(page["virtualServices"]) == 100
    rest = appmesh.list_virtual_services(meshName=unique, nextToken=page["nextToken"])
    assert [s["virtualServiceName"] for s in rest["virtualServices"]] == ["s100"]
    assert "nextToken" not in rest


def test_unknown_members_are_ignored_and_never_stored(server: Any, unique: str) -> None:
    body = {
        "meshName": unique,
        "surprise": 1,
        "": None,
        "spec": {"egressFilter": {"type": "ALLOW_ALL", "junk": [1]}, "junk": {"x": 1}},
    }
    status, _, raw = _request(server, "PUT", "/v20190125/meshes", json.dumps(body).encode())
    assert status == 200, raw
    assert json.loads(raw)["spec"] == {"egressFilter": {"type": "ALLOW_ALL"}}
    database = sqlite3.connect(f"file:{server.data_dir / 'meshway.db'}?mode=ro", uri=True)
    try:
        rows = database.execute(
            "SELECT body FROM resources WHERE key LIKE ?", (f"%:mesh/{unique}",)
        ).fetchall()
    finally:
        database.close()
    assert len(rows) == 1
    assert b"junk" not in rows[0][0] and b"surprise" not in rows[0][0]
