"""Segment document validation: what PutTraceSegments accepts, and the code of each rejection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshway.model.xray.segments import (
    MAX_DOCUMENT_BYTES,
    Rejection,
    Segment,
    parse_document,
    parse_documents,
    valid_name,
)

TRACE = "1-5f84c7a1-6c1f2b3e4d5a697887766554"


def good(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "mesh/front",
        "id": "70de5b6f19ff9a0a",
        "trace_id": TRACE,
        "start_time": 1602537377.123,
        "end_time": 1602537377.456,
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def code_of(doc: Any) -> str:
    found = parse_document(json.dumps(doc))
    assert isinstance(found, Rejection), found
    return found.code


def test_a_complete_segment_is_accepted_with_its_index_fields() -> None:
    found = parse_document(json.dumps(good(parent_id="53995c3f42cd8ad8")))
    assert isinstance(found, Segment)
    assert (found.trace_id, found.id, found.parent_id) == (
        TRACE,
        "70de5b6f19ff9a0a",
        "53995c3f42cd8ad8",
    )
    assert found.trace_time == 0x5F84C7A1
    assert found.end_time == 1602537377.456 and not found.independent


def test_an_in_progress_segment_needs_no_end_time() -> None:
    found = parse_document(json.dumps(good(end_time=None, in_progress=True)))
    assert isinstance(found, Segment) and found.end_time is None


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        (good(id=None), "MissingId"),
        (good(id="70de5b6f19ff9a0"), "InvalidId"),
        (good(id="70de5b6f19ff9a0g"), "InvalidId"),
        (good(id="70de5b6f19ff9a0a\n"), "InvalidId"),
        (good(trace_id=TRACE + "\n"), "InvalidTraceId"),
        (good(name="line\u2028break;"), "InvalidName"),
        (good(name=None), "MissingName"),
        (good(name=""), "InvalidName"),
        (good(name="a" * 201), "InvalidName"),
        (good(name="bad<name>"), "InvalidName"),
        (good(trace_id=None), "MissingTraceId"),
        (good(trace_id="1-5f84c7a1-6c1f2b3e4d5a69788776655"), "InvalidTraceId"),
        (good(trace_id="2-5f84c7a1-6c1f2b3e4d5a697887766554"), "InvalidTraceId"),
        (good(start_time=None), "MissingStartTime"),
        (good(start_time="now"), "InvalidStartTime"),
        (good(end_time=None), "MissingEndTime"),
        (good(end_time=None, in_progress=False), "MissingEndTime"),
        (good(end_time=True), "InvalidEndTime"),
        (good(parent_id="xyz"), "InvalidParentId"),
        (good(type="subsegment"), "MissingParentId"),
        (
            good(subsegments=[{"id": "1111111111111111", "name": "s", "start_time": 1}]),
            "MissingEndTime",
        ),
        (good(subsegments=[{"name": "s", "start_time": 1, "end_time": 2}]), "MissingId"),
        (good(subsegments="nope"), "InvalidSubsegment"),
        ([1, 2], "JSONFormatError"),
    ],
)
def test_each_broken_rule_has_its_own_error_code(doc: Any, code: str) -> None:
    if isinstance(doc, list):
        assert [r.code for r in parse_documents(json.dumps(doc))] == [code, code]  # type: ignore[union-attr]
    else:
        assert code_of(doc) == code


def test_rejections_carry_the_documents_id_and_aws_wording() -> None:
    found = parse_document(json.dumps(good(name=None)))
    assert found == Rejection(id="70de5b6f19ff9a0a", code="MissingName")
    assert found.message == "Invalid segment. ErrorCode: MissingName"


def test_text_that_is_not_json_is_rejected_with_the_id_found_by_regex() -> None:
    found = parse_document('{"id": "70de5b6f19ff9a0a", "name": ')
    assert found == Rejection(id="70de5b6f19ff9a0a", code="JSONFormatError")


def test_a_document_over_64_kb_is_rejected() -> None:
    doc = good(metadata={"default": {"blob": "x" * MAX_DOCUMENT_BYTES}})
    assert code_of(doc) == "SegmentTooLarge"


def test_an_independent_subsegment_is_accepted_with_its_parent() -> None:
    doc = good(type="subsegment", parent_id="53995c3f42cd8ad8", namespace="remote")
    found = parse_document(json.dumps(doc))
    assert isinstance(found, Segment) and found.independent
    assert found.parent_id == "53995c3f42cd8ad8"


def test_an_array_of_subsegments_gives_one_result_each() -> None:
    subs = [good(id=f"{i:016x}", type="subsegment", parent_id="53995c3f42cd8ad8") for i in range(3)]
    subs[1]["id"] = "short"
    found = parse_documents(json.dumps(subs))
    assert [type(f).__name__ for f in found] == ["Segment", "Rejection", "Segment"]
    assert parse_documents("[]") == [Rejection(id=None, code="MissingId")]


def test_envoy_names_and_unicode_letters_are_valid_names() -> None:
    assert valid_name("howto-k8s-http2/client_howto-k8s-http2")
    assert valid_name("Café 1 @ host:80 #a=b+c%d&e\\f")
    assert not valid_name("semi;colon")


@given(
    seg_id=st.text(alphabet="0123456789abcdefABCDEF", min_size=16, max_size=16),
    epoch=st.integers(0, 0xFFFFFFFF),
    rest=st.text(alphabet="0123456789abcdef", min_size=24, max_size=24),
    start=st.floats(0, 4e9, allow_nan=False),
)
def test_any_well_formed_ids_are_accepted_and_lowercased(
    seg_id: str, epoch: int, rest: str, start: float
) -> None:
    trace = f"1-{epoch:08x}-{rest}"
    found = parse_document(json.dumps(good(id=seg_id, trace_id=trace, start_time=start)))
    assert isinstance(found, Segment)
    assert found.id == seg_id.lower() and found.trace_time == epoch


@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    for found in parse_documents(text):
        assert isinstance(found, Segment | Rejection)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "name",
                        "trace_id",
                        "start_time",
                        "end_time",
                        "subsegments",
                        "type",
                        "parent_id",
                        "in_progress",
                    ]
                ),
                inner,
                max_size=6,
            )
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_raises(doc: Any) -> None:
    for found in parse_documents(json.dumps(doc)):
        assert isinstance(found, Segment | Rejection)
