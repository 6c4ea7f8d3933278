"""A scripted ADS client on a loop of its own thread, so a test can hold an Envoy's stream open
while it drives the browser with Playwright's sync API (which refuses a running loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from tests.conftest import ServerProcess
from tests.xds_client import AdsClient
from tests.xds_credentials import minter

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def xds_address(server: ServerProcess) -> str:
    return (server.data_dir / "xds-address").read_text().strip()


async def connect(server: ServerProcess, node_id: str) -> AdsClient:
    return AdsClient(xds_address(server), node_id, credential=minter(server.data_dir))


async def subscribe(
    client: AdsClient, type_url: str, *, names: Sequence[str] = (), nack: str | None = None
) -> Any:
    """Ask for resources of a type (all, or `names`); ACK the answer, or NACK it with `nack` as
    the error."""
    client.request(type_url, names)
    response = await client.receive()
    if nack is None:
        client.ack(response, names)
    else:
        client.request(type_url, names, nonce=response.nonce, error=nack)
    assert await client.nothing(0.2)  # the server has the ACK or NACK by then
    return response


async def acknowledge(client: AdsClient, names: Sequence[str] = ()) -> Any:
    """Wait for the next push and ACK it."""
    response = await client.receive()
    client.ack(response, names)
    assert await client.nothing(0.3)
    return response
