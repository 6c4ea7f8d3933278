"""A scripted ADS client (grpc.aio) for driving the xDS server the way Envoy does, by hand.

Meshway's xDS server wants a proxy credential (xds/credentials.py): pass `credential`, a token
or a function of the node (tests/xds_credentials.py makes one from a server's data directory);
the stream opens with the first request, so a test may still change `client.node` before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.rpc import status_pb2

from meshway.xds.credentials import HEADER
from meshway.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE

__all__ = ["CLUSTER", "ENDPOINT", "LISTENER", "ROUTE", "AdsClient"]


Credential = str | Callable[[base_pb2.Node], str] | None


class AdsClient:
    def __init__(
        self, target: str, node_id: str, *, delta: bool = False, credential: Credential = None
    ) -> None:
        self.channel = grpc.aio.insecure_channel(target)
        self.node = base_pb2.Node(id=node_id, cluster=node_id)
        self.delta = delta
        self.credential = credential
        self._out: asyncio.Queue[Any] = asyncio.Queue()
        self._first = True
        self.call: Any = None
        self._in: asyncio.Queue[Any] = asyncio.Queue()

    def _start(self) -> None:
        token = self.credential(self.node) if callable(self.credential) else self.credential
        metadata = () if token is None else ((HEADER, token),)
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(self.channel)
        method = stub.DeltaAggregatedResources if self.delta else stub.StreamAggregatedResources
        self.call = method(self._requests(), metadata=metadata)
        # NOTE: cancelling a pending grpc.aio read cancels the whole call, so one task reads.
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for response in self.call:
                self._in.put_nowait(response)
        except BaseException as error:
            self._in.put_nowait(error)
            raise

    async def _requests(self) -> AsyncIterator[Any]:
        while True:
            item = await self._out.get()
            if item is None:
                return
            yield item

    def _node(self, request: Any) -> None:
        if self._first:
            request.node.CopyFrom(self.node)
            self._first = False
            self._start()

    def request(
        self,
        type_url: str,
        names: Iterable[str] = (),
        *,
        version: str = "",
        nonce: str = "",
        error: str | None = None,
    ) -> None:
        """SotW: a DiscoveryRequest (an ACK when `nonce` is given, a NACK with `error`)."""
        request = discovery_pb2.DiscoveryRequest(
            type_url=type_url,
            resource_names=list(names),
            version_info=version,
            response_nonce=nonce,
        )
        if error is not None:
            request.error_detail.CopyFrom(status_pb2.Status(code=3, message=error))
        self._node(request)
        self._out.put_nowait(request)

    def delta_request(
        self,
        type_url: str,
        subscribe: Iterable[str] = (),
        *,
        unsubscribe: Iterable[str] = (),
        nonce: str = "",
        error: str | None = None,
        initial: dict[str, str] | None = None,
    ) -> None:
        request = discovery_pb2.DeltaDiscoveryRequest(
            type_url=type_url,
            resource_names_subscribe=list(subscribe),
            resource_names_unsubscribe=list(unsubscribe),
            response_nonce=nonce,
            initial_resource_versions=initial or {},
        )
        if error is not None:
            request.error_detail.CopyFrom(status_pb2.Status(code=3, message=error))
        self._node(request)
        self._out.put_nowait(request)

    async def receive(self, timeout: float = 5.0) -> Any:
        item = await asyncio.wait_for(self._in.get(), timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    async def nothing(self, wait: float = 0.3) -> bool:
        """True when no response arrives within `wait` seconds."""
        try:
            response = await self.receive(wait)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected response: {response.type_url} nonce {response.nonce}")

    def ack(self, response: Any, names: Iterable[str] = ()) -> None:
        if self.delta:
            self.delta_request(response.type_url, nonce=response.nonce)
        else:
            self.request(
                response.type_url, names, version=response.version_info, nonce=response.nonce
            )

    async def close(self) -> None:
        self._out.put_nowait(None)
        if self.call is not None:  # the stream opened (with the first request)
            self.call.cancel()
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.channel.close()
