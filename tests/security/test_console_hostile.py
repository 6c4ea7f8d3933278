"""Hostile queries for the server's own HTTP reads (issue 9, parts 4 and 5): the console's JSON
API and `/meshway/proxies/config` take query parameters straight from a browser; whatever they
hold, the answer is a 2xx or a 4xx with a JSON message, never a 5xx or a traceback.

Also the X-Ray filter expressions both the console and the X-Ray API parse: thousands of nested
parentheses or NOTs, or a long AND chain, used to raise RecursionError (a 500 through the API and
the console) — now a 400 with a message.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshway.console.app import API
from tests.conftest import ServerProcess
from tests.security.api_wire import LEAKS, PARSER_REFUSAL
from tests.security.fuzzing import budget, outcome, tried

DEEP = [
    "(" * 5000 + "ok" + ")" * 5000,
    "!" * 5000 + "ok",
    " AND ".join(["ok"] * 3000),
    " OR ".join(["error"] * 3000),
]
ROUTES = ["mesh", "task", "servicemap", "traces", "trace", "meshes", "tasks", "scopes", "proxies"]
PARAMS = st.dictionaries(
    st.sampled_from(["arn", "account", "region", "minutes", "filter", "id", "key", "x"]),
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(["000000000000", "us-east-1", "1e309", "nan", "-0", "inf", "360.0001"]),
        st.sampled_from(DEEP),
        st.just("arn:aws:ecs:us-east-1:000000000000:task/" + "x" * 5000),
    ),
    max_size=4,
)


def _get(server: ServerProcess, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _safe(status: int, body: bytes, what: object) -> None:
    assert status < 500, (what, status, body[:300])
    for leak in LEAKS:
        assert leak not in body, (leak, what)
    if status == 400 and body == PARSER_REFUSAL:
        return  # a request line too long for uvicorn's parser: refused before any app code
    if status >= 400:
        assert json.loads(body)["message"], (status, body[:300])


@budget(120, deadline_ms=None)
@given(route=st.sampled_from(ROUTES), params=PARAMS)
def test_no_console_query_gets_a_5xx_or_a_traceback(
    server: ServerProcess, route: str, params: dict[str, str]
) -> None:
    path = f"{API}/{route}?{urlencode(params)}"
    status, body = _get(server, path)
    tried("console api queries")
    outcome("console api queries", str(status))
    _safe(status, body, path[:200])


@budget(40, deadline_ms=None)
@given(key=st.one_of(st.text(max_size=60), st.just("x" * 20_000), st.just("\u0000")))
def test_no_proxy_config_key_gets_a_5xx(server: ServerProcess, key: str) -> None:
    status, body = _get(server, "/meshway/proxies/config?" + urlencode({"key": key}))
    tried("proxy config keys")
    _safe(status, body, key[:50])


@pytest.mark.parametrize("expression", DEEP, ids=["parens", "nots", "and-chain", "or-chain"])
def test_a_deeply_nested_filter_is_a_400_in_the_xray_api_and_the_console(
    server: ServerProcess, account: str, expression: str
) -> None:
    xray = server.client("xray", aws_access_key_id=account)
    for call in (
        lambda: xray.get_trace_summaries(StartTime=0, EndTime=1, FilterExpression=expression),
        lambda: xray.create_group(GroupName="deep", FilterExpression=expression),
    ):
        tried("xray filter expressions")
        with pytest.raises(Exception) as raised:
            call()
        response: Any = getattr(raised.value, "response", {})
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
        assert response["Error"]["Code"] == "InvalidRequestException"
    assert not [g for g in xray.get_groups()["Groups"] if g["GroupName"] == "deep"]
    query = urlencode({"filter": expression, "account": account, "region": "us-west-2"})
    status, body = _get(server, f"{API}/traces?{query}")
    assert status == 400, body[:300]
