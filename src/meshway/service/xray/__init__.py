"""X-Ray (2016-04-12): the trace store's API, sampling rules and groups.

`XRayService` is what the endpoint binds: each operation is a method of one of its parts
(`traces.py`, `sampling.py`, `groups.py`, `tags.py`), found by name as the dispatcher asks for it.
"""

from __future__ import annotations

from typing import Any

from meshway.core.clock import Clock
from meshway.core.ids import IdFactory
from meshway.service.xray.groups import GroupOperations
from meshway.service.xray.sampling import SamplingOperations
from meshway.service.xray.tags import TagOperations
from meshway.service.xray.traces import TraceOperations
from meshway.store.sql import SqlStore
from meshway.store.traces import Retention, TraceStore


class XRayService:
    def __init__(
        self,
        store: SqlStore,
        *,
        clock: Clock,
        ids: IdFactory,
        retention: Retention | None = None,
    ) -> None:
        self.store = TraceStore(store.engine, clock, retention)
        self.groups = GroupOperations(store, clock, ids)
        self.sampling = SamplingOperations(store, clock)
        self.traces = TraceOperations(self.store, clock, self.groups.group_filter)
        self.tags = TagOperations(store)

    def __getattr__(self, name: str) -> Any:
        """The operation `name` (e.g. `put_trace_segments`) from whichever part answers it."""
        if not name.startswith("_"):
            for part in (self.traces, self.sampling, self.groups, self.tags):
                if hasattr(type(part), name):
                    return getattr(part, name)
        raise AttributeError(name)


__all__ = ["Retention", "XRayService"]
