"""Shared wallet test support: a JSON-RPC node built from the devnet's own `RpcServer` and
`Dispatcher`, serving methods a test defines (a chain it switches, transaction statuses)."""

from __future__ import annotations

import asyncio
import threading

from shielded.node.jsonrpc import Dispatcher
from shielded.node.rpc_server import RpcServer, SubscriptionHub


class ServedDispatcher:
    """Serves `dispatcher` over HTTP on a free 127.0.0.1 port from a background event loop
    until `close()`; `url` is what a `NodeClient` connects to."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = RpcServer(dispatcher, SubscriptionHub([]), port=0)
        port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{port}/"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
