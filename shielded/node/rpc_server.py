"""The node's JSON-RPC server: HTTP POST and WebSocket (with subscriptions) on one port.

HTTP: POST a JSON-RPC 2.0 request or batch to `/`.
WebSocket: connect to `/ws` and send the same requests; additionally
`{"method": "subscribe", "params": {"topic": "heads" | "finalized"}}` returns a subscription
id, after which the server pushes `{"jsonrpc": "2.0", "method": "subscription",
"params": {"subscription": id, "topic": ..., "result": ...}}` for every event, and
`unsubscribe` with `{"subscription": id}` stops it.

The server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from shielded.node.jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    Dispatcher,
    RpcError,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 4 * 1024 * 1024
SUBSCRIPTION_QUEUE = 256
"""Events buffered per subscriber; a subscriber that falls further behind is dropped."""


@dataclass(eq=False)  # identity semantics: each connection is its own subscriber
class Subscriber:
    """One WebSocket connection's subscriptions and its outgoing event queue."""

    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIPTION_QUEUE)
    )
    topics: dict[str, str] = field(default_factory=dict)  # subscription id -> topic


class SubscriptionHub:
    """Fans node events (new heads, finality) out to WebSocket subscribers."""

    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = frozenset(topics)
        self.subscribers: set[Subscriber] = set()
        self._ids = itertools.count(1)

    def subscribe(self, subscriber: Subscriber, topic: str) -> str:
        if topic not in self.topics:
            expected = sorted(self.topics)
            raise RpcError(INVALID_PARAMS, f"unknown topic {topic!r}; expected one of {expected}")
        subscription = f"0x{next(self._ids):x}"
        subscriber.topics[subscription] = topic
        self.subscribers.add(subscriber)
        return subscription

    def unsubscribe(self, subscriber: Subscriber, subscription: str) -> bool:
        return subscriber.topics.pop(subscription, None) is not None

    def publish(self, topic: str, result: Any) -> None:
        """Queue `result` for every subscription to `topic` (never blocks the node)."""
        for subscriber in list(self.subscribers):
            for subscription, subscribed_topic in subscriber.topics.items():
                if subscribed_topic != topic:
                    continue
                message = {
                    "jsonrpc": "2.0",
                    "method": "subscription",
                    "params": {"subscription": subscription, "topic": topic, "result": result},
                }
                try:
                    subscriber.queue.put_nowait(message)
                except asyncio.QueueFull:
                    log.warning("dropping a WebSocket subscriber that fell behind")
                    self.subscribers.discard(subscriber)


class RpcServer:
    """HTTP + WebSocket JSON-RPC server around a `Dispatcher`."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        hub: SubscriptionHub,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        self.dispatcher = dispatcher
        self.hub = hub
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post("/", self._http)
        app.router.add_get("/ws", self._websocket)
        return app

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _http(self, request: web.Request) -> web.Response:
        body = await request.read()
        answer = await self.dispatcher.handle(body)
        if answer is None:
            return web.Response(status=204)
        return web.Response(body=answer, content_type="application/json")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_REQUEST_BYTES)
        await socket.prepare(request)
        subscriber = Subscriber()
        pump = asyncio.create_task(self._pump(socket, subscriber))
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                answer = await self._ws_request(message.data, subscriber)
                if answer is not None:
                    await socket.send_str(answer)
        finally:
            pump.cancel()
            self.hub.subscribers.discard(subscriber)
        return socket

    async def _ws_request(self, raw: str, subscriber: Subscriber) -> str | None:
        """Handle subscribe/unsubscribe here (they need the connection); the rest goes to
        the dispatcher."""
        try:
            request = json.loads(raw)
        except ValueError:
            return _error(None, RpcError(PARSE_ERROR, "parse error: invalid JSON"))
        if isinstance(request, dict) and request.get("method") in ("subscribe", "unsubscribe"):
            request_id = request.get("id")
            params = request.get("params") or {}
            try:
                if not isinstance(params, dict):
                    raise RpcError(INVALID_REQUEST, "params must be an object")
                if request["method"] == "subscribe":
                    result: Any = self.hub.subscribe(subscriber, str(params.get("topic")))
                else:
                    result = self.hub.unsubscribe(subscriber, str(params.get("subscription")))
            except RpcError as error:
                return _error(request_id, error)
            return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result})
        answer = await self.dispatcher.handle(raw)
        return answer.decode() if answer is not None else None

    @staticmethod
    async def _pump(socket: web.WebSocketResponse, subscriber: Subscriber) -> None:
        while True:
            message = await subscriber.queue.get()
            await socket.send_str(json.dumps(message))


def _error(request_id: Any, error: RpcError) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})
