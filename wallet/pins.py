"""The chain a wallet is pinned to: the genesis chain id and the spend circuit's verifying-key hash.

Design section 3 ("Trusted setup": the genesis pins the verifying-key hash and wallets pin the
same hash themselves; transaction ids are bound to the genesis chain id). A wallet takes both
values once, when it is created, from the devnet's `genesis.json` or from its user, keeps them
in its wallet file (`wallet.keystore`, format version 2), and then refuses a node whose
`system_status` names another chain or another key: it never takes them from the node it is
talking to. The chain id goes into every transaction it builds (`Transaction.chain_id`), and
the proving key it loads must hash to the pinned value.

A wallet created without pins, or a wallet file of format version 1, is pinned on its first
contact with a node (trust on first use), and the wallet says so (`Wallet.notices`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shielded.node.genesis import GenesisConfig
from shielded.transaction import CHAIN_ID_BYTES

HASH_HEX = 64


class PinError(Exception):
    """A pin that is malformed, or a node that disagrees with the wallet's pins."""


def _hex32(value: object, what: str) -> str:
    """`value` as 64 lowercase hex digits (an optional 0x prefix dropped); PinError if not."""
    text = value.removeprefix("0x").lower() if isinstance(value, str) else ""
    if len(text) != HASH_HEX or not set(text) <= set(string.hexdigits.lower()):
        raise PinError(f"{what} must be {HASH_HEX} hex digits (32 bytes), got {value!r}")
    return text


@dataclass(frozen=True)
class ChainPins:
    """The genesis chain id (32 octets) and the verifying-key hash (hex blake2b-256)."""

    chain_id: bytes
    vk_hash: str

    def __post_init__(self) -> None:
        if not isinstance(self.chain_id, bytes) or len(self.chain_id) != CHAIN_ID_BYTES:
            raise PinError(f"a chain id is {CHAIN_ID_BYTES} bytes")
        _hex32(self.vk_hash, "vk_hash")

    @classmethod
    def parse(cls, chain_id: object, vk_hash: object) -> ChainPins:
        """Pins from hex text (a user's flags, a wallet file, a node's status)."""
        return cls(bytes.fromhex(_hex32(chain_id, "chain_id")), _hex32(vk_hash, "vk_hash"))

    @classmethod
    def of_genesis(cls, config: GenesisConfig) -> ChainPins:
        """The pins of a devnet's genesis."""
        return cls.parse(config.chain_id, config.vk_hash)

    def to_json(self) -> dict[str, str]:
        return {"chain_id": "0x" + self.chain_id.hex(), "vk_hash": self.vk_hash}

    @classmethod
    def from_json(cls, document: Any) -> ChainPins:
        if not isinstance(document, dict):
            raise PinError("chain pins must be an object with chain_id and vk_hash")
        return cls.parse(document.get("chain_id"), document.get("vk_hash"))


def pins_from_genesis(path: Path | str) -> ChainPins:
    """The pins of the devnet whose `genesis.json` is `path` (or the devnet directory
    holding it); PinError naming the file if it is missing, truncated or not a genesis."""
    path = Path(path)
    if path.is_dir():
        path = path / "genesis.json"
    try:
        config = GenesisConfig.model_validate_json(path.read_bytes())
    except OSError as error:
        raise PinError(f"cannot read the genesis file {path}: {error.strerror}") from error
    except ValueError as error:
        raise PinError(f"{path} is not a valid genesis file: {error}") from error
    try:
        return ChainPins.of_genesis(config)
    except PinError as error:
        raise PinError(f"{path}: {error}") from error


def check_status(pins: ChainPins, status: dict[str, Any], node: str) -> None:
    """Verify the node at `node` is on the pinned chain with the pinned verifying key;
    PinError saying which differs."""
    try:
        seen = ChainPins.parse(status.get("chain_id"), status.get("vk_hash"))
    except PinError as error:
        raise PinError(f"the node at {node} reports no usable chain pins: {error}") from error
    if seen.chain_id != pins.chain_id:
        raise PinError(
            f"the node at {node} is on chain 0x{seen.chain_id.hex()}, this wallet is pinned "
            f"to chain 0x{pins.chain_id.hex()}: refusing it"
        )
    if seen.vk_hash != pins.vk_hash:
        raise PinError(
            f"the node at {node} uses verifying key {seen.vk_hash}, this wallet is pinned to "
            f"{pins.vk_hash}: refusing it"
        )
