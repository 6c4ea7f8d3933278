"""`--require-auth FILE`: signatures are verified; the aws CLI and boto3 with the keys work."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib import error
from urllib import request as urlrequest

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import REGION, aws_cli, make_client


@pytest.fixture
def secured(start_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys.yaml"
    keys.write_text(
        "keys:\n  AKIDMESHWAY:\n    secret: correct-horse\n    account: '111122223333'\n"
    )
    return start_server("--require-auth", str(keys))


def test_boto3_with_the_right_secret_works_and_acts_in_the_keys_account(secured) -> None:  # type: ignore[no-untyped-def]
    client = make_client(
        secured.url,
        "appmesh",
        aws_access_key_id="AKIDMESHWAY",
        aws_secret_access_key="correct-horse",
    )
    mesh = client.create_mesh(meshName="secured")["mesh"]
    assert mesh["metadata"]["meshOwner"] == "111122223333"


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [
        ("AKIDMESHWAY", "wrong", "InvalidSignatureException"),
        ("AKIDUNKNOWN", "correct-horse", "UnrecognizedClientException"),
    ],
)
def test_a_bad_signature_gets_the_aws_error_and_changes_nothing(secured, key, secret, code) -> None:  # type: ignore[no-untyped-def]
    client = make_client(
        secured.url, "appmesh", aws_access_key_id=key, aws_secret_access_key=secret
    )
    with pytest.raises(ClientError) as caught:
        client.create_mesh(meshName="intruder")
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    good = make_client(
        secured.url,
        "appmesh",
        aws_access_key_id="AKIDMESHWAY",
        aws_secret_access_key="correct-horse",
    )
    assert good.list_meshes()["meshes"] == []


def test_the_aws_cli_with_matching_credentials_works_unchanged(secured) -> None:  # type: ignore[no-untyped-def]
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="AKIDMESHWAY",
        AWS_SECRET_ACCESS_KEY="correct-horse",
        AWS_DEFAULT_REGION="eu-west-1",
    )
    out = subprocess.run(
        [
            *aws_cli(),
            "appmesh",
            "create-mesh",
            "--mesh-name",
            "cli-mesh",
            "--endpoint-url",
            secured.url,
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["mesh"]["metadata"]["arn"] == (
        "arn:aws:appmesh:eu-west-1:111122223333:mesh/cli-mesh"
    )
    bad = subprocess.run(
        [*aws_cli(), "appmesh", "list-meshes", "--endpoint-url", secured.url],
        env=dict(env, AWS_SECRET_ACCESS_KEY="nope"),
        check=False,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "InvalidSignatureException" in bad.stderr


def signed_request(url: str, body: bytes, *, when: datetime | None = None) -> AWSRequest:
    """A CreateMesh request signed as botocore signs it, optionally at another time."""
    request = AWSRequest(
        method="PUT",
        url=f"{url}/v20190125/meshes",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    credentials = Credentials("AKIDMESHWAY", "correct-horse")
    signer = SigV4Auth(credentials, "appmesh", REGION)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(request)
    return request


def send(request: AWSRequest, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """Send as signed (or with another body); the status and the JSON answer, with the error
    type of a rest-json error (its x-amzn-ErrorType header) as `__type`."""
    prepared = request.prepare()
    data = prepared.body if body is None else body
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    sent = urlrequest.Request(prepared.url, data=data, headers=headers, method=prepared.method)
    try:
        with urlrequest.urlopen(sent, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except error.HTTPError as failed:
        answer = json.loads(failed.read() or b"{}")
        kind = (failed.headers.get("x-amzn-ErrorType") or "").split(":")[0]
        return failed.code, {"__type": kind, **answer}


def error_code(status_and_body: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    status, body = status_and_body
    return status, str(body.get("__type") or body.get("code") or body.get("message"))


def test_a_tampered_body_fails_as_a_wrong_signature_and_creates_nothing(secured) -> None:  # type: ignore[no-untyped-def]
    request = signed_request(secured.url, b'{"meshName": "signed"}')
    status, code = error_code(send(request, body=b'{"meshName": "tampered"}'))
    assert (status, code) == (403, "InvalidSignatureException")
    # A signed x-amz-content-sha256 header naming the original body does not vouch for another.
    hashed = signed_request(secured.url, b'{"meshName": "hashed"}')
    hashed.headers["X-Amz-Content-SHA256"] = hashlib.sha256(hashed.body).hexdigest()
    del hashed.headers["Authorization"]
    SigV4Auth(Credentials("AKIDMESHWAY", "correct-horse"), "appmesh", REGION).add_auth(hashed)
    status, code = error_code(send(hashed, body=b'{"meshName": "tampered"}'))
    assert (status, code) == (403, "InvalidSignatureException")
    assert send(request)[0] == 200  # the untouched request passes: only the body changed
    good = make_client(
        secured.url,
        "appmesh",
        aws_access_key_id="AKIDMESHWAY",
        aws_secret_access_key="correct-horse",
    )
    assert [m["meshName"] for m in good.list_meshes()["meshes"]] == ["signed"]


def test_a_signature_older_than_fifteen_minutes_is_expired(secured) -> None:  # type: ignore[no-untyped-def]
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=16)
    status, body = send(signed_request(secured.url, b'{"meshName": "late"}', when=old))
    assert status == 403
    assert body["__type"] == "InvalidSignatureException"
    assert "Signature expired" in body["message"]
    fresh = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=14)
    assert send(signed_request(secured.url, b'{"meshName": "in-time"}', when=fresh))[0] == 200


def test_a_request_without_a_signature_is_missing_its_token(secured) -> None:  # type: ignore[no-untyped-def]
    status, body = send(AWSRequest(method="GET", url=f"{secured.url}/v20190125/meshes"))
    assert status == 403
    assert body["__type"] == "MissingAuthenticationTokenException"


def test_unsigned_payload_is_refused_where_aws_signs_every_body(secured) -> None:  # type: ignore[no-untyped-def]
    request = signed_request(secured.url, b'{"meshName": "unsigned"}')
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    del request.headers["Authorization"]
    SigV4Auth(Credentials("AKIDMESHWAY", "correct-horse"), "appmesh", REGION).add_auth(request)
    assert error_code(send(request, body=b'{"meshName": "swapped"}'))[0] == 403


def test_a_public_address_needs_keys_or_an_explicit_insecure(tmp_path: Path) -> None:
    meshway = Path(sys.executable).parent / "meshway"
    refused = subprocess.run(
        [str(meshway), "server", "--data-dir", str(tmp_path), "--host", "0.0.0.0", "--no-runtime"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 2
    assert "--require-auth" in refused.stderr and "--insecure" in refused.stderr
    assert not (tmp_path / "meshway.db").exists()
