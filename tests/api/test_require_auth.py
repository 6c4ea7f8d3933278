"""`--require-auth FILE`: signatures are verified; the aws CLI and boto3 with the keys work."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import aws_cli, make_client


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
