"""Proxy credentials (xds/credentials.py): what a token claims, that only the key's holder can
make one, and that the key stays private and stable in the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshway.xds.credentials import (
    HEADER,
    KEY_FILE,
    Credential,
    ProxyCredentials,
    RefusedStreamError,
    authenticate,
    token_of,
)

TASK = "arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef"
NODE = "arn:aws:appmesh:us-east-1:000000000000:mesh/m/virtualNode/a"


def test_a_minted_token_verifies_to_its_task_and_node() -> None:
    credentials = ProxyCredentials.generate()
    token = credentials.mint(subject=TASK, node=NODE)
    assert credentials.verify(token) == Credential(subject=TASK, node=NODE)


def test_a_token_of_another_key_does_not_verify() -> None:
    token = ProxyCredentials.generate().mint(subject=TASK, node=NODE)
    assert ProxyCredentials.generate().verify(token) is None


def test_a_token_whose_claims_were_changed_does_not_verify() -> None:
    credentials = ProxyCredentials.generate()
    version, _, mac = credentials.mint(subject=TASK, node=NODE).split(".")
    other = credentials.mint(subject=TASK, node=NODE.replace("/a", "/b")).split(".")[1]
    assert credentials.verify(f"{version}.{other}.{mac}") is None


@pytest.mark.parametrize(
    "garbage", ["", "mw1", "mw1..", "mw1.e30.", "mw2.x.y", "x" * 5000, "mw1.abc.é", "mw1.é.abc"]
)
def test_garbage_does_not_verify(garbage: str) -> None:
    assert ProxyCredentials.generate().verify(garbage) is None


def test_the_key_is_created_private_once_and_kept(tmp_path: Path) -> None:
    first = ProxyCredentials.load_or_create(tmp_path)
    token = first.mint(subject=TASK, node=NODE)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    again = ProxyCredentials.load_or_create(tmp_path)
    assert again.verify(token) == Credential(subject=TASK, node=NODE)
    assert ProxyCredentials.load(tmp_path).verify(token) is not None


def test_a_stream_without_one_valid_credential_header_is_unauthenticated() -> None:
    credentials = ProxyCredentials.generate()
    token = credentials.mint(subject=TASK, node=NODE)
    assert token_of([(HEADER, token)]) == token
    assert token_of([(HEADER, token), (HEADER, token)]) is None  # ambiguous
    for metadata, reason in (([], "missing"), ([(HEADER, "mw1.a.b")], "invalid")):
        with pytest.raises(RefusedStreamError) as refused:
            authenticate(credentials, token_of(metadata))
        assert (refused.value.reason, refused.value.authenticated) == (reason, False)
