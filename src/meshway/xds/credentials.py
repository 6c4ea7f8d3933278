"""Proxy identity on xDS (issue 9): which Envoy may stream which node's configuration.

In App Mesh an Envoy may stream only the virtual node or gateway its IAM credentials allow
(`appmesh:StreamAggregatedResources` on that ARN). Meshway's equivalent is a per-proxy
credential, a bearer token that names a subject (the task ARN, or `external/<label>` for an
Envoy Meshway did not start) and the one cache key it may stream (`nodes.node_key`: the node's
or gateway's ARN):

    mw1.<base64url(JSON [subject, node])>.<base64url(HMAC-SHA256(key, "mw1." + payload))>

- The key is 32 random bytes in `<data-dir>/xds-credential.key`, created 0600 by the first
  server that needs it and kept across restarts (tokens held by running Envoys stay valid).
  Nothing is stored per token: the server verifies the MAC and reads the claims, so any
  `meshway server` with that data directory, and `meshway proxy-credential`, mint the same.
- The runtime mints a task's token when it prepares its Envoy sidecar (`ControlPlane.
  envoy_credential`): the node is what that Envoy will present, computed from the container's
  environment by the same code the agent uses. The token reaches the agent in its environment
  (MESHWAY_XDS_CREDENTIAL, never argv, which every user can read in /proc) and Envoy through its
  bootstrap, as gRPC initial metadata (`grpc_service.initial_metadata`, header HEADER) on the
  ADS stream.
- The ADS server reads the header when a stream opens: none, or one whose MAC does not verify,
  is refused UNAUTHENTICATED before any request is read; a first request whose node maps to
  another key than the token names is refused PERMISSION_DENIED before anything is sent; so is
  a later request that names a different node (a stream must not switch node). Refusals are
  logged and counted on the status board. So no stream ever receives another node's snapshot,
  which is where the node's TLS settings live (certificate and key file paths, SDS secret
  names): another node's secrets never leave the server.
- No flag restores the old open server: the key sits in the data directory, so whoever could
  run the server can mint a token with `meshway proxy-credential NODE` (which reads the key
  file, needing no server), and an open mode would only be a way to forget to turn it back on.

Limits, deliberately: a token does not expire (a stopped task's token still streams that one
node's configuration, which its Envoy already had; deleting the key file and restarting the
server revokes every token); an Envoy running as the same uid as another task's Envoy can read
that Envoy's environment and bootstrap, so the per-task boundary is only as strong as the uids.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KEY_FILE = "xds-credential.key"
HEADER = "x-meshway-proxy-credential"  # gRPC metadata keys are lower case
ENVIRONMENT = "MESHWAY_XDS_CREDENTIAL"  # how the runtime hands a task's token to its agent
VERSION = "mw1"
EXTERNAL = "external/"  # subject prefix of tokens minted by the CLI
_KEY_BYTES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    subject: str  # the task ARN, or external/<label>
    node: str  # the cache key (node or gateway ARN) it may stream


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ProxyCredentials:
    """Mints and verifies tokens under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> ProxyCredentials:
        """A key of its own, in memory (in-process servers in tests and benchmarks)."""
        return cls(secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def load(cls, data_dir: Path) -> ProxyCredentials:
        """The data directory's key; OSError when there is none (no server ever ran there)."""
        return cls(bytes.fromhex((data_dir / KEY_FILE).read_text().strip()))

    @classmethod
    def load_or_create(cls, data_dir: Path) -> ProxyCredentials:
        path = data_dir / KEY_FILE
        try:
            # O_EXCL: two servers starting at once must not each write a key of their own.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            path.chmod(0o600)
            return cls.load(data_dir)
        key = secrets.token_bytes(_KEY_BYTES)
        with os.fdopen(fd, "w") as out:
            out.write(key.hex() + "\n")
        return cls(key)

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())

    def mint(self, *, subject: str, node: str) -> str:
        payload = _b64(json.dumps([subject, node], separators=(",", ":")).encode())
        signed = f"{VERSION}.{payload}"
        return f"{signed}.{self._mac(signed)}"

    def verify(self, token: str) -> Credential | None:
        """The claims of a token minted under this key; None for anything else."""
        version, _, rest = token.partition(".")
        payload, _, mac = rest.partition(".")
        if version != VERSION or not payload or not mac or not token.isascii():
            return None  # compare_digest refuses non-ASCII str: such a token is no token
        if not hmac.compare_digest(mac, self._mac(f"{version}.{payload}")):
            return None
        try:
            subject, node = json.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):
            return None
        if not isinstance(subject, str) or not isinstance(node, str):
            return None
        return Credential(subject=subject, node=node)


def token_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The credential header's value in gRPC invocation metadata, if there is exactly one."""
    values = [v for k, v in metadata or () if k.lower() == HEADER]
    if len(values) != 1:
        return None
    value = values[0]
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class RefusedStreamError(Exception):
    """A stream the ADS server will not serve. `authenticated`: the credential verified but
    does not allow what the stream asked (PERMISSION_DENIED rather than UNAUTHENTICATED)."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        authenticated: bool,
        node_id: str = "",
        subject: str = "",
    ) -> None:
        super().__init__(message)
        self.reason = reason  # missing | invalid | other-node | node-changed (the counter label)
        self.message = message
        self.authenticated = authenticated
        self.node_id = node_id
        self.subject = subject


def authenticate(credentials: ProxyCredentials, token: str | None) -> Credential:
    """The credential a stream opened with; RefusedStreamError when none verifies."""
    if token is None:
        raise RefusedStreamError("missing", f"no {HEADER} metadata", authenticated=False)
    credential = credentials.verify(token)
    if credential is None:
        raise RefusedStreamError(
            "invalid", f"the {HEADER} metadata does not verify", authenticated=False
        )
    return credential
