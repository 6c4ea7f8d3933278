"""SigV4 verification against requests signed by botocore itself (the reference signer)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from meshway.api import sigv4
from meshway.core.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

KEYS = {"AKIDEXAMPLE": sigv4.Key(secret="s3cr3t", account="123456789012")}


def signed(
    method: str = "PUT",
    url: str = "http://127.0.0.1:7700/v20190125/meshes?meshOwner=123456789012&limit=5",
    body: bytes = b'{"meshName": "m"}',
    secret: str = "s3cr3t",
    key: str = "AKIDEXAMPLE",
    service: str = "appmesh",
) -> sigv4.SignedRequest:
    request = AWSRequest(
        method=method, url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(key, secret), service, "us-west-2").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = parts.netloc
    return sigv4.SignedRequest(
        method=method, raw_path=parts.path, raw_query=parts.query, headers=headers, body=body
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_request_signed_by_botocore_verifies_and_names_its_account_and_region() -> None:
    identity = sigv4.verify(signed(), KEYS, now())
    assert identity == sigv4.Identity(
        account="123456789012", region="us-west-2", access_key="AKIDEXAMPLE"
    )


def test_a_path_with_encoded_characters_verifies() -> None:
    request = signed(method="GET", url="http://127.0.0.1:7700/v20190125/meshes/a%3Ab", body=b"")
    assert sigv4.verify(request, KEYS, now()).account == "123456789012"


def test_a_wrong_secret_is_an_invalid_signature() -> None:
    with pytest.raises(InvalidSignatureException):
        sigv4.verify(signed(secret="wrong"), KEYS, now())


def test_a_tampered_body_is_an_invalid_signature() -> None:
    request = signed()
    tampered = sigv4.SignedRequest(
        method=request.method,
        raw_path=request.raw_path,
        raw_query=request.raw_query,
        headers=request.headers,
        body=b'{"meshName": "other"}',
    )
    with pytest.raises(InvalidSignatureException):
        sigv4.verify(tampered, KEYS, now())


def test_a_tampered_query_is_an_invalid_signature() -> None:
    request = signed()
    tampered = sigv4.SignedRequest(
        method=request.method,
        raw_path=request.raw_path,
        raw_query="meshOwner=999999999999&limit=5",
        headers=request.headers,
        body=request.body,
    )
    with pytest.raises(InvalidSignatureException):
        sigv4.verify(tampered, KEYS, now())


def test_a_signature_older_than_fifteen_minutes_has_expired() -> None:
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        sigv4.verify(signed(), KEYS, now() + dt.timedelta(minutes=16))


def test_an_unknown_access_key_is_an_unrecognized_client() -> None:
    with pytest.raises(UnrecognizedClientException):
        sigv4.verify(signed(key="AKIDUNKNOWN"), KEYS, now())


def test_a_request_without_authorization_is_missing_its_token() -> None:
    request = signed()
    headers = {k: v for k, v in request.headers.items() if k != "authorization"}
    bare = sigv4.SignedRequest(
        method="PUT",
        raw_path=request.raw_path,
        raw_query=request.raw_query,
        headers=headers,
        body=request.body,
    )
    with pytest.raises(MissingAuthenticationTokenException):
        sigv4.verify(bare, KEYS, now())


def test_a_malformed_authorization_header_is_an_incomplete_signature() -> None:
    request = signed()
    headers = dict(request.headers, authorization="AWS4-HMAC-SHA256 Credential=garbage")
    broken = sigv4.SignedRequest(
        method="PUT",
        raw_path=request.raw_path,
        raw_query=request.raw_query,
        headers=headers,
        body=request.body,
    )
    with pytest.raises(IncompleteSignatureException):
        sigv4.verify(broken, KEYS, now())


def test_developer_mode_takes_a_twelve_digit_access_key_as_the_account() -> None:
    auth = sigv4.parse_authorization(signed(key="111122223333").headers["authorization"])
    assert sigv4.identify(auth).account == "111122223333"
    other = sigv4.parse_authorization(signed(key="AKIDEXAMPLE").headers["authorization"])
    assert sigv4.identify(other).account == "000000000000"
    assert sigv4.identify(other).region == "us-west-2"
