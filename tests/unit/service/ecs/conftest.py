"""An `EcsService` over a real SQLite store in a temporary directory, with a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meshway.core.clock import FixedClock
from meshway.core.context import RequestContext
from meshway.core.ids import SequentialIds
from meshway.service.ecs import EcsService
from meshway.store.sql import SqlStore, open_store


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1_700_000_000.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = open_store(None, tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def ecs(store: SqlStore, clock: FixedClock) -> EcsService:
    return EcsService(store, clock=clock, ids=SequentialIds())


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(account="123456789012", region="us-west-2")
