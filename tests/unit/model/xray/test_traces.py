"""Assembling a trace from stored documents: streamed subsegments land in their parent's tree."""

from __future__ import annotations

from tests.unit.model.xray.docs import TRACE, seg, sub, trace


def ids(doc: dict) -> list[str]:  # type: ignore[type-arg]
    return [c["id"][-2:] for c in doc.get("subsegments", [])]


def test_streamed_subsegments_are_merged_under_the_segment_that_holds_their_parent() -> None:
    parent = seg(1, "app", subsegments=[sub(0x10, "kept")])
    streamed = sub(
        0x11, "call", type="subsegment", trace_id=TRACE, parent_id=f"{1:016x}", start=100.2
    )
    nested = sub(0x12, "inner", type="subsegment", trace_id=TRACE, parent_id=f"{0x11:016x}")
    # The nested one arrives before its own parent: placement repeats until nothing moves.
    found = trace(nested, streamed, parent)
    (only,) = found.segments
    assert ids(only) == ["10", "11"]
    call = only["subsegments"][1]
    assert "type" not in call and "parent_id" not in call and "trace_id" not in call
    assert ids(call) == ["12"]


def test_a_streamed_copy_of_an_embedded_subsegment_replaces_it() -> None:
    parent = seg(1, "app", subsegments=[sub(0x10, "old", end=100.2)])
    again = sub(0x10, "new", type="subsegment", trace_id=TRACE, parent_id=f"{1:016x}")
    (only,) = trace(parent, again).segments
    assert [c["name"] for c in only["subsegments"]] == ["new"]


def test_subsegments_whose_parent_never_arrived_are_not_segments() -> None:
    lost = sub(0x11, "call", type="subsegment", trace_id=TRACE, parent_id=f"{9:016x}")
    found = trace(seg(1, "app"), lost)
    assert [s["name"] for s in found.segments] == ["app"]


def test_duration_root_and_partial_follow_the_trace_shape() -> None:
    root = seg(1, "front", start=100.0, end=100.4)
    child = seg(2, "backend", parent=1, start=100.1, end=100.6)
    found = trace(child, root)
    assert abs(found.duration - 0.6) < 1e-9
    assert found.root is not None and found.root["name"] == "front"
    assert not found.partial
    assert trace(root, seg(2, "backend", parent=1, end=None)).partial
