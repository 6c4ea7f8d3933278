"""`meshway server`: the AWS endpoint, the store and (as they land) the control plane and runtime,
in the foreground. SIGTERM and SIGINT stop it cleanly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from meshway.api import sigv4
from meshway.api.app import AwsEndpoint, build_app
from meshway.api.awsproto.model import service_model
from meshway.api.awsproto.protocols import Json11Protocol, RestJsonProtocol
from meshway.api.dispatch import Binding
from meshway.core.clock import SystemClock
from meshway.core.errors import BadRequestException, InvalidParameterException
from meshway.core.ids import RandomIds
from meshway.service.appmesh import AppMeshService
from meshway.service.ecs import EcsService
from meshway.store.sql import SqlStore, open_store

log = logging.getLogger("meshway")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 7700
    store_url: str | None = None
    images: Path | None = None
    require_auth: Path | None = None
    log_level: str = "info"


def bindings(store: SqlStore) -> list[Binding]:
    clock, ids = SystemClock(), RandomIds()
    return [
        Binding(
            "appmesh",
            RestJsonProtocol(service_model("appmesh")),
            AppMeshService(store, clock=clock, ids=ids),
            BadRequestException,
        ),
        Binding(
            "ecs",
            Json11Protocol(service_model("ecs")),
            EcsService(store, clock=clock, ids=ids),
            InvalidParameterException,
        ),
    ]


def create_app(options: ServerOptions) -> tuple[AwsEndpoint, SqlStore]:
    store = open_store(options.store_url, options.data_dir)
    keys = sigv4.load_keys(options.require_auth) if options.require_auth else None
    return build_app(bindings(store), keys=keys), store


def run(options: ServerOptions) -> None:
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    app, store = create_app(options)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="uvloop",
        http="httptools",
    )
    server = uvicorn.Server(config)
    log.info(
        "meshway serving on http://%s:%d (data in %s)", options.host, options.port, options.data_dir
    )
    try:
        server.run()
    finally:
        app.close()
        store.close()
