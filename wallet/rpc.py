"""A JSON-RPC 2.0 client of the node (HTTP), used by the wallet library, CLI and TUI.

Errors the node reports come back as `NodeError` with the JSON-RPC code; an unreachable
node is `NodeUnavailable`. Calls are synchronous; the TUI runs them in worker threads.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:30334/"


class NodeError(Exception):
    """The node answered with a JSON-RPC error (for example a rejected transaction)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class NodeUnavailable(NodeError):
    """The node could not be reached."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(-1, f"node at {url} is unreachable: {reason}")


class NodeClient:
    """Calls one node's JSON-RPC methods."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 10.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or {}}
        ).encode()
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise NodeUnavailable(self.url, str(getattr(error, "reason", error))) from None
        except ValueError:
            raise NodeError(-32700, "node sent a malformed response") from None
        if "error" in answer:
            error = answer["error"]
            raise NodeError(int(error.get("code", 0)), str(error.get("message")), error.get("data"))
        return answer["result"]

    # Convenience wrappers with the wallet's vocabulary.

    def status(self) -> dict[str, Any]:
        return self.call("system_status")

    def compact_blocks(self, from_height: int, count: int = 100) -> list[dict[str, Any]]:
        return self.call("pool_getCompactBlocks", {"from_height": from_height, "count": count})

    def canonical_hash(self, height: int) -> bytes | None:
        try:
            header = self.call("chain_getHeader", {"height": height})
        except NodeError as error:
            if error.code == -32001:
                return None
            raise
        return bytes.fromhex(header["hash"][2:])

    def anchor(self) -> dict[str, Any]:
        return self.call("pool_getAnchor")

    def witness(self, position: int, permanent: bool) -> dict[str, Any]:
        return self.call("pool_getWitness", {"position": position, "permanent": permanent})

    def quote(
        self,
        kind: str,
        amount: int = 0,
        tiers: list[str] | None = None,
        spam_proof: bool = False,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"kind": kind, "amount": amount, "spam_proof": spam_proof}
        if tiers is not None:
            params["output_tiers"] = tiers
        return self.call("pool_quoteFee", params)

    def submit(self, transaction: bytes) -> str:
        return str(self.call("pool_submitTransaction", {"transaction": transaction.hex()})["tx_id"])

    def transaction_status(self, tx_id: str) -> dict[str, Any]:
        return self.call("pool_getTransactionStatus", {"tx_id": tx_id})

    def balance(self, account: bytes) -> int:
        return int(self.call("pool_getBalance", {"account": account.hex()})["balance"])

    def faucet(self, address: str, amount: int) -> str:
        result = self.call("faucet_request", {"address": address, "amount": amount}, timeout=120)
        return str(result["tx_id"])
