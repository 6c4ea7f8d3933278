"""Surfaces closed by default (issue 9, part 4): what listens where, and what answers what.

- Envoy's admin (which can `/quitquitquit` and dump config) listens on 127.0.0.1 inside the
  task, whatever the task's environment says; the X-Ray daemon the built-in image runs binds UDP
  and TCP on loopback too.
- The resolver answers only names in its table (tests/security/test_dns_hostile.py fuzzes that;
  here: it never forwards, a real name of the internet gets NXDOMAIN).
- No HTTP endpoint of the server executes anything: every non-AWS route is a read (GET), and
  ECS ExecuteCommand is refused.
- The console sends a Content-Security-Policy, refuses state-changing methods (with a foreign
  Origin or not), answers its JSON only to a Host naming this machine, and grants no CORS.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshway.cli.server import ServerOptions, create_app
from meshway.console.app import API, STATIC, STATIC_FILES
from meshway.runtime.dns import query, read_address_file
from meshway.sidecar.bootstrap import BootstrapError, bootstrap, settings_from_env
from meshway.xray import settings as xray_settings
from meshway.xray.install import IMAGE_ARGS
from tests.conftest import ServerProcess
from tests.security.fuzzing import budget, tried

ARN = "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualNode/front"
ENVOY_ENV = st.dictionaries(
    st.sampled_from(
        ["ENVOY_ADMIN_ACCESS_PORT", "ENVOY_ADMIN_ACCESS_LOG_FILE", "ENABLE_ENVOY_XRAY_TRACING",
         "XRAY_DAEMON_PORT", "ENVOY_LOG_LEVEL", "APPMESH_XDS_ENDPOINT", "ENABLE_ENVOY_STATS_TAGS",
         "ENVOY_ADMIN_ADDRESS", "ENVOY_ADMIN_HOST", "STATSD_ADDRESS", "ENVOY_CONCURRENCY"]
    ),
    st.one_of(
        st.sampled_from(["0.0.0.0", "::", "1", "9901", "65535", "0", "-1", "x", "1.2.3.4:9901"]),
        st.text(max_size=20),
    ),
    max_size=5,
)  # fmt: skip


def _admin_address(env: dict[str, str]) -> dict[str, Any] | None:
    try:
        s = settings_from_env({"APPMESH_RESOURCE_ARN": ARN, **env}, default_xds="198.18.0.1:15010")
    except BootstrapError:
        return None  # the agent refuses to start Envoy at all
    return dict(bootstrap(s)["admin"]["address"]["socket_address"])


def test_envoy_admin_listens_on_loopback_in_the_default_bootstrap() -> None:
    address = _admin_address({})
    assert address == {"address": "127.0.0.1", "port_value": 9901}


@budget(200)
@given(env=ENVOY_ENV)
def test_no_task_environment_moves_envoy_admin_off_loopback(env: dict[str, str]) -> None:
    tried("envoy bootstrap env")
    address = _admin_address(env)
    assert address is None or address["address"] == "127.0.0.1"


def test_the_xray_daemon_of_the_built_in_image_binds_loopback_only() -> None:
    config = xray_settings.settings(list(IMAGE_ARGS), {})
    assert config.udp[0] == "127.0.0.1" and config.tcp[0] == "127.0.0.1"


def test_the_resolver_never_forwards_a_name_it_does_not_hold(
    start_server: Callable[..., ServerProcess],
) -> None:
    # A server of its own: on the shared one, another test's Cloud Map namespace `example.com`
    # is a zone this resolver rightly answers for.
    server = start_server("--no-runtime")
    address = read_address_file(server.data_dir / "dns-address")
    for name in ("example.com", "localhost", "amazonaws.com", "metadata.google.internal"):
        reply = query(name, address)
        assert reply.header.rcode == 3 and not reply.rr, name  # NXDOMAIN, nothing forwarded


# -- HTTP: nothing executes ------------------------------------------------------------------


def test_every_http_route_outside_the_aws_apis_is_a_read(tmp_path: Path) -> None:
    """The endpoint's own routes (health, proxies, console): GET and HEAD only, so none can be
    a command; a new route that writes must come with its own authentication and tests."""
    app, store = create_app(ServerOptions(data_dir=tmp_path / "data", runtime=False, xds_port=0))
    try:
        routes = {route.path: set(route.methods or ()) for route in app.fallback.routes}
    finally:
        store.close()
    assert "/health" in routes and "/meshway/proxies" in routes
    writers = {path: methods for path, methods in routes.items() if methods - {"GET", "HEAD"}}
    assert not writers, writers


def test_ecs_execute_command_is_refused_and_runs_nothing(server: ServerProcess, ecs: Any) -> None:
    marker = server.data_dir.parent / "executed"
    with pytest.raises(Exception) as raised:
        ecs.execute_command(
            cluster="default",
            task="arn:aws:ecs:us-west-2:000000000000:task/default/0123456789abcdef",
            command=f"touch {marker}",
            interactive=True,
        )
    response = getattr(raised.value, "response", {})
    assert 400 <= response["ResponseMetadata"]["HTTPStatusCode"] < 500
    assert not marker.exists()


# -- the console -------------------------------------------------------------------------------


def _request(
    server: ServerProcess, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


CONSOLE_PAGES = ["/", *(f"{STATIC}/{name}" for name in STATIC_FILES)]
CONSOLE_API = [f"{API}/{name}" for name in ("scopes", "meshes", "tasks", "proxies")]
FOREIGN = {"origin": "http://evil.example", "referer": "http://evil.example/x"}


@pytest.mark.parametrize("path", CONSOLE_PAGES + CONSOLE_API)
def test_every_console_answer_carries_a_content_security_policy_and_no_cors(
    server: ServerProcess, path: str
) -> None:
    status, headers, _ = _request(server, "GET", path, {"origin": FOREIGN["origin"]})
    assert status == 200
    csp = headers.get("content-security-policy", "")
    if path in CONSOLE_PAGES:
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers.get("x-content-type-options") == "nosniff"
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", CONSOLE_PAGES + CONSOLE_API + ["/meshway/proxies"])
def test_a_state_changing_request_with_a_foreign_origin_is_refused(
    server: ServerProcess, appmesh: Any, method: str, path: str
) -> None:
    before = appmesh.list_meshes()["meshes"]
    headers = {**FOREIGN, "content-type": "application/x-www-form-urlencoded"}
    status, headers_out, body = _request(server, method, path, headers, b"meshName=x&cmd=id")
    assert 400 <= status < 500, (status, body)
    assert "access-control-allow-origin" not in headers_out
    assert appmesh.list_meshes()["meshes"] == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7700", "attacker.localhost.evil"])
def test_the_console_json_answers_no_foreign_host(server: ServerProcess, host: str) -> None:
    """A DNS-rebinding page resolves its own name to 127.0.0.1: its Host header gives it away."""
    status, _, body = _request(server, "GET", f"{API}/meshes", {"host": host})
    assert status == 403, body
    assert json.loads(body)["message"]


def test_the_console_binds_where_the_server_was_told_and_nowhere_else(
    server: ServerProcess,
) -> None:
    """The session server listens on 127.0.0.1 only: its port is closed on other addresses."""
    others = [
        addr
        for addr in {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        if ":" not in addr and not addr.startswith("127.")
    ]
    for addr in others:
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((addr, server.port)) != 0, addr


HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
              "new Function", "javascript:")  # fmt: skip


def test_the_console_script_never_writes_markup_from_data() -> None:
    """The CSP stops injected scripts; not building markup from strings keeps names such as a
    task's container name or a trace annotation from becoming markup in the first place."""
    from importlib import resources

    static = resources.files("meshway.console").joinpath("static")
    script = static.joinpath("app.js").read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    assert not [sink for sink in HTML_SINKS if sink in code]
    page = static.joinpath("index.html").read_text()
    assert "<script>" not in page  # scripts come from files the CSP allows, never inline
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", page, re.IGNORECASE)  # no inline handlers
