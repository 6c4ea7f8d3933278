"""Batching as the AWS daemon does it: 50 per call or 1 s, a queue of 20 that drops the oldest."""

from __future__ import annotations

import threading

from meshway.xray.batching import BATCH_SIZE, Batcher, BatchQueue, Counters, queue_capacity


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_goes_out_as_soon_as_it_holds_fifty_documents() -> None:
    sent: list[list[str]] = []
    batcher = Batcher(sent.append, Clock())
    for i in range(2 * BATCH_SIZE + 7):
        batcher.add(str(i))
    assert [len(b) for b in sent] == [50, 50]
    assert sent[1][0] == "50"


def test_a_partial_batch_goes_out_once_its_first_document_waited_a_second() -> None:
    sent: list[list[str]] = []
    clock = Clock()
    batcher = Batcher(sent.append, clock)
    batcher.add("a")
    clock.now += 0.6
    batcher.add("b")
    batcher.tick()
    assert sent == []
    clock.now += 0.4
    batcher.tick()
    assert sent == [["a", "b"]]
    batcher.tick()
    assert sent == [["a", "b"]]  # nothing new: no empty batch


def test_flush_sends_what_is_left_and_nothing_when_empty() -> None:
    sent: list[list[str]] = []
    batcher = Batcher(sent.append, Clock())
    batcher.flush()
    batcher.add("a")
    batcher.flush()
    assert sent == [["a"]]


def test_a_full_queue_drops_the_oldest_batch_and_counts_its_documents() -> None:
    counters = Counters()
    queue = BatchQueue(counters, capacity=2)
    for batch in (["1", "2"], ["3"], ["4", "5", "6"]):
        queue.put(batch)
    assert counters.dropped == 2
    assert [queue.get(), queue.get()] == [["3"], ["4", "5", "6"]]


def test_a_closed_queue_hands_out_what_it_holds_then_none() -> None:
    queue = BatchQueue(Counters())
    queue.put(["a"])
    queue.close()
    assert queue.get() == ["a"]
    assert queue.get() is None


def test_a_waiting_uploader_wakes_when_the_queue_closes() -> None:
    queue = BatchQueue(Counters())
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(queue.get()))
    waiter.start()
    queue.close()
    waiter.join(5)
    assert got == [None]


def test_the_counter_line_names_every_counter_and_each_rejection_reason() -> None:
    counters = Counters()
    counters.add("received", 3)
    counters.add("sent", 2)
    counters.reject("bad_json")
    counters.reject("bad_json")
    counters.reject("bad_header")
    assert counters.line() == (
        "received=6 sent=2 unprocessed=0 dropped=0 backend_errors=0 rejected=3 "
        "rejected.bad_header=1 rejected.bad_json=2"
    )


def test_the_queue_holds_as_many_segments_as_the_aws_daemons_ring_and_batch_queue() -> None:
    assert queue_capacity(3) == 20 + 5  # 48 pool buffers → the ring's minimum of 250 segments
    assert queue_capacity(100) == 20 + 32  # 1,600 buffers → 32 batches of 50


def test_discard_empties_the_queue_and_counts_documents_not_batches() -> None:
    queue = BatchQueue(Counters())
    queue.put(["a", "b"])
    queue.put(["c"])
    assert queue.discard() == 3
    queue.close()
    assert queue.get() is None
