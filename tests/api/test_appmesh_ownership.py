"""Accounts keep apart: without resource sharing, another account's mesh is out of reach."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_another_accounts_mesh_is_forbidden_through_mesh_owner(
    server: Any, appmesh: Any, account: str, unique: str
) -> None:
    appmesh.create_mesh(meshName=unique)
    assert appmesh.describe_mesh(meshName=unique, meshOwner=account)["mesh"]["meshName"] == unique
    other = server.client("appmesh", aws_access_key_id="999999999999")
    with pytest.raises(ClientError) as caught:
        other.create_virtual_router(
            meshName=unique, meshOwner=account, virtualRouterName="r", spec={"listeners": []}
        )
    assert caught.value.response["Error"]["Code"] == "ForbiddenException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as missing:
        other.describe_mesh(meshName=unique)
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    assert appmesh.list_virtual_routers(meshName=unique)["virtualRouters"] == []
