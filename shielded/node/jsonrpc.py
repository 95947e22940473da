"""JSON-RPC 2.0 dispatch: method registry, pydantic parameter validation, error mapping.

Transport-independent: the HTTP and WebSocket servers in `rpc_server.py` hand raw request
bytes to `Dispatcher.handle` and send back what it returns. Bad input of any kind (invalid
JSON, a malformed request object, an unknown method, parameters that fail validation, a
handler rejecting its input) becomes a JSON-RPC error response, never an exception.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Application errors (the -32000..-32099 server range).
REJECTED = -32000
"""The request was well formed but the node refused it (e.g. an invalid transaction)."""
NOT_FOUND = -32001
"""The requested block, anchor or object does not exist."""
UNAVAILABLE = -32002
"""The method exists but is not offered by this node (e.g. the faucet outside a devnet)."""

MAX_BATCH = 100


class RpcError(Exception):
    """An error to report to the caller as a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class Params(BaseModel):
    """Base for method parameter models: unknown fields are rejected, values are strict."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """Parameters of a method that takes none."""


Handler = Callable[[Any], Awaitable[Any] | Any]


@dataclass(frozen=True)
class Method:
    """A registered RPC method: its parameter model, handler and one-line description."""

    name: str
    params: type[Params]
    handler: Handler
    description: str


class Dispatcher:
    """Routes JSON-RPC 2.0 requests to registered methods."""

    def __init__(self) -> None:
        self.methods: dict[str, Method] = {}

    def method(
        self, name: str, params: type[Params] = NoParams
    ) -> Callable[[Handler], Handler]:
        """Decorator registering `handler(params)` as method `name`."""

        def register(handler: Handler) -> Handler:
            if name in self.methods:
                raise ValueError(f"RPC method {name!r} registered twice")
            description = (inspect.getdoc(handler) or "").split("\n")[0]
            self.methods[name] = Method(name, params, handler, description)
            return handler

        return register

    async def handle(self, raw: bytes | str) -> bytes | None:
        """Answer one request or batch; None when there is nothing to send (notifications)."""
        try:
            request = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _dump(_error_response(None, RpcError(PARSE_ERROR, "parse error: invalid JSON")))
        if isinstance(request, list):
            if not request:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST, "empty batch")))
            if len(request) > MAX_BATCH:
                error = RpcError(INVALID_REQUEST, f"batch larger than {MAX_BATCH} requests")
                return _dump(_error_response(None, error))
            responses = [r for r in [await self.handle_object(item) for item in request] if r]
            return _dump(responses) if responses else None
        response = await self.handle_object(request)
        return _dump(response) if response is not None else None

    async def handle_object(self, request: Any) -> dict[str, Any] | None:
        """Answer one decoded request object."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error_response(None, RpcError(INVALID_REQUEST, "not a JSON-RPC 2.0 request"))
        request_id = request.get("id")
        is_notification = "id" not in request
        if request_id is not None and not isinstance(request_id, str | int):
            return _error_response(None, RpcError(INVALID_REQUEST, "id must be a string or int"))
        try:
            result = await self.call(request.get("method"), request.get("params"))
        except RpcError as error:
            return None if is_notification else _error_response(request_id, error)
        except Exception:  # a handler bug must not take the server down
            log.exception("RPC method %r failed", request.get("method"))
            error = RpcError(INTERNAL_ERROR, "internal error")
            return None if is_notification else _error_response(request_id, error)
        if is_notification:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    async def call(self, name: Any, raw_params: Any) -> Any:
        """Validate `raw_params` against the method's model and run its handler."""
        if not isinstance(name, str):
            raise RpcError(INVALID_REQUEST, "method must be a string")
        method = self.methods.get(name)
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, f"method not found: {name}")
        if raw_params is None:
            raw_params = {}
        if isinstance(raw_params, list):
            fields = list(method.params.model_fields)
            if len(raw_params) > len(fields):
                raise RpcError(INVALID_PARAMS, f"{name} takes at most {len(fields)} parameters")
            raw_params = dict(zip(fields, raw_params, strict=False))
        if not isinstance(raw_params, dict):
            raise RpcError(INVALID_PARAMS, "params must be an object or an array")
        try:
            params = method.params.model_validate(raw_params)
        except ValidationError as error:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                for e in error.errors(include_url=False, include_input=False)
            ]
            raise RpcError(INVALID_PARAMS, f"invalid params for {name}", problems) from None
        result = method.handler(params)
        if inspect.isawaitable(result):
            result = await result
        return result


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
