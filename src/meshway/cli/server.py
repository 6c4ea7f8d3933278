"""`meshway server`: the AWS endpoint, the store, and the task runtime, in the foreground.

SIGTERM and SIGINT stop it cleanly: uvicorn stops taking requests, then the lifespan stops every
task (reverse dependency order, stopTimeout honoured) before the process exits.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from meshway.api import sigv4
from meshway.api.app import AwsEndpoint, build_app
from meshway.api.awsproto.model import service_model
from meshway.api.awsproto.protocols import Json11Protocol, RestJsonProtocol
from meshway.api.dispatch import Binding
from meshway.cli import demo
from meshway.cli.controlplane import DEFAULT_XDS_PORT, ControlPlane
from meshway.cli.tracing import BridgeGuard, XrayDaemonImage, endpoint_sockets
from meshway.console import Console, Metrics
from meshway.core.clock import SystemClock
from meshway.core.errors import (
    BadRequestException,
    InvalidInput,
    InvalidParameterException,
    InvalidRequestException,
)
from meshway.core.ids import RandomIds
from meshway.runtime.commands import SubprocessRunner
from meshway.runtime.dns import ADDRESS_FILE, Resolver
from meshway.runtime.engine import RuntimeEngine
from meshway.runtime.images import Catalog, load_catalog
from meshway.runtime.launch import EnvoyCredential, EnvoyProgram, Preparer, XrayProgram
from meshway.runtime.linux import LinuxHost
from meshway.runtime.names import gateway_of
from meshway.runtime.netns import Networking
from meshway.runtime.scheduler import ServiceScheduler
from meshway.service.appmesh import AppMeshService
from meshway.service.ecs import EcsService
from meshway.service.servicediscovery import CloudMapService
from meshway.service.xray import XRayService
from meshway.store.sql import SqlStore, open_store
from meshway.store.traces import Retention

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
    dns_port: int = 0  # the resolver's loopback port for the host; 0: any free port
    xds_port: int = DEFAULT_XDS_PORT  # ADS on loopback and the bridge address; 0: any free port
    log_level: str = "info"
    demo: bool = False  # apply the getting-started mesh once serving (cli/demo.py; root)
    xray_retention: Retention = field(default_factory=Retention)  # trace store age/size bounds


@dataclass(frozen=True, slots=True)
class Services:
    appmesh: AppMeshService
    ecs: EcsService
    xray: XRayService
    servicediscovery: CloudMapService


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (developer mode needs no keys there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def services(store: SqlStore, xray_retention: Retention | None = None) -> Services:
    clock, ids = SystemClock(), RandomIds()
    return Services(
        appmesh=AppMeshService(store, clock=clock, ids=ids),
        ecs=EcsService(store, clock=clock, ids=ids),
        xray=XRayService(store, clock=clock, ids=ids, retention=xray_retention),
        servicediscovery=CloudMapService(store, clock=clock, ids=ids),
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
        Binding(
            "xray", RestJsonProtocol(service_model("xray")), found.xray, InvalidRequestException
        ),
        Binding(
            "servicediscovery",
            Json11Protocol(service_model("servicediscovery")),
            found.servicediscovery,
            InvalidInput,
        ),
    ]


def runtime_engine(
    options: ServerOptions,
    store: SqlStore,
    ecs: EcsService,
    envoy: EnvoyProgram | None = None,
    xray: XrayProgram | None = None,
    credential: EnvoyCredential | None = None,
) -> RuntimeEngine:
    state_dir = options.data_dir / "runtime"
    networking = Networking(SubprocessRunner(), cidr=options.task_cidr, state_dir=state_dir)
    host = LinuxHost(networking, state_dir)
    catalog = load_catalog(options.images) if options.images else Catalog()
    if options.demo:
        catalog.entries.update(demo.images(demo.install_programs(options.data_dir)))

    async def prepare_host() -> None:
        await networking.cleanup_leftovers()
        await networking.ensure_bridge()

    prepare = Preparer(catalog, envoy, xray, credential)
    return RuntimeEngine(store=store, ecs=ecs, host=host, prepare=prepare, cleanup=prepare_host)


def name_resolver(options: ServerOptions, store: SqlStore, *, bridge: bool) -> Resolver:
    """The task resolver: on loopback for the host (its address in <data-dir>/dns-address), and
    on the bridge address, port 53, for tasks once the runtime has made the bridge."""
    listen = [("127.0.0.1", options.dns_port)]
    if bridge:
        listen.append((gateway_of(options.task_cidr), 53))
    return Resolver(
        store=store,
        cidr=options.task_cidr,
        listen=listen,
        address_file=options.data_dir / ADDRESS_FILE,
    )


def runtime_on(options: ServerOptions) -> bool:
    return options.runtime and os.geteuid() == 0


def create_app(options: ServerOptions) -> tuple[AwsEndpoint, SqlStore]:
    store = open_store(options.store_url, options.data_dir)
    keys = sigv4.load_keys(options.require_auth) if options.require_auth else None
    found = services(store, options.xray_retention)
    engine = None
    metrics = Metrics(store)
    control = ControlPlane(
        options.data_dir,
        options.xds_port,
        gateway_of(options.task_cidr),
        store,
        board=metrics.board,
    )
    if runtime_on(options):
        xray = XrayDaemonImage(options.data_dir, gateway_of(options.task_cidr), options.port)
        engine = runtime_engine(
            options, store, found.ecs, control.envoy_program, xray.program, control.envoy_credential
        )
    elif options.runtime:
        log.warning("not root: the task runtime is off (tasks stay PROVISIONING until stopped)")
    resolver = name_resolver(options, store, bridge=engine is not None)
    # The service scheduler is control plane: it runs with or without the task runtime.
    scheduler = ServiceScheduler(store=store, ecs=found.ecs)
    demo_stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await control.start(sidecar=engine is not None)  # the xDS port before any Envoy starts
        if engine is not None:
            await engine.start()
            await control.listen_bridge()
        await resolver.start()  # after the engine: the bridge address exists by then
        await scheduler.start()
        if options.demo and engine is None:
            log.warning(demo.NOT_ROOT if options.runtime else demo.NO_RUNTIME)
        elif options.demo:
            demo.run_in_background(_local_url(options), demo_stop)
        try:
            yield
        finally:
            demo_stop.set()
            await _bounded("service scheduler", scheduler.stop(), 10)
            if engine is not None:  # tasks honour their stopTimeout (ECS's default is 30 s)
                await _bounded("task runtime", engine.stop(), 150)
            await _bounded("resolver", resolver.stop(), 10)  # stopping apps may look names up
            await _bounded("control plane", control.stop(), 10)  # Envoys drain with their config

    console = Console(
        store=store,
        xray=found.xray,
        board=control.board,
        metrics=metrics,
        state_dir=options.data_dir / "runtime" if engine is not None else None,
        listen_host=options.host,
        scrape_envoys=engine is not None,
    )
    app = build_app(
        bindings(found),
        keys=keys,
        extra_routes=[*control.routes(), *console.routes()],
        lifespan=lifespan,
        observe=metrics.observe_api,
    )
    return app, store


async def _bounded(what: str, stopping: Awaitable[None], seconds: float) -> None:
    """Stop one engine, but never let one that hangs keep the server from exiting."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(stopping, seconds)
    except TimeoutError:
        log.error("stopping the %s took more than %g s; going on without it", what, seconds)
    else:
        log.info("stopped the %s in %.2f s", what, time.monotonic() - started)


def _local_url(options: ServerOptions) -> str:
    """This server's endpoint as a client on this host reaches it."""
    host = "127.0.0.1" if options.host in ("0.0.0.0", "::", "") else options.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{options.port}"


def run(options: ServerOptions) -> None:
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # Tasks reach the endpoint on the bridge address too (cli/tracing.py); binding first also
    # fixes the port when --port 0 asked for any.
    bridge = gateway_of(options.task_cidr) if runtime_on(options) else None
    sockets = endpoint_sockets(options.host, options.port, bridge)
    options = replace(options, port=int(sockets[0].getsockname()[1]))
    app, store = create_app(options)
    served = BridgeGuard(app, bridge) if len(sockets) > 1 and bridge else app
    config = uvicorn.Config(
        served,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
        proxy_headers=False,  # no proxy in front; its middleware cost 8% of a request
        server_header=False,
    )
    server = uvicorn.Server(config)
    log.info(
        "meshway serving on http://%s:%d (data in %s)", options.host, options.port, options.data_dir
    )
    try:
        server.run(sockets=sockets)
    finally:
        store.close()
