"""Fixtures for the API contract tests: one kind's scene in a fresh mesh of a fresh account."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.api.appmesh_kinds import (
    GATEWAY_ROUTE,
    ROUTE,
    VIRTUAL_GATEWAY,
    VIRTUAL_NODE,
    VIRTUAL_ROUTER,
    VIRTUAL_SERVICE,
    Scene,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    fuzz = sys.modules.get("tests.api.test_appmesh_fuzz")
    line = fuzz.summary() if fuzz is not None else None
    if line:
        terminalreporter.write_line(line)


@pytest.fixture
def scene_node(appmesh: Any, account: str, unique: str) -> Scene:
    return Scene.build(appmesh, VIRTUAL_NODE, account, unique)


@pytest.fixture
def scene_router(appmesh: Any, account: str, unique: str) -> Scene:
    return Scene.build(appmesh, VIRTUAL_ROUTER, account, unique)


@pytest.fixture
def scene_route(appmesh: Any, account: str, unique: str) -> Scene:
    return Scene.build(appmesh, ROUTE, account, unique)


@pytest.fixture
def scene_service(appmesh: Any, account: str, unique: str) -> Scene:
    return Scene.build(appmesh, VIRTUAL_SERVICE, account, unique)


@pytest.fixture
def scene_gateway(appmesh: Any, account: str, unique: str) -> Scene:
    return Scene.build(appmesh, VIRTUAL_GATEWAY, account, unique)


@pytest.fixture
def scene_gateway_route(appmesh: Any, account: str, unique: str) -> Scene:
    return Scene.build(appmesh, GATEWAY_ROUTE, account, unique)
