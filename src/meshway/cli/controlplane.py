"""The control plane's pieces for `meshway server`: the snapshot cache, the sync that keeps it
current from the store, the proxy status board, the ADS server, and the sidecar files the
built-in Envoy image runs.

Start order (cli/server.py's lifespan): `start()` before the runtime (loopback listener, so the
port is known before any task launches an Envoy; the sidecar files installed), `listen_bridge()`
after it (the bridge address exists once the runtime made it), `stop()` after every task stopped.
Envoys reach the server at `<bridge gateway>:<port>`; `<data-dir>/xds-address` names the loopback
address for tools and tests. Every ADS stream needs a credential (xds/credentials.py) under
the key in `<data-dir>/xds-credential.key`: the runtime gives each task's Envoy its own
(`envoy_credential`), `meshway proxy-credential` mints them for Envoys started by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from envoy.config.core.v3 import base_pb2
from google.protobuf import json_format
from starlette.routing import Route

from meshway.api.proxies import proxy_routes
from meshway.core.files import write_private
from meshway.runtime.supervisor import LaunchError
from meshway.sidecar import bootstrap
from meshway.sidecar.install import SidecarFiles, install
from meshway.store.base import Store
from meshway.xds.cache import SnapshotCache
from meshway.xds.credentials import ENVIRONMENT, ProxyCredentials
from meshway.xds.nodes import node_key
from meshway.xds.server import XdsServer
from meshway.xds.status import StatusBoard
from meshway.xds.sync import XdsSync

log = logging.getLogger(__name__)

DEFAULT_XDS_PORT = 15010
ADDRESS_FILE = "xds-address"


class ControlPlane:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        gateway: str,
        store: Store,
        board: StatusBoard | None = None,  # the console's metrics pass one that counts pushes
    ) -> None:
        self.data_dir = data_dir
        self.requested_port = port
        self.gateway = gateway
        self.cache = SnapshotCache()
        self.board = board if board is not None else StatusBoard()
        self.sync = XdsSync(store, self.cache)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.credentials = ProxyCredentials.load_or_create(data_dir)
        self.server = XdsServer(
            self.cache,
            self.board,
            key_of=node_key,
            warm=self.sync.warm,
            credentials=self.credentials,
        )
        self.sidecar: SidecarFiles | None = None

    async def start(self, *, sidecar: bool) -> None:
        await self.sync.start()
        await self.server.start(["127.0.0.1"], self.requested_port)
        write_private(self.data_dir / ADDRESS_FILE, f"127.0.0.1:{self.server.port}\n")
        if sidecar:
            self.sidecar = await asyncio.to_thread(install, self.data_dir)
            log.info("Envoy sidecar: %s", self.sidecar.envoy)

    async def listen_bridge(self) -> None:
        await self.server.listen(self.gateway)

    async def stop(self) -> None:
        await self.server.stop()
        await self.sync.stop()
        (self.data_dir / ADDRESS_FILE).unlink(missing_ok=True)

    def envoy_program(self, account: str) -> Sequence[str]:
        """The built-in aws-appmesh-envoy image's argv for a task of `account`."""
        if self.sidecar is None:
            raise LaunchError("CannotStartContainerError: the Envoy sidecar is not installed")
        return self.sidecar.argv(f"{self.gateway}:{self.server.port}", account)

    def envoy_credential(self, task_arn: str, environment: Mapping[str, str]) -> dict[str, str]:
        """The xDS credential of a task's Envoy sidecar; nothing when the environment names no
        node, as the agent then stops before it connects."""
        key = sidecar_node_key(environment, account=task_arn.split(":")[4])
        if key is None:
            return {}
        return {ENVIRONMENT: self.credentials.mint(subject=task_arn, node=key)}

    def routes(self) -> list[Route]:
        return proxy_routes(self.board, self.cache)


def sidecar_node_key(environment: Mapping[str, str], *, account: str) -> str | None:
    """The cache key of the node the sidecar agent will present, given its environment and
    the task's account: computed by the agent's own code, so the two cannot disagree."""
    try:
        settings = bootstrap.settings_from_env(environment, default_xds="127.0.0.1:0",
                                               account=account)  # fmt: skip
    except bootstrap.BootstrapError:
        return None
    node = json_format.ParseDict(bootstrap.bootstrap(settings)["node"], base_pb2.Node())
    return node_key(node)
