"""An xDS server in its own process, for the kill -9 test: it publishes one hand-made snapshot
(tests/xds_resources.py) for one node and writes the proxy status board to a file every 20 ms.
Its proxy credential key is the status file's directory's (created there if missing, as
`meshway server` does in its data directory), so a restarted harness accepts the same tokens.

python -m tests.e2e.xds_harness PORT NODE_KEY LISTEN_PORT NAME=BACKEND_PORT STATUS_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from meshway.xds.cache import SnapshotCache
from meshway.xds.credentials import ProxyCredentials
from meshway.xds.nodes import node_key
from meshway.xds.server import XdsServer
from meshway.xds.status import StatusBoard
from tests import xds_resources


async def main(port: int, key: str, listen: int, backend: str, status: Path) -> None:
    name, _, backend_port = backend.partition("=")
    cache = SnapshotCache()
    cache.set_snapshot(key, xds_resources.snapshot(listen, {name: [int(backend_port)]}))
    board = StatusBoard()
    credentials = ProxyCredentials.load_or_create(status.parent)
    server = XdsServer(cache, board, key_of=node_key, credentials=credentials)
    await server.start(["127.0.0.1"], port)
    while True:
        temporary = status.with_suffix(".tmp")
        temporary.write_text(json.dumps(board.to_json()))
        temporary.replace(status)
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    port, key, listen, backend, status = sys.argv[1:6]
    asyncio.run(main(int(port), key, int(listen), backend, Path(status)))
