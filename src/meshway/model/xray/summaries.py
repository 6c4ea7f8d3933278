"""`TraceSummary` of one assembled trace, in wire form (GetTraceSummaries' items).

Per the botocore `TraceSummary` docs (reference/xray.md §3.1): `Has*` flags, `Http` and
`ResponseTime` describe the root segment; `Duration` spans every segment; `IsPartial` means a
document is still in progress; annotations, users and ids are gathered from every document.
"""

from __future__ import annotations

from typing import Any

from meshway.model.xray.graph import Hops, ServiceKey
from meshway.model.xray.traces import Trace, child, end_of, walk


def summarize(trace: Trace, found: Hops) -> dict[str, Any]:
    root = trace.root or {}
    services = sorted({key for key, _ in found.entries} | {key for key, _ in found.inferred})
    everything = [d for s in trace.segments for d in walk(s)]
    summary: dict[str, Any] = {
        "Id": trace.id,
        "StartTime": trace.start_time,
        "Duration": round(trace.duration, 6),
        "HasFault": bool(root.get("fault")),
        "HasError": bool(root.get("error")),
        "HasThrottle": bool(root.get("throttle")),
        "IsPartial": trace.partial,
        "Annotations": _annotations(trace),
        "Users": _users(trace),
        "ServiceIds": [key.wire() for key in services],
        "ResourceARNs": _distinct("ARN", [s.get("resource_arn") for s in trace.segments]),
        "InstanceIds": _distinct("Id", [_ec2(d, "instance_id") for d in everything]),
        "AvailabilityZones": _distinct("Name", [_ec2(d, "availability_zone") for d in everything]),
        "Revision": len(trace.segments),
    }
    if root:
        summary["EntryPoint"] = ServiceKey(str(root["name"]), str(root.get("origin") or "")).wire()
        if root.get("end_time") is not None:
            summary["ResponseTime"] = round(end_of(root) - float(root["start_time"]), 6)
        http = _http(root)
        if http:
            summary["Http"] = http
    return summary


def _http(root: dict[str, Any]) -> dict[str, Any]:
    request, response = child(root, "http", "request"), child(root, "http", "response")
    wire = {
        "HttpURL": request.get("url"),
        "HttpMethod": request.get("method"),
        "UserAgent": request.get("user_agent"),
        "ClientIp": request.get("client_ip"),
        "HttpStatus": response.get("status") if isinstance(response.get("status"), int) else None,
    }
    return {k: v for k, v in wire.items() if v is not None}


def _annotations(trace: Trace) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, dict[tuple[str, Any], set[ServiceKey]]] = {}
    for segment in trace.segments:
        owner = ServiceKey(str(segment["name"]), str(segment.get("origin") or ""))
        for doc in walk(segment):
            notes = doc.get("annotations")
            if not isinstance(notes, dict):
                continue
            for key, value in notes.items():
                typed = _annotation_value(value)
                if typed is not None:
                    found.setdefault(key, {}).setdefault(typed, set()).add(owner)
    return {
        key: [
            {"AnnotationValue": {kind: value}, "ServiceIds": [s.wire() for s in sorted(owners)]}
            for (kind, value), owners in values.items()
        ]
        for key, values in sorted(found.items())
    }


def _annotation_value(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, bool):
        return ("BooleanValue", value)
    if isinstance(value, int | float):
        return ("NumberValue", float(value))
    if isinstance(value, str):
        return ("StringValue", value)
    return None


def _users(trace: Trace) -> list[dict[str, Any]]:
    users: dict[str, set[ServiceKey]] = {}
    for segment in trace.segments:
        if isinstance(segment.get("user"), str):
            key = ServiceKey(str(segment["name"]), str(segment.get("origin") or ""))
            users.setdefault(segment["user"], set()).add(key)
    return [
        {"UserName": user, "ServiceIds": [k.wire() for k in sorted(keys)]}
        for user, keys in sorted(users.items())
    ]


def _ec2(doc: dict[str, Any], field: str) -> Any:
    return child(doc, "aws", "ec2").get(field)


def _distinct(member: str, values: list[Any]) -> list[dict[str, Any]]:
    return [{member: v} for v in sorted({v for v in values if isinstance(v, str)})]
