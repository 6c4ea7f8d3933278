"""Meshway's extension paths for proxy status (no App Mesh API has them):

- `GET /meshway/proxies` — every connected Envoy: node, cache key, protocol, per type the version
  sent and ACKed, the last NACK with Envoy's error, when it last got a push (`xds.status`);
- `GET /meshway/proxies/config?key=KEY` — the snapshot served under one cache key (what
  `meshway proxy-config` dumps), as Envoy's JSON.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meshway.xds.cache import SHORT_NAMES, SnapshotCache
from meshway.xds.status import StatusBoard


def _config(cache: SnapshotCache, key: str) -> dict[str, Any]:
    entry = cache.get(key)
    return {
        "key": key,
        "published": entry.published,
        "resources": {
            SHORT_NAMES.get(type_url, type_url): [
                {
                    "name": r.name,
                    "version": r.version,
                    "resource": json_format.MessageToDict(r.message),
                }
                for r in named.values()
            ]
            for type_url, named in entry.resources.items()
            if named
        },
    }


def proxy_routes(board: StatusBoard, cache: SnapshotCache) -> list[Route]:
    async def proxies(_: Request) -> Response:
        return JSONResponse({"proxies": board.to_json()})

    async def config(request: Request) -> Response:
        key = request.query_params.get("key", "")
        if not key:
            return JSONResponse({"message": "the query parameter key is required"}, 400)
        return JSONResponse(_config(cache, key))

    return [
        Route("/meshway/proxies", proxies, methods=["GET"]),
        Route("/meshway/proxies/config", config, methods=["GET"]),
    ]
