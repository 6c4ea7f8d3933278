"""The Amazon ECS API (2014-11-13, JSON 1.1): task definitions, clusters, tasks and tags."""

from __future__ import annotations

from meshway.core.clock import Clock
from meshway.core.ids import IdFactory
from meshway.store.base import Store


class EcsService:
    """Answers ECS operations; one method per operation (see `meshway.api.dispatch`)."""

    def __init__(self, store: Store, *, clock: Clock, ids: IdFactory) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids


__all__ = ["EcsService"]
