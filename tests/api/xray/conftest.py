"""Fixtures for the X-Ray API tests: a boto3 client of a fresh account on the session server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ServerProcess


@pytest.fixture
def xray(server: ServerProcess, account: str) -> Any:
    return server.client("xray", aws_access_key_id=account)
