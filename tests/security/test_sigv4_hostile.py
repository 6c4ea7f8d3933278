"""Hostile signatures under `--require-auth` (issue 9, parts 1 and 5): whatever the
Authorization, X-Amz-Date, path, query and body, verification ends in the caller's identity or
one of AWS's authentication errors, never another exception (which the endpoint would turn into
a bare 500), and a failure's message never contains the secret or the expected signature."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from meshway.api import sigv4
from meshway.core.errors import AwsError
from tests.security.fuzzing import budget, outcome, tried

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEYS = {"AKIDFUZZ": sigv4.Key(secret=SECRET, account="123456789012")}
NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
LATIN = st.text(st.characters(max_codepoint=0xFF), max_size=60)

credentials = st.one_of(
    st.just("AKIDFUZZ/20260101/us-west-2/appmesh/aws4_request"),
    st.builds(
        lambda key, date, rest: f"{key}/{date}/{rest}",
        st.sampled_from(["AKIDFUZZ", "", "AKIDOTHER", "123456789012"]),
        st.sampled_from(["20260101", "", "9999", "20260101T000000Z", "\u00ff"]),
        LATIN,
    ),
)
authorizations = st.one_of(
    LATIN,
    st.builds(
        lambda cred, signed, sig: (
            f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}"
        ),
        credentials,
        st.sampled_from(["host", "host;x-amz-date", ";;;", "x" * 300, "host;\u00e9"]),
        st.one_of(st.just("0" * 64), st.text("0123456789abcdef", min_size=64, max_size=64)),
    ),
)
dates = st.one_of(
    st.just("20260101T120000Z"),
    st.sampled_from(["", "20260101", "00000101T000000Z", "99991231T235959Z", "20261301T250000Z"]),
    LATIN,
)


@budget(500)
@given(
    authorization=authorizations,
    amz_date=dates,
    method=st.sampled_from(["GET", "PUT", "\u00ff", ""]),
    path=LATIN,
    query=LATIN,
    body=st.binary(max_size=100),
)
def test_no_signature_makes_verification_fail_other_than_with_an_aws_error(
    authorization: str, amz_date: str, method: str, path: str, query: str, body: bytes
) -> None:
    tried("sigv4 verify")
    request = sigv4.SignedRequest(
        method=method,
        raw_path=path,
        raw_query=query,
        headers={"authorization": authorization, "x-amz-date": amz_date, "host": "h"},
        body=body,
    )
    try:
        identity = sigv4.verify(request, KEYS, NOW)
    except AwsError as error:
        outcome("sigv4 verify", error.code)
        assert SECRET not in error.message
        assert 400 <= error.status < 500
    else:  # only a signature made with the secret can pass
        outcome("sigv4 verify", "verified")
        parsed = sigv4.parse_authorization(authorization)
        assert parsed is not None
        expected = sigv4.signature(request, parsed, SECRET, amz_date)
        assert parsed.signature == expected and identity.account == "123456789012"
