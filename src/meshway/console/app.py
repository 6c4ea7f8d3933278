"""The console's HTTP side: the page at `/`, its static files, its read-only JSON under
`/meshway/console/api/`, and `/metrics`.

Safe by default: every answer carries a Content-Security-Policy that allows only this origin's
own script and style (the page builds its DOM with textContent, never innerHTML with data); the
JSON answers only GET, and only to a Host that names this machine by address or `localhost` or the
address the server listens on, so a DNS-rebinding page elsewhere cannot read the mesh through a
visitor's browser. Nothing here writes.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meshway.console import envoy_stats, views, xray
from meshway.console.metrics import CONTENT_TYPE, Metrics, render
from meshway.core.context import RequestContext
from meshway.core.errors import AwsError
from meshway.store.sql import SqlStore
from meshway.xds.status import StatusBoard

API = "/meshway/console/api"
STATIC = "/meshway/console/static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
DEFAULT_MINUTES = 5
MAX_MINUTES = 360

Handler = Callable[[Request], Awaitable[Response]]


def _asset(name: str) -> bytes:
    return resources.files("meshway.console").joinpath("static", name).read_bytes()


def allowed_host(host_header: str, listen_host: str) -> bool:
    """Whether a request's Host names this server as only its own user would: an IP address,
    `localhost`, or the host it was told to listen on."""
    host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    host = host.strip("[]").lower()
    if host in ("localhost", listen_host.lower()):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class BadQueryError(ValueError):
    pass


def _minutes(request: Request) -> float:
    try:
        minutes = float(request.query_params.get("minutes", DEFAULT_MINUTES))
    except ValueError as error:
        raise BadQueryError("minutes must be a number") from error
    if not 0 < minutes <= MAX_MINUTES:
        raise BadQueryError(f"minutes must be in (0, {MAX_MINUTES}]")
    return minutes


def _scope(request: Request) -> RequestContext:
    account = request.query_params.get("account", "000000000000")
    region = request.query_params.get("region", "us-east-1")
    if not (len(account) == 12 and account.isdigit()):
        raise BadQueryError("account must be 12 digits")
    if not region or len(region) > 32 or not all(c.isalnum() or c == "-" for c in region):
        raise BadQueryError("region is not a region name")
    return RequestContext(account=account, region=region, access_key="", request_id="console")


@dataclass
class Console:
    """What the console reads: the store, the X-Ray service, the proxy board, the task logs."""

    store: SqlStore
    xray: Any  # meshway.service.xray.XRayService: operations are found by name
    board: StatusBoard
    metrics: Metrics | None = None
    state_dir: Path | None = None  # the runtime's state dir (task logs), None without runtime
    listen_host: str = "127.0.0.1"
    scrape_envoys: bool = False  # scrape Envoys (needs root: their admin is in the task netns)

    def routes(self) -> list[Route]:
        api = {
            "scopes": self._scopes,
            "meshes": self._meshes,
            "mesh": self._mesh,
            "tasks": self._tasks,
            "task": self._task,
            "proxies": self._proxies,
            "servicemap": self._service_map,
            "traces": self._traces,
            "trace": self._trace,
        }
        found = [Route("/", self._index, methods=["GET"])]
        found += [Route(f"{STATIC}/{name}", self._static, methods=["GET"]) for name in STATIC_FILES]
        found += [
            Route(f"{API}/{name}", self._guard(handler), methods=["GET"])
            for name, handler in api.items()
        ]
        if self.metrics is not None:
            found.append(Route("/metrics", self._metrics, methods=["GET"]))
        return found

    def _guard(self, handler: Callable[[Request], Any]) -> Handler:
        async def guarded(request: Request) -> Response:
            if not allowed_host(request.headers.get("host", ""), self.listen_host):
                return _json({"message": "Host not allowed"}, 403)
            try:
                found = handler(request)
            except BadQueryError as error:
                return _json({"message": str(error)}, 400)
            except AwsError as error:
                return _json({"message": error.message, "code": error.code}, 400)
            if found is None:
                return _json({"message": "not found"}, 404)
            return _json(found)

        return guarded

    async def _index(self, _: Request) -> Response:
        return Response(_asset("index.html"), media_type="text/html", headers=SECURITY_HEADERS)

    async def _static(self, request: Request) -> Response:
        name = request.url.path.rsplit("/", 1)[-1]
        return Response(_asset(name), media_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

    def _scopes(self, _: Request) -> Any:
        return {"scopes": views.scopes(self.store)}

    def _meshes(self, _: Request) -> Any:
        return {"meshes": views.list_meshes(self.store)}

    def _mesh(self, request: Request) -> Any:
        return views.mesh_view(self.store, request.query_params.get("arn", ""))

    def _tasks(self, _: Request) -> Any:
        return {"tasks": views.list_tasks(self.store)}

    def _task(self, request: Request) -> Any:
        return views.task_view(self.store, self.state_dir, request.query_params.get("arn", ""))

    def _proxies(self, _: Request) -> Any:
        return {"proxies": self.board.to_json(), "now": time.time()}

    def _window(self, request: Request) -> tuple[RequestContext, float, float]:
        ctx, minutes = _scope(request), _minutes(request)
        end = time.time() + 1  # segments stamped this second count
        return ctx, end - minutes * 60, end

    def _service_map(self, request: Request) -> Any:
        ctx, start, end = self._window(request)
        graph = self.xray.get_service_graph(ctx, start_time=start, end_time=end)
        return xray.service_map(graph)

    def _traces(self, request: Request) -> Any:
        ctx, start, end = self._window(request)
        expression = request.query_params.get("filter") or None
        found = self.xray.get_trace_summaries(
            ctx, start_time=start, end_time=end, filter_expression=expression
        )
        return {"traces": found.get("TraceSummaries", [])}

    def _trace(self, request: Request) -> Any:
        ctx = _scope(request)
        trace_id = request.query_params.get("id", "")
        found = self.xray.batch_get_traces(ctx, trace_ids=[trace_id])["Traces"]
        return xray.waterfall(found[0]) if found else None

    async def _metrics(self, _: Request) -> Response:
        assert self.metrics is not None  # the route exists only with metrics
        body = self.metrics.control_plane_text()
        if self.scrape_envoys:
            body += render(await envoy_stats.scrape(self._envoy_targets()))
        return Response(body, media_type=CONTENT_TYPE)

    def _envoy_targets(self) -> list[envoy_stats.EnvoyTarget]:
        proxies = [(p.peer, p.key) for p in self.board.proxies()]
        running = [t for t in views.list_tasks(self.store) if t.get("lastStatus") == "RUNNING"]
        return envoy_stats.targets(proxies, running)


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, headers=SECURITY_HEADERS)
