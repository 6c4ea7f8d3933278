"""`meshway server`: the AWS endpoint, the store, and the task runtime, in the foreground.

SIGTERM and SIGINT stop it cleanly: uvicorn stops taking requests, then the lifespan stops every
task (reverse dependency order, stopTimeout honoured) before the process exits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from meshway.api import sigv4
from meshway.api.app import AwsEndpoint, build_app
from meshway.api.awsproto.model import service_model
from meshway.api.awsproto.protocols import Json11Protocol, RestJsonProtocol
from meshway.api.dispatch import Binding
from meshway.core.clock import SystemClock
from meshway.core.errors import BadRequestException, InvalidParameterException
from meshway.core.ids import RandomIds
from meshway.runtime.commands import SubprocessRunner
from meshway.runtime.engine import RuntimeEngine
from meshway.runtime.images import Catalog, load_catalog
from meshway.runtime.launch import Preparer
from meshway.runtime.linux import LinuxHost
from meshway.runtime.netns import Networking
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
    task_cidr: str = "198.18.0.0/16"
    runtime: bool = True
    log_level: str = "info"


@dataclass(frozen=True, slots=True)
class Services:
    appmesh: AppMeshService
    ecs: EcsService


def services(store: SqlStore) -> Services:
    clock, ids = SystemClock(), RandomIds()
    return Services(
        appmesh=AppMeshService(store, clock=clock, ids=ids),
        ecs=EcsService(store, clock=clock, ids=ids),
    )


def bindings(found: Services) -> list[Binding]:
    return [
        Binding(
            "appmesh",
            RestJsonProtocol(service_model("appmesh")),
            found.appmesh,
            BadRequestException,
        ),
        Binding("ecs", Json11Protocol(service_model("ecs")), found.ecs, InvalidParameterException),
    ]


def runtime_engine(options: ServerOptions, store: SqlStore, ecs: EcsService) -> RuntimeEngine:
    state_dir = options.data_dir / "runtime"
    networking = Networking(SubprocessRunner(), cidr=options.task_cidr, state_dir=state_dir)
    host = LinuxHost(networking, state_dir)
    catalog = load_catalog(options.images) if options.images else Catalog()

    async def prepare_host() -> None:
        await networking.cleanup_leftovers()
        await networking.ensure_bridge()

    return RuntimeEngine(
        store=store, ecs=ecs, host=host, prepare=Preparer(catalog), cleanup=prepare_host
    )


def create_app(options: ServerOptions) -> tuple[AwsEndpoint, SqlStore]:
    store = open_store(options.store_url, options.data_dir)
    keys = sigv4.load_keys(options.require_auth) if options.require_auth else None
    found = services(store)
    engine = None
    if options.runtime and os.geteuid() == 0:
        engine = runtime_engine(options, store, found.ecs)
    elif options.runtime:
        log.warning("not root: the task runtime is off (tasks stay PROVISIONING until stopped)")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if engine is not None:
            await engine.start()
        try:
            yield
        finally:
            if engine is not None:
                await engine.stop()

    return build_app(bindings(found), keys=keys, lifespan=lifespan), store


def run(options: ServerOptions) -> None:
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    app, store = create_app(options)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
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
