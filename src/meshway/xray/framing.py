"""One UDP datagram → one segment document, or the reason it is dropped.

The daemon's framing (reference/xray.md §1.1): `<header JSON>\\n<segment or subsegment JSON>`.
The header is parsed as JSON, never string-compared (the Python SDK omits the spaces the docs
show; Envoy serialises a protobuf), and accepted when `format` is "json" in any case and
`version` is 1 (aws-xray-daemon `Header.IsValid`). Unlike the AWS daemon, which forwards the body
unread, this one also checks that the body is a JSON object (or an array of subsegments) whose
ids are well formed, so a broken document is counted here instead of failing a whole batch later;
the body is still forwarded byte for byte as the sender wrote it.

Pure and standard-library only: the daemon runs under the system interpreter as the container's
user (see daemon.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_DATAGRAM = 64 * 1024  # Socket.BufferSizeKB = 64 in the daemon's config (xray.md §1.2)
_SEGMENT_ID = re.compile(r"[0-9a-fA-F]{16}\Z")
# `1-{8 hex epoch}-{24 hex}`; the schema's own pattern allows any version digits.
_TRACE_ID = re.compile(r"\d+-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}\Z")


class Rejection(Enum):
    """Why a datagram was dropped; the value is the counter's name in the daemon's log."""

    OVERSIZE = "oversize"
    HEADER = "bad_header"
    EMPTY = "missing_segment"
    JSON = "bad_json"
    IDS = "bad_ids"


@dataclass(frozen=True, slots=True)
class Document:
    body: str  # the segment document exactly as received (UTF-8 text)


def parse_datagram(data: bytes) -> Document | Rejection:
    if len(data) > MAX_DATAGRAM:
        return Rejection.OVERSIZE
    header, newline, body = data.partition(b"\n")  # the first newline (util.SplitHeaderBody)
    if not newline or not _header_ok(header):
        return Rejection.HEADER
    if not body.strip():
        return Rejection.EMPTY
    try:
        text = body.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting: RecursionError
        return Rejection.JSON
    if not _ids_ok(document):
        return Rejection.IDS if isinstance(document, dict | list) else Rejection.JSON
    return Document(text)


def _header_ok(raw: bytes) -> bool:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if not isinstance(header, dict):
        return False
    form, version = header.get("format"), header.get("version")
    # NOTE: version must be the number 1 (Go's json.Unmarshal into an int field refuses "1").
    return (
        isinstance(form, str) and form.lower() == "json" and type(version) is int and version == 1
    )


def _ids_ok(document: Any) -> bool:
    """A segment needs `id` and `trace_id`; an independent subsegment also `parent_id`. An array
    (PutTraceSegments allows "an array of subsegments") needs every element to pass."""
    if isinstance(document, list):
        # Elements are objects: nested arrays are refused here, not walked (no recursion).
        return bool(document) and all(isinstance(i, dict) and _ids_ok(i) for i in document)
    if not isinstance(document, dict):
        return False
    if not _matches(_SEGMENT_ID, document.get("id")):
        return False
    if not _matches(_TRACE_ID, document.get("trace_id")):
        return False
    parent = document.get("parent_id")
    if document.get("type") == "subsegment" and parent is None:
        return False
    return parent is None or _matches(_SEGMENT_ID, parent)


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None
