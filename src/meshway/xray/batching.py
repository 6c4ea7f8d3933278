"""Documents → batches for PutTraceSegments, the bounded queue in front of the uploaders, and the
daemon's counters.

As aws-xray-daemon's processor does (reference/xray.md §1.4): a batch goes out when it holds 50
documents or when its first document has waited the idle time (1 s); finished batches wait in a
bounded queue (as many segments as the daemon's ring buffer and batch queue hold together) and,
when that is full, the oldest batch is dropped ("spillover") so fresh traces win.
The clock is passed in, so the flushing rule is tested without sleeping.

Standard-library only (the daemon runs under the system interpreter; see daemon.py).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

BATCH_SIZE = 50  # cfg.go BatchSize
IDLE_SECONDS = 1.0  # cfg.go IdleTimeoutMillisecond
QUEUE_BATCHES = 20  # cfg.go BatchProcessorQueueSize
BUFFER_BYTES = 64 * 1024  # one buffer of the daemon's pool holds one segment
MIN_RING = 250  # ringbuffer.go: the segment channel holds at least 250


def queue_capacity(buffer_mb: int) -> int:
    """Batches that may wait: the AWS daemon holds up to max(250, pool buffers) segments in its
    ring buffer plus 20 batches in its batch queue (cfg.go, ringbuffer.go, bufferpool), so this
    queue holds as many segments as both, counted in batches."""
    ring = max(MIN_RING, buffer_mb * 1024 * 1024 // BUFFER_BYTES)
    return QUEUE_BATCHES + -(-ring // BATCH_SIZE)


@dataclass
class Counters:
    """What the daemon's telemetry reports: SegmentsReceived, SegmentsSent, SegmentsRejected (by
    reason here), SegmentsSpillover (dropped), BackendConnectionErrors; guarded by one lock."""

    received: int = 0
    sent: int = 0
    unprocessed: int = 0  # the server refused them (UnprocessedTraceSegments)
    dropped: int = 0  # queue full, or the upload failed twice
    backend_errors: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + count)

    def reject(self, reason: str) -> None:
        with self.lock:
            self.received += 1
            self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "received": self.received,
                "sent": self.sent,
                "unprocessed": self.unprocessed,
                "dropped": self.dropped,
                "rejected": dict(sorted(self.rejected.items())),
                "backend_errors": self.backend_errors,
            }

    def line(self) -> str:
        snap = self.snapshot()
        rejected = snap.pop("rejected")
        assert isinstance(rejected, dict)
        parts = [f"{k}={v}" for k, v in snap.items()]
        parts.append(f"rejected={sum(rejected.values())}")
        parts += [f"rejected.{k}={v}" for k, v in rejected.items()]
        return " ".join(parts)


class BatchQueue:
    """Finished batches for the uploaders; full → the oldest batch is dropped and counted."""

    def __init__(self, counters: Counters, capacity: int = QUEUE_BATCHES) -> None:
        self.counters = counters
        self._batches: collections.deque[list[str]] = collections.deque()
        self._capacity = capacity
        self._ready = threading.Condition()
        self._closed = False

    def put(self, batch: list[str]) -> None:
        with self._ready:
            if len(self._batches) >= self._capacity:
                self.counters.add("dropped", len(self._batches.popleft()))
            self._batches.append(batch)
            self._ready.notify()

    def get(self) -> list[str] | None:
        """The next batch; None once closed and empty (the uploaders then exit)."""
        with self._ready:
            while not self._batches and not self._closed:
                self._ready.wait()
            return self._batches.popleft() if self._batches else None

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def discard(self) -> int:
        """Empty the queue; the number of documents it held."""
        with self._ready:
            left = sum(len(batch) for batch in self._batches)
            self._batches.clear()
            return left


class Batcher:
    """Collects documents; hands a batch to `emit` when it is full or old enough."""

    def __init__(
        self,
        emit: Callable[[list[str]], None],
        clock: Callable[[], float],
        size: int = BATCH_SIZE,
        idle: float = IDLE_SECONDS,
    ) -> None:
        self._emit = emit
        self._clock = clock
        self._size = size
        self._idle = idle
        self._batch: list[str] = []
        self._started = 0.0
        self._lock = threading.Lock()

    def add(self, document: str) -> None:
        with self._lock:
            if not self._batch:
                self._started = self._clock()
            self._batch.append(document)
            full = self._take() if len(self._batch) >= self._size else None
        if full:
            self._emit(full)

    def tick(self) -> None:
        """Called periodically: flush a batch whose first document waited the idle time."""
        with self._lock:
            due = bool(self._batch) and self._clock() - self._started >= self._idle
            ready = self._take() if due else None
        if ready:
            self._emit(ready)

    def flush(self) -> None:
        with self._lock:
            ready = self._take()
        if ready:
            self._emit(ready)

    def _take(self) -> list[str]:
        batch, self._batch = self._batch, []
        return batch
