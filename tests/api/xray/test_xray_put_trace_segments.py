"""PutTraceSegments through boto3: per-document validation, upserts, streamed subsegments."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.xray import envoy
from tests.conftest import ServerProcess, make_client


def put(xray: Any, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = xray.put_trace_segments(TraceSegmentDocuments=envoy.documents(docs))
    return list(answer["UnprocessedTraceSegments"])


def whole(xray: Any, trace_id: str) -> list[dict[str, Any]]:
    (trace,) = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    return [json.loads(s["Document"]) for s in trace["Segments"]]


def test_bad_documents_are_listed_and_good_ones_in_the_same_call_are_stored(xray: Any) -> None:
    req = envoy.request(time.time() - 5, 200)
    no_name = {**req.segments[2], "name": None}
    no_name.pop("name")
    bad_trace = {**req.segments[1], "trace_id": "1-abc-def"}
    texts = [
        json.dumps(req.segments[0]),
        "{not json",
        json.dumps(no_name),
        json.dumps(bad_trace),
    ]
    unprocessed = xray.put_trace_segments(TraceSegmentDocuments=texts)["UnprocessedTraceSegments"]
    assert unprocessed == [
        {"ErrorCode": "JSONFormatError", "Message": "Invalid segment. ErrorCode: JSONFormatError"},
        {
            "Id": no_name["id"],
            "ErrorCode": "MissingName",
            "Message": "Invalid segment. ErrorCode: MissingName",
        },
        {
            "Id": bad_trace["id"],
            "ErrorCode": "InvalidTraceId",
            "Message": "Invalid segment. ErrorCode: InvalidTraceId",
        },
    ]
    assert [d["id"] for d in whole(xray, req.trace_id)] == [req.segments[0]["id"]]


def test_an_oversize_document_is_unprocessed(xray: Any) -> None:
    big = {**envoy.request(time.time(), 200).segments[0], "metadata": {"d": {"x": "y" * 70_000}}}
    (entry,) = put(xray, [big])
    assert entry["ErrorCode"] == "SegmentTooLarge" and entry["Id"] == big["id"]


def test_a_complete_segment_replaces_the_in_progress_one_with_the_same_id(xray: Any) -> None:
    req = envoy.request(time.time() - 5, 503)
    root = req.segments[0]
    early = {k: v for k, v in root.items() if k not in ("end_time", "fault", "http")}
    assert put(xray, [{**early, "in_progress": True}]) == []
    (summary,) = summaries(xray, req.trace_id)
    assert summary["IsPartial"] is True
    assert put(xray, [root]) == []
    (doc,) = whole(xray, req.trace_id)
    assert doc == root
    (summary,) = summaries(xray, req.trace_id)
    assert summary["IsPartial"] is False and summary["HasFault"] is True


def summaries(xray: Any, trace_id: str) -> list[dict[str, Any]]:
    epoch = int(trace_id.split("-")[1], 16)
    found = xray.get_trace_summaries(StartTime=epoch, EndTime=epoch + 1)["TraceSummaries"]
    return [s for s in found if s["Id"] == trace_id]


def test_streamed_subsegments_are_merged_into_their_parent_segment(xray: Any) -> None:
    now = time.time() - 5
    tid = envoy.trace_id(now)
    parent = {
        "name": "app",
        "id": envoy.new_id(),
        "trace_id": tid,
        "start_time": now,
        "end_time": now + 1,
    }
    calls = [
        {
            "type": "subsegment",
            "name": f"call-{i}",
            "id": envoy.new_id(),
            "trace_id": tid,
            "parent_id": parent["id"],
            "namespace": "remote",
            "start_time": now + 0.1 * i,
            "end_time": now + 0.1 * i + 0.05,
        }
        for i in range(3)
    ]
    # As the SDK streams: the subsegments first (one as an array), the segment last.
    texts = [json.dumps(calls[0]), json.dumps(calls[1:])]
    assert xray.put_trace_segments(TraceSegmentDocuments=texts)["UnprocessedTraceSegments"] == []
    assert put(xray, [parent]) == []
    (doc,) = whole(xray, tid)
    assert [s["name"] for s in doc["subsegments"]] == ["call-0", "call-1", "call-2"]
    assert all("parent_id" not in s and "type" not in s for s in doc["subsegments"])


def test_an_independent_subsegment_without_parent_id_is_unprocessed(xray: Any) -> None:
    lone = {"type": "subsegment", "name": "x", "id": envoy.new_id(), "start_time": 1, "end_time": 2}
    lone["trace_id"] = envoy.trace_id(time.time())
    (entry,) = put(xray, [lone])
    assert entry["ErrorCode"] == "MissingParentId"


def test_traces_belong_to_the_account_that_sent_them(server: ServerProcess, xray: Any) -> None:
    req = envoy.request(time.time() - 5, 200)
    assert put(xray, list(req.segments)) == []
    other = make_client(server.url, "xray", aws_access_key_id="999999999999")
    answer = other.batch_get_traces(TraceIds=[req.trace_id])
    assert answer["Traces"] == [] and answer["UnprocessedTraceIds"] == [req.trace_id]


def post(server: ServerProcess, path: str, body: bytes) -> tuple[int, Any, Any]:
    request = urllib.request.Request(
        server.url + path, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_a_call_without_documents_is_an_invalid_request(server: ServerProcess) -> None:
    status, headers, body = post(server, "/TraceSegments", b"{}")
    assert status == 400 and headers.get("x-amzn-ErrorType") == "InvalidRequestException"
    assert "TraceSegmentDocuments" in body["message"]


def test_an_unsigned_put_like_the_daemons_proxy_sends_is_accepted(server: ServerProcess) -> None:
    req = envoy.request(time.time() - 5, 200)
    body = json.dumps({"TraceSegmentDocuments": envoy.documents(list(req.segments))}).encode()
    status, _, answer = post(server, "/TraceSegments", body)
    assert status == 200 and answer == {"UnprocessedTraceSegments": []}


def test_boto3_refuses_a_missing_member_before_sending(xray: Any) -> None:
    with pytest.raises(Exception, match="TraceSegmentDocuments"):
        xray.put_trace_segments()
    with pytest.raises(ClientError):
        xray.batch_get_traces(TraceIds=["1-x"], NextToken="not-a-token")


def test_the_size_bound_is_a_server_flag_and_drops_whole_traces(
    start_server: Callable[..., ServerProcess],
) -> None:
    tight = start_server("--no-runtime", "--xray-max-mb", "0")
    xray = tight.client("xray", aws_access_key_id="123456789012")
    req = envoy.request(time.time() - 5, 200)
    assert put(xray, list(req.segments)) == []
    answer = xray.batch_get_traces(TraceIds=[req.trace_id])
    assert answer["Traces"] == [] and answer["UnprocessedTraceIds"] == [req.trace_id]


def test_within_one_call_an_in_progress_copy_does_not_undo_the_complete_one(xray: Any) -> None:
    req = envoy.request(time.time() - 5, 200)
    root = req.segments[0]
    early = {k: v for k, v in root.items() if k != "end_time"} | {"in_progress": True}
    assert put(xray, [root, early]) == []
    assert whole(xray, req.trace_id) == [root]


def test_xray_and_app_mesh_share_the_endpoint_each_on_its_own_paths(
    server: ServerProcess, xray: Any, appmesh: Any
) -> None:
    assert appmesh.list_meshes()["meshes"] == []
    assert (
        xray.get_sampling_rules()["SamplingRuleRecords"][0]["SamplingRule"]["RuleName"] == "Default"
    )
    request = urllib.request.Request(server.url + "/TraceSegments", method="GET")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 405
