"""Segment documents as PutTraceSegments receives them: parse and check one document.

Pure: a document string in, a `Segment` (the fields the store indexes plus the parsed body) or a
`Rejection` out. The rules are AWS's published schema (reference/xray.md §2): `name`, `id` (16
hex), `trace_id` (`1-<8 hex>-<24 hex>`), `start_time`, and `end_time` or `in_progress`; an
independent subsegment adds `type: subsegment` and `parent_id`. AWS words a rejection as
`{"ErrorCode": "MissingId", "Message": "Invalid segment. ErrorCode: MissingId"}`, so every code
here follows that pattern. Neighbours: the trace store keeps what passes; `traces.py` merges it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

MAX_DOCUMENT_BYTES = 64 * 1024  # "a segment document can be up to 64 kB" (AWS developer guide)
TRACE_ID = re.compile(r"^1-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{24}\Z")
SEGMENT_ID = re.compile(r"^[0-9A-Fa-f]{16}\Z")
ID_IN_TEXT = re.compile(r'"id"\s*:\s*"([^"]{0,64})"')
# `\w` is Unicode letters, digits and `_` (plus combining marks, which names may carry too).
NAME = re.compile(r"^[\w\s.:/%&#=+\\\-@]{1,200}\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One accepted document: a segment, or a subsegment sent on its own (`independent`)."""

    trace_id: str
    id: str
    parent_id: str | None
    independent: bool
    start_time: float
    end_time: float | None  # None while in progress
    size: int
    body: dict[str, Any]

    @property
    def trace_time(self) -> int:
        """The epoch second written into the trace id (what TimeRangeType TraceId filters on)."""
        return int(self.trace_id[2:10], 16)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """An entry of `UnprocessedTraceSegments`."""

    id: str | None
    code: str

    @property
    def message(self) -> str:
        return f"Invalid segment. ErrorCode: {self.code}"


class Invalid(Exception):  # noqa: N818 - a private signal, never seen by clients
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_documents(text: str) -> list[Segment | Rejection]:
    """One entry of `TraceSegmentDocuments`: a document, or a JSON array of subsegments."""
    size = len(text.encode())
    if size > MAX_DOCUMENT_BYTES:
        return [Rejection(id=_id_in_text(text), code="SegmentTooLarge")]
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return [Rejection(id=_id_in_text(text), code="JSONFormatError")]
    if isinstance(parsed, list):
        if not parsed:
            return [Rejection(id=None, code="MissingId")]
        each = max(1, size // len(parsed))
        return [_checked(item, each) for item in parsed]
    return [_checked(parsed, size)]


def parse_document(text: str) -> Segment | Rejection:
    """A single document (the array form gives its first result; tests and tools use this)."""
    return parse_documents(text)[0]


def _checked(document: Any, size: int) -> Segment | Rejection:
    if not isinstance(document, dict):
        return Rejection(id=None, code="JSONFormatError")
    try:
        return _segment(document, size)
    except Invalid as invalid:
        raw_id = document.get("id")
        return Rejection(id=raw_id if isinstance(raw_id, str) else None, code=invalid.code)


def _segment(doc: dict[str, Any], size: int) -> Segment:
    independent = doc.get("type") == "subsegment"
    _check_common(doc)
    trace_id = doc.get("trace_id")
    if trace_id is None:
        raise Invalid("MissingTraceId")
    if not isinstance(trace_id, str) or not TRACE_ID.match(trace_id):
        raise Invalid("InvalidTraceId")
    parent_id = doc.get("parent_id")
    if parent_id is None and independent:
        raise Invalid("MissingParentId")
    bad_parent = not isinstance(parent_id, str) or not SEGMENT_ID.match(parent_id)
    if parent_id is not None and bad_parent:
        raise Invalid("InvalidParentId")
    for child in _children(doc):
        _check_tree(child)
    end = doc.get("end_time")
    return Segment(
        trace_id=trace_id.lower(),
        id=str(doc["id"]).lower(),
        parent_id=parent_id.lower() if parent_id else None,
        independent=independent,
        start_time=float(doc["start_time"]),
        end_time=float(end) if end is not None else None,
        size=size,
        body=doc,
    )


def _check_tree(doc: Any) -> None:
    """An embedded subsegment: the common fields, at every depth."""
    if not isinstance(doc, dict):
        raise Invalid("InvalidSubsegment")
    _check_common(doc)
    for child in _children(doc):
        _check_tree(child)


def _children(doc: dict[str, Any]) -> list[Any]:
    children = doc.get("subsegments", [])
    if not isinstance(children, list):
        raise Invalid("InvalidSubsegment")
    return children


def _check_common(doc: dict[str, Any]) -> None:
    """What segments and subsegments share: id, name, start, and an end or `in_progress`."""
    seg_id = doc.get("id")
    if seg_id is None:
        raise Invalid("MissingId")
    if not isinstance(seg_id, str) or not SEGMENT_ID.match(seg_id):
        raise Invalid("InvalidId")
    name = doc.get("name")
    if name is None:
        raise Invalid("MissingName")
    if not valid_name(name):
        raise Invalid("InvalidName")
    if "start_time" not in doc:
        raise Invalid("MissingStartTime")
    if not _is_number(doc["start_time"]):
        raise Invalid("InvalidStartTime")
    if "end_time" in doc:
        if not _is_number(doc["end_time"]):
            raise Invalid("InvalidEndTime")
    elif doc.get("in_progress") is not True:
        raise Invalid("MissingEndTime")


def valid_name(name: Any) -> bool:
    """1 to 200 Unicode letters, digits, whitespace and `_ . : / % & # = + \\ - @`."""
    return isinstance(name, str) and NAME.match(name) is not None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _id_in_text(text: str) -> str | None:
    """The id of a document that does not parse, found the way the daemon finds it: by regex."""
    found = ID_IN_TEXT.search(text)
    return found.group(1) if found else None
