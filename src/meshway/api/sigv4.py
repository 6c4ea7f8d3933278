"""SigV4: read who signed a request, and verify the signature when `--require-auth` asks for it.

Parsing gives the credential scope (access key, date, region, service). Verification recomputes
the signature as AWS does (canonical request → string to sign → HMAC chain) and compares in
constant time. Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import yaml

from meshway.core.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from meshway.core.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = dt.timedelta(minutes=15)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True, kw_only=True)
class Authorization:
    credential: Credential
    signed_headers: list[str]
    signature: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    account: str
    region: str
    access_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Key:
    secret: str
    account: str


def parse_authorization(header: str | None) -> Authorization | None:
    if not header:
        return None
    match = _AUTH.match(header.strip())
    if match is None:
        return None
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return None
    credential = Credential(access_key=parts[0], date=parts[1], region=parts[2], service=parts[3])
    return Authorization(
        credential=credential,
        signed_headers=match["signed"].split(";"),
        signature=match["signature"],
    )


def identify(auth: Authorization | None) -> Identity:
    """Developer mode: any well-formed signature; a 12-digit access key names the account."""
    if auth is None:
        return Identity(account=DEFAULT_ACCOUNT, region=DEFAULT_REGION, access_key="")
    key = auth.credential.access_key
    account = key if len(key) == 12 and key.isdigit() else DEFAULT_ACCOUNT
    return Identity(account=account, region=auth.credential.region, access_key=key)


def load_keys(path: Path) -> dict[str, Key]:
    """`--require-auth FILE`: `{"keys": {ACCESS_KEY: {"secret": ..., "account": ...}}}`."""
    data = yaml.safe_load(path.read_text()) or {}
    return {
        access: Key(secret=str(entry["secret"]), account=str(entry.get("account", DEFAULT_ACCOUNT)))
        for access, entry in (data.get("keys") or {}).items()
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]  # lowercase names
    body: bytes


def verify(request: SignedRequest, keys: dict[str, Key], now: dt.datetime) -> Identity:
    """The caller's identity, or the AWS error a bad or missing signature earns."""
    header = request.headers.get("authorization")
    if not header:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    auth = parse_authorization(header)
    if auth is None:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    key = keys.get(auth.credential.access_key)
    if key is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    amz_date = request.headers.get("x-amz-date", "")
    _check_date(amz_date, auth.credential, now)
    expected = signature(request, auth, key.secret, amz_date)
    if not hmac.compare_digest(expected, auth.signature):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        )
    return Identity(
        account=key.account, region=auth.credential.region, access_key=auth.credential.access_key
    )


def _check_date(amz_date: str, credential: Credential, now: dt.datetime) -> None:
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise IncompleteSignatureException("Missing or malformed X-Amz-Date header.") from exc
    if not amz_date.startswith(credential.date):
        raise InvalidSignatureException("Date in Credential scope does not match X-Amz-Date.")
    if abs(now - when) > MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')}"
        )


def signature(request: SignedRequest, auth: Authorization, secret: str, amz_date: str) -> str:
    canonical = canonical_request(request, auth.signed_headers)
    to_sign = "\n".join(
        [ALGORITHM, amz_date, auth.credential.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _signing_key(secret, auth.credential)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_request(request: SignedRequest, signed_headers: list[str]) -> str:
    headers = "".join(f"{name}:{_trim(request.headers.get(name, ''))}\n" for name in signed_headers)
    # The body's own hash, never the x-amz-content-sha256 header: a header that disagrees with
    # the body (a tampered body) or says UNSIGNED-PAYLOAD then fails as a wrong signature. None
    # of the services served here lets an operation skip signing its body (no `unsignedPayload`
    # or `v4-unsigned-body` in their botocore models), so AWS would not accept it either.
    payload = hashlib.sha256(request.body).hexdigest()
    return "\n".join(
        [
            request.method,
            quote(request.raw_path or "/", safe="/~"),
            _canonical_query(request.raw_query),
            headers,
            ";".join(signed_headers),
            payload,
        ]
    )


def _canonical_query(raw: str) -> str:
    if not raw:
        return ""
    pairs = []
    for item in raw.split("&"):
        key, _, value = item.partition("=")
        pairs.append((_encode(unquote(key)), _encode(unquote(value.replace("+", "%20")))))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _trim(value: str) -> str:
    return " ".join(value.split())


def _signing_key(secret: str, credential: Credential) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (credential.date, credential.region, credential.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
