"""The daemon's standard-library SigV4 signs exactly as botocore does."""

from __future__ import annotations

import datetime as dt

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from meshway.xray.signing import Credentials, sign

BODY = b'{"TraceSegmentDocuments": ["{\\"id\\": \\"1\\"}"]}'


def botocore_headers(token: str | None) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url="http://198.18.0.1:7700/TraceSegments",
        data=BODY,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(BotoCredentials("111122223333", "secret", token), "xray", "us-west-2").add_auth(
        request
    )
    return dict(request.headers.items())


def ours(stamp: str, token: str = "") -> dict[str, str]:
    now = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    return sign(
        method="POST",
        host="198.18.0.1:7700",
        path="/TraceSegments",
        headers={"Content-Type": "application/json"},
        body=BODY,
        credentials=Credentials(access_key="111122223333", secret_key="secret", token=token),
        region="us-west-2",
        now=now,
    )


def test_the_authorization_header_equals_botocores() -> None:
    expected = botocore_headers(None)
    mine = ours(expected["X-Amz-Date"])
    assert mine["Authorization"] == expected["Authorization"]
    assert mine["Host"] == "198.18.0.1:7700"


def test_a_session_token_is_sent_and_signed_as_botocore_does() -> None:
    expected = botocore_headers("token/with+chars")
    mine = ours(expected["X-Amz-Date"], token="token/with+chars")
    assert mine["X-Amz-Security-Token"] == "token/with+chars"
    assert mine["Authorization"] == expected["Authorization"]
