"""JSON-RPC 2.0: dispatch, parameter validation, errors, HTTP and WebSocket subscriptions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from pydantic import Field

from shielded.node.jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    REJECTED,
    Dispatcher,
    Params,
    RpcError,
)
from shielded.node.rpc_server import RpcServer, SubscriptionHub


class AddParams(Params):
    a: int = Field(ge=0)
    b: int = Field(ge=0)


def make_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.method("math_add", AddParams)
    def add(params: AddParams) -> int:
        """Add two naturals."""
        return params.a + params.b

    @dispatcher.method("pool_reject")
    async def reject(_params: Params) -> None:
        raise RpcError(REJECTED, "transaction rejected: nullifier already spent")

    @dispatcher.method("broken")
    def broken(_params: Params) -> None:
        raise KeyError("a handler bug")

    return dispatcher


def call(raw: Any) -> Any:
    payload = raw if isinstance(raw, str | bytes) else json.dumps(raw)
    answer = asyncio.run(make_dispatcher().handle(payload))
    return None if answer is None else json.loads(answer)


def test_call_with_named_and_positional_params() -> None:
    named = call({"jsonrpc": "2.0", "id": 1, "method": "math_add", "params": {"a": 2, "b": 3}})
    assert named == {"jsonrpc": "2.0", "id": 1, "result": 5}
    positional = call({"jsonrpc": "2.0", "id": "x", "method": "math_add", "params": [4, 5]})
    assert positional["result"] == 9


def _add(params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "math_add", "params": params}


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ("{not json", PARSE_ERROR),
        ({"id": 1, "method": "math_add"}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": 7}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": "nope"}, METHOD_NOT_FOUND),
        (_add({"a": -1, "b": 0}), INVALID_PARAMS),
        (_add({"a": 1}), INVALID_PARAMS),
        (_add({"a": 1, "b": 1, "c": 1}), INVALID_PARAMS),
        (_add([1, 2, 3]), INVALID_PARAMS),
        (_add("ab"), INVALID_PARAMS),
        ({"jsonrpc": "2.0", "id": 1, "method": "pool_reject"}, REJECTED),
        ([], INVALID_REQUEST),
    ],
)
def test_invalid_requests_get_error_responses(request_body: Any, code: int) -> None:
    answer = call(request_body)
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]


def test_invalid_params_name_the_field() -> None:
    answer = call({"jsonrpc": "2.0", "id": 1, "method": "math_add", "params": {"a": "x", "b": 1}})
    assert answer["error"]["data"][0]["field"] == "a"


def test_handler_bug_is_an_internal_error_not_a_crash() -> None:
    answer = call({"jsonrpc": "2.0", "id": 3, "method": "broken"})
    assert answer["error"] == {"code": -32603, "message": "internal error"}


def test_notifications_get_no_answer_and_batches_answer_each_call() -> None:
    assert call({"jsonrpc": "2.0", "method": "math_add", "params": [1, 1]}) is None
    batch = call(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "math_add", "params": [1, 1]},
            {"jsonrpc": "2.0", "method": "math_add", "params": [1, 1]},
            {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        ]
    )
    assert [r.get("result") for r in batch] == [2, None]
    assert batch[1]["error"]["code"] == METHOD_NOT_FOUND


async def _serve_and_use() -> dict[str, Any]:
    hub = SubscriptionHub(["heads", "finalized"])
    server = RpcServer(make_dispatcher(), hub)
    port = await server.start()
    seen: dict[str, Any] = {"host": server.host}
    try:
        async with aiohttp.ClientSession() as session:
            body = {"jsonrpc": "2.0", "id": 1, "method": "math_add", "params": [20, 22]}
            async with session.post(f"http://127.0.0.1:{port}/", json=body) as response:
                seen["http"] = await response.json()
            async with session.post(f"http://127.0.0.1:{port}/", data=b"\xff\xfe") as response:
                seen["http_garbage"] = await response.json()
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as socket:
                await socket.send_json(
                    {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"topic": "heads"}}
                )
                subscription = (await socket.receive_json())["result"]
                await socket.send_json(
                    {"jsonrpc": "2.0", "id": 2, "method": "subscribe", "params": {"topic": "x"}}
                )
                seen["bad_topic"] = await socket.receive_json()
                hub.publish("finalized", {"slot": 1})  # not subscribed: must not arrive
                hub.publish("heads", {"slot": 2})
                seen["event"] = await asyncio.wait_for(socket.receive_json(), 5)
                seen["subscription"] = subscription
                await socket.send_json(
                    {"jsonrpc": "2.0", "id": 3, "method": "math_add", "params": [1, 2]}
                )
                seen["ws_call"] = await socket.receive_json()
    finally:
        await server.stop()
    return seen


def test_http_and_websocket_end_to_end() -> None:
    seen = asyncio.run(_serve_and_use())
    assert seen["host"] == "127.0.0.1"
    assert seen["http"]["result"] == 42
    assert seen["http_garbage"]["error"]["code"] == PARSE_ERROR
    assert seen["bad_topic"]["error"]["code"] == INVALID_PARAMS
    assert seen["event"]["params"] == {
        "subscription": seen["subscription"],
        "topic": "heads",
        "result": {"slot": 2},
    }
    assert seen["ws_call"]["result"] == 3
